"""Score Tevatron run files (qid docid score) with ranx and print ranx's comparison table.
Run: python examples/score_run.py QRELS RUN_A RUN_B"""

import sys

from ranx import compare

from mpcl_tevatron.evaluation import read_qrels, read_run

qrels_path, *run_paths = sys.argv[1:]
qrels = read_qrels(qrels_path)
runs = [read_run(p) for p in run_paths]
print(compare(qrels, runs=runs, metrics=["mrr@10", "ndcg@10", "recall@100"], stat_test="student"))
