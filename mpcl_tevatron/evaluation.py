"""Scoring runs with ranx: Tevatron's search output and TREC runs in, metrics out."""

from __future__ import annotations

import logging
import math
import os
from collections import defaultdict
from typing import Dict, Iterator, List, Mapping, Sequence, Tuple

from .cli import command, one_line_errors
from .io import InputError, atomic_open, text_lines

DEFAULT_METRICS = ("mrr@10", "ndcg@10", "recall@100", "map@20")

logger = logging.getLogger(__name__)


def _fields(path: str) -> Iterator[Tuple[int, List[str]]]:
    """(line number, whitespace-split fields) of each non-blank line; bytes that are not UTF-8 are an
    ``InputError`` naming the line."""
    for lineno, line in text_lines(path):
        parts = line.split()
        if parts:
            yield lineno, parts


def read_run(path: str, name: str = None):
    """A ranx ``Run`` from Tevatron's text ranking (``qid<TAB>docid<TAB>score``, what
    ``tevatron.faiss_retriever --save_text`` writes) or a 6-column TREC run; the format is told per line."""
    from ranx import Run

    run: Dict[str, Dict[str, float]] = defaultdict(dict)
    for lineno, parts in _fields(path):
        if len(parts) == 3:
            qid, docid, score = parts
        elif len(parts) == 6:
            qid, _, docid, _, score, _ = parts
        else:
            raise InputError(f"{path}:{lineno}: expected 'qid docid score' or a 6-column TREC line")
        try:
            value = float(score)
        except ValueError:
            raise InputError(f"{path}:{lineno}: score {score!r} is not a number") from None
        if not math.isfinite(value):  # ranx would rank it somewhere, silently
            raise InputError(f"{path}:{lineno}: score {score!r} is not a finite number")
        if docid in run[qid]:  # the last line would win, silently
            raise InputError(f"{path}:{lineno}: {docid} is ranked twice for query {qid}")
        run[qid][docid] = value
    if not run:
        raise InputError(f"{path}: the run holds no query")
    return Run(dict(run), name=name or os.path.basename(path))


def write_qrels(path: str, qrels: Mapping[str, Mapping[str, int]]) -> None:
    """TREC qrels (``qid 0 docid rel``), written atomically."""
    with atomic_open(path) as f:
        for qid, docs in qrels.items():
            for docid, rel in docs.items():
                f.write(f"{qid} 0 {docid} {rel}\n")


def read_qrels(path: str):
    """A ranx ``Qrels`` from a TREC qrels file."""
    from ranx import Qrels

    qrels: Dict[str, Dict[str, int]] = defaultdict(dict)
    for lineno, parts in _fields(path):
        if len(parts) != 4 or not parts[3].lstrip("-").isdigit():
            raise InputError(f"{path}:{lineno}: expected 'qid 0 docid relevance'")
        qrels[parts[0]][parts[2]] = int(parts[3])
    if not qrels:
        raise InputError(f"{path}: the qrels hold no judged query")
    return Qrels(dict(qrels))


def evaluate(qrels, run, metrics: Sequence[str] = DEFAULT_METRICS) -> Dict[str, float]:
    """ranx.evaluate over the queries of ``qrels``; a query the run lacks scores 0 (never silently
    dropped: ranx averages over the qrels' queries). Run queries that no qrels query matches are counted in a
    warning (``Q1`` is not ``q1``); when none matches, or either side is empty, it is an ``InputError``
    instead of a table of zeros."""
    from ranx import evaluate as ranx_evaluate

    check_metrics(metrics)
    judged, ranked = set(qrels.keys()), set(run.keys())
    name = getattr(run, "name", None) or "run"
    if not judged:
        raise InputError("the qrels hold no judged query")
    if not ranked:
        raise InputError(f"{name}: the run holds no query")
    matched = judged & ranked
    if not matched:
        raise InputError(f"{name}: none of its {len(ranked)} query ids is in the qrels (e.g. run "
                         f"{sorted(ranked)[0]!r}, qrels {sorted(judged)[0]!r})")
    if len(matched) < len(ranked) or len(matched) < len(judged):
        logger.warning("%s: %d of %d run queries are in the qrels; %d judged queries have no ranking and score 0",
                       name, len(matched), len(ranked), len(judged) - len(matched))
    scores = ranx_evaluate(qrels, run, list(metrics), make_comparable=True)
    if isinstance(scores, float):
        scores = {metrics[0]: scores}
    return {m: float(v) for m, v in scores.items()}


def check_metrics(metrics: Sequence[str]) -> None:
    """An ``InputError`` naming the first metric ranx does not know, with the ones it does."""
    from ranx.meta.evaluate import extract_metric_and_params, metric_switch

    if not metrics:
        raise InputError("no metric given (e.g. mrr@10,ndcg@10)")
    for metric in metrics:
        try:
            metric_switch(extract_metric_and_params(metric)[0])
        except (ValueError, IndexError) as e:
            raise InputError(f"metric {metric!r}: {e}") from None


@command
def main(argv=None) -> int:
    """``python -m mpcl_tevatron.evaluation --qrels QRELS RUN [RUN ...]``: one row of metrics per run."""
    import argparse

    p = one_line_errors(argparse.ArgumentParser(
        prog="python -m mpcl_tevatron.evaluation",
        description="Score Tevatron rankings (qid docid score) or TREC runs with ranx."))
    p.add_argument("--qrels", required=True, help="TREC qrels file")
    p.add_argument("--metrics", default=",".join(DEFAULT_METRICS),
                   help="comma-separated ranx metric names (default %(default)s)")
    p.add_argument("runs", nargs="+", help="run files")
    args = p.parse_args(argv)
    args.metrics = [m for m in args.metrics.split(",") if m]
    logging.basicConfig(format="warning: %(message)s", level=logging.WARNING)
    check_metrics(args.metrics)
    qrels = read_qrels(args.qrels)
    rows = [(path, evaluate(qrels, read_run(path), args.metrics)) for path in args.runs]
    width = max(len(r) for r, _ in rows)
    print(f"{'run':<{width}}  " + "  ".join(f"{m:>10}" for m in args.metrics))
    for path, scores in rows:
        print(f"{path:<{width}}  " + "  ".join(f"{scores[m]:>10.4f}" for m in args.metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
