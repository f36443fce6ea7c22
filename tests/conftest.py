"""Shared fixtures: a tiny random BERT with a WordPiece tokenizer, built in-process (no hub, no download),
and a synthetic retrieval task it can be trained and scored on."""

from __future__ import annotations

import json
import os
import random
import string
import sys
import threading

import pytest
import tqdm.std

# tqdm's default write lock holds a multiprocessing lock that every process forked from this one shares: under
# mutmut, which forks a worker per mutant from the process that ran the tests first, a worker killed inside it
# (a timeout) leaves it taken and every later worker that opens a progress bar waits for ever. A lock of this
# process's own, and no monitor thread, keep forked workers independent.
tqdm.std.tqdm.set_lock(threading.RLock())
tqdm.std.tqdm.monitor_interval = 0

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# $XQUAD_R points elsewhere (as for the recipe): e.g. under mutmut, which runs the tests from a copy in mutants/
SHARED = os.environ.get("XQUAD_R") or os.path.join(os.path.dirname(ROOT), "shared", "data", "xquad-r")
#: Tests on XQuAD-R skip where ../shared is absent on a developer's machine, but never in CI (CI is set):
#: there a missing data folder must fail loudly instead of passing by skipping.
MLQA_R = os.environ.get("MLQA_R") or os.path.join(os.path.dirname(ROOT), "shared", "data", "mlqa-r")
needs_mlqa = pytest.mark.skipif(not os.path.isdir(MLQA_R) and not os.environ.get("CI"),
                                reason=f"MLQA-R not found at {MLQA_R} (in CI this fails instead)")
needs_xquad = pytest.mark.skipif(not os.path.isdir(SHARED) and not os.environ.get("CI"),
                                 reason=f"XQuAD-R not found at {SHARED} (in CI this fails instead)")

WORDS = ["where", "is", "the", "found", "located", "in", "which", "city", "what", "near", "river", "of", "a",
         "and", "built", "by", "famous", "old", "north", "south"]


def _entities(n, seed=0):
    rng = random.Random(seed)
    out = set()
    while len(out) < n:
        out.add("".join(rng.choice(string.ascii_lowercase) for _ in range(6)))
    return sorted(out)


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory):
    """A folder with train/train.jsonl, corpus.jsonl, queries.jsonl, qrels.txt: 48 entities, each one query
    and one answer passage sharing the entity's name."""
    d = tmp_path_factory.mktemp("synthetic")
    ents = _entities(48)
    places = _entities(48, seed=1)
    passages = [f"{e} is found near the river of {p}" for e, p in zip(ents, places)]
    queries = [f"where is the {e} found" for e in ents]
    os.makedirs(d / "train")
    with open(d / "train" / "train.jsonl", "w") as f:
        for i, (q, p) in enumerate(zip(queries, passages)):
            negs = [passages[(i + j) % len(passages)] for j in (1, 2, 3)]
            f.write(json.dumps({"query_id": f"q{i}", "query": q,
                                "positive_passages": [{"docid": f"d{i}", "text": p}],
                                "negative_passages": [{"docid": "x", "text": n} for n in negs]}) + "\n")
    with open(d / "corpus.jsonl", "w") as f:
        for i, p in enumerate(passages):
            f.write(json.dumps({"text_id": f"d{i}", "text": p}) + "\n")
    with open(d / "queries.jsonl", "w") as f:
        for i, q in enumerate(queries):
            f.write(json.dumps({"text_id": f"q{i}", "text": q}) + "\n")
    with open(d / "qrels.txt", "w") as f:
        for i in range(len(queries)):
            f.write(f"q{i} 0 d{i} 1\n")
    return d


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A randomly initialised 2-layer, 32-wide BERT and a WordPiece tokenizer saved as an HF model folder."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    d = tmp_path_factory.mktemp("tiny_bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list(string.ascii_lowercase) + \
        ["##" + c for c in string.ascii_lowercase] + WORDS
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    tok.save_pretrained(str(d))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)  # deterministic training forward
    BertModel(config).save_pretrained(str(d))
    return d


def records_tables():
    """The docs' Sphinx extension that generates the report page's tables (docs/_ext/records_tables.py), imported
    as the site build imports it."""
    sys.path.insert(0, os.path.join(ROOT, "docs", "_ext"))
    try:
        import records_tables as module
    finally:
        sys.path.pop(0)
    return module


def run_module(module, *args, env=None, check=True):
    """Run ``python -m module args`` in a fresh process (as a user would), returning CompletedProcess."""
    import subprocess

    full_env = dict(os.environ, TOKENIZERS_PARALLELISM="false", PYTHONPATH=ROOT)
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True,
                          env=full_env, cwd=ROOT)
    if check and proc.returncode != 0:
        raise AssertionError(f"{module} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def encode_and_search(model, data, work, q_max_len, p_max_len, depth):
    """Tevatron's flow on ``data``'s corpus.jsonl and queries.jsonl: the plugin's encode driver, then
    ``python -m tevatron.faiss_retriever``. Returns the path of the text run it writes under ``work``."""
    common = ["--model_name_or_path", model, "--output_dir", work / "tmp", "--q_max_len", q_max_len,
              "--p_max_len", p_max_len, "--per_device_eval_batch_size", 16, "--dataset_proc_num", 1]
    run_module("mpcl_tevatron.driver.encode", *common, "--encode_in_path", data / "corpus.jsonl",
               "--encoded_save_path", work / "corpus.pkl")
    run_module("mpcl_tevatron.driver.encode", *common, "--encode_in_path", data / "queries.jsonl",
               "--encoded_save_path", work / "q.pkl", "--encode_is_qry")
    run_module("tevatron.faiss_retriever", "--query_reps", work / "q.pkl", "--passage_reps", work / "corpus.pkl",
               "--depth", depth, "--batch_size", -1, "--save_text", "--save_ranking_to", work / "run.txt")
    return work / "run.txt"
