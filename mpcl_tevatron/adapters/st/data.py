from __future__ import annotations

from typing import Iterable, List

from ...io import InputError, read_train_jsonl


def columns_from_tevatron(paths: Iterable[str], positives: int = 1, negatives: int = 1):
    """Tevatron train JSONL (``query``, ``positive_passages``, ``negative_passages``) as a ``datasets.Dataset``
    with the columns sentence-transformers losses read: ``anchor``, ``positive`` (and ``positive_2`` ..
    ``positive_P``), ``negative_1`` .. ``negative_m``.

    A query with fewer than P positives repeats them in turn (``TypoRobustLoss`` and
    ``MultiplePositivesRankingLoss`` mask the repeats); one with fewer than m negatives repeats those. Passage
    text is ``title + " " + text`` when a title is given. Errors name the file and line (``io.InputError``).
    """
    from datasets import Dataset

    if positives < 1 or negatives < 0:
        raise ValueError(f"need positives >= 1 and negatives >= 0, got {positives}, {negatives}")
    groups, _ = read_train_jsonl(list(paths))
    names = ["positive"] + [f"positive_{j}" for j in range(2, positives + 1)]
    columns = {"anchor": []}
    columns.update({n: [] for n in names})
    columns.update({f"negative_{j}": [] for j in range(1, negatives + 1)})
    for g in groups:
        if negatives and not g["negatives"]:
            raise InputError(f"query {g['query']!r} has no negative passage, and {negatives} negative column(s) "
                             "were asked for")
        columns["anchor"].append(g["query"])
        for j, name in enumerate(names):
            columns[name].append(_cycled(g["positives"], j))
        for j in range(negatives):
            columns[f"negative_{j + 1}"].append(_cycled(g["negatives"], j))
    return Dataset.from_dict(columns)


def _cycled(items: List[str], j: int) -> str:
    return items[j % len(items)]
