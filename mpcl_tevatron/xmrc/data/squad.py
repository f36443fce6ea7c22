"""SQuAD-format file -> queries, sentence candidates, qrels; and the English training groups."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ...io import InputError


@dataclass
class Candidate:
    docid: str
    text: str
    article: int
    paragraph: int
    sentence: int
    context: str = ""


@dataclass
class MRCSet:
    """One language's retrieval set. ``problems`` lists (question id, reason) for every question left out."""

    lang: str
    queries: List[Tuple[str, str]] = field(default_factory=list)  # (qid, question)
    candidates: List[Candidate] = field(default_factory=list)
    qrels: Dict[str, Dict[str, int]] = field(default_factory=dict)  # qid -> {docid: 1}
    query_article: Dict[str, int] = field(default_factory=dict)
    # qid -> every sentence an answer span touches (several when answers fall in different sentences or one
    # crosses a sentence break), the qrels' sentence first
    answer_sentences: Dict[str, List[str]] = field(default_factory=dict)
    problems: List[Tuple[str, str]] = field(default_factory=list)

    def subset(self, articles) -> "MRCSet":
        """The questions and candidates of the given article indices only."""
        keep = set(articles)
        out = MRCSet(self.lang, problems=list(self.problems))
        out.candidates = [c for c in self.candidates if c.article in keep]
        out.queries = [(q, t) for q, t in self.queries if self.query_article[q] in keep]
        out.qrels = {q: self.qrels[q] for q, _ in out.queries}
        out.query_article = {q: self.query_article[q] for q, _ in out.queries}
        out.answer_sentences = {q: self.answer_sentences[q] for q, _ in out.queries if q in self.answer_sentences}
        return out


def load_squad(path: str, lang: str, segmenter=None, ignore_breaks: bool = False) -> MRCSet:
    """Read a SQuAD v1.1-format file. Sentences come from LAReQA's ``sentences``/``sentence_breaks`` when
    the paragraph has them (unless ``ignore_breaks``), else from ``segmenter(context) -> [(start, end)]``
    (required then; ``xmrc.segmenter.segment`` is the plugin's)."""
    data = read_squad_articles(path)
    out = MRCSet(lang)
    for a, article in enumerate(data):
        for p, para in enumerate(article["paragraphs"]):
            context = para.get("context", "")
            if "sentence_breaks" in para and not ignore_breaks:
                spans = [tuple(s) for s in para["sentence_breaks"]]
            elif segmenter is not None:
                spans = segmenter(context)
            else:
                raise InputError(f"{path}: paragraph {a}/{p} has no sentence_breaks and no segmenter was given")
            ids = []
            for s, (start, end) in enumerate(spans):
                docid = f"{lang}-{a}-{p}-{s}"
                ids.append(docid)
                out.candidates.append(Candidate(docid, context[start:end].strip(), a, p, s, context))
            for qa in para.get("qas", []):
                qid, question = qa.get("id"), (qa.get("question") or "").strip()
                if qid in out.query_article:
                    # a second question under one id would be judged against the first one's answer
                    out.problems.append((str(qid), "duplicate question id (the first one is kept)"))
                    continue
                if not question:
                    out.problems.append((str(qid), "empty question"))
                    continue
                if not qa.get("answers"):
                    out.problems.append((qid, "no answer"))
                    continue
                answer = _answer_sentence(qa, spans, f"{path}: question {qid}")
                if answer is None:
                    out.problems.append((qid, "answer falls in no sentence"))
                    continue
                out.queries.append((qid, question))
                out.qrels[qid] = {ids[answer]: 1}
                out.query_article[qid] = a
                touched = _touched_sentences(qa, spans, f"{path}: question {qid}")
                out.answer_sentences[qid] = [ids[answer]] + [ids[s] for s in touched if s != answer]
    return out


def read_squad_articles(path: str) -> list:
    """The ``data`` list of a SQuAD-format file, each article with a ``paragraphs`` list; any other shape, bytes
    that are not UTF-8, or no article at all is one ``InputError`` naming the file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)["data"]
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text (byte {e.start}: {e.reason})") from None
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise InputError(f"{path}: not a SQuAD-format JSON file ({type(e).__name__}: {e})") from None
    if not isinstance(data, list) or not data:
        raise InputError(f"{path}: 'data' holds no article")
    for a, article in enumerate(data):
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise InputError(f"{path}: article {a} has no 'paragraphs' list")
    return data


def _answer_start(answer: dict, where: str) -> int:
    """An answer's ``answer_start``; missing or not an integer is an error, not an answer "in no sentence"."""
    start = answer.get("answer_start")
    if isinstance(start, bool) or not isinstance(start, int):
        raise InputError(f"{where}: answer_start {start!r} is not an integer")
    return start


def _answer_sentence(qa: dict, spans, where: str) -> Optional[int]:
    start = _answer_start(qa["answers"][0], where)
    for s, (b, e) in enumerate(spans):
        if b <= start < e:
            return s
    return None


def _touched_sentences(qa: dict, spans, where: str) -> List[int]:
    """Every sentence (in order) that overlaps the span of one of the question's answers."""
    touched = set()
    for answer in qa["answers"]:
        start = _answer_start(answer, where)
        end = start + max(len(answer.get("text") or ""), 1)
        touched.update(s for s, (b, e) in enumerate(spans) if b < end and start < e)
    return sorted(touched)


def split_articles(n_articles: int, dev_share: int = 6) -> Tuple[List[int], List[int], List[int]]:
    """The fixed train/dev/test split, in file order: the first half of the articles trains, except its last
    ``1/dev_share`` (at least one article), the development split that hyperparameters are chosen on; the
    second half is the test split, never read to choose anything. XQuAD-R: articles 0-19 train (English
    only), 20-23 dev, 24-47 test (all languages)."""
    half = n_articles // 2
    n_dev = max(1, half // dev_share) if half > 1 else 0
    return list(range(half - n_dev)), list(range(half - n_dev, half)), list(range(half, n_articles))


def build_train_groups(mrc: MRCSet, max_negatives: int = 15, all_answer_sentences: bool = False) -> List[dict]:
    """Tevatron train JSONL records: each question, its answer sentence as positive, and hard negatives:
    the paragraph's other sentences first, then the article's, in order, up to ``max_negatives``.

    ``all_answer_sentences``: every sentence an answer touches is a positive (``MRCSet.answer_sentences``:
    answers in different sentences, or one across a sentence break), for ``--positives_per_query``. Off for
    XQuAD-R's own training half, whose groups stay as the published runs trained on them (one of its 536
    English training questions touches two sentences)."""
    by_id = {c.docid: c for c in mrc.candidates}
    records = []
    for qid, question in mrc.queries:
        pos = by_id[next(iter(mrc.qrels[qid]))]
        positives = [by_id[d] for d in mrc.answer_sentences.get(qid, [pos.docid])] if all_answer_sentences \
            else [pos]
        ids = {c.docid for c in positives}
        same_para = [c for c in mrc.candidates
                     if c.article == pos.article and c.paragraph == pos.paragraph and c.docid not in ids]
        same_article = [c for c in mrc.candidates if c.article == pos.article and c.paragraph != pos.paragraph]
        negs = (same_para + same_article)[:max_negatives]
        records.append({
            "query_id": qid, "query": question,
            "positive_passages": [{"docid": c.docid, "title": "", "text": c.text} for c in positives],
            "negative_passages": [{"docid": c.docid, "title": "", "text": c.text} for c in negs],
        })
    return records
