"""The XMRC retrieval tasks (LAReQA, Roy et al. 2020): which queries search which candidates, scored by which
qrels. XQuAD-R's question ids are parallel across languages, so one qrels file per candidate language serves
every query language."""

from __future__ import annotations

import os
from typing import List, NamedTuple, Sequence, Tuple

POOL = "pool"


class Task(NamedTuple):
    """Queries of language ``query`` against the candidates of ``target`` (a language, or ``pool``: every
    language's candidates, ``searched``), scored with the qrels file ``qrels``."""

    query: str
    target: str
    searched: Tuple[str, ...]
    qrels: str

    @property
    def name(self) -> str:
        """``"de->en"``: the task's name in run files, report.json and the tables."""
        return f"{self.query}->{self.target}"

    @property
    def monolingual(self) -> bool:
        """X->X."""
        return self.query == self.target

    @property
    def kind(self) -> str:
        """``X->X``, ``X->pool`` or ``X->Y`` (the report's families of tables)."""
        return "X->X" if self.monolingual else "X->pool" if self.target == POOL else "X->Y"


def xmrc_tasks(data_dir: str, langs: Sequence[str], pivot: str) -> List[Task]:
    """X->X for every language; X->pivot and pivot->X for every other language; X->pool for every language."""
    def qrels(target):
        return os.path.join(data_dir, target, "qrels.txt")

    out = [Task(x, x, (x,), qrels(x)) for x in langs]
    for x in langs:
        if x != pivot:
            out += [Task(x, pivot, (pivot,), qrels(pivot)), Task(pivot, x, (x,), qrels(x))]
    return out + [Task(x, POOL, tuple(langs), qrels(POOL)) for x in langs]
