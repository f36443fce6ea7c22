"""train (plugin driver) -> encode (Tevatron's encode flow) -> search (Tevatron's faiss retriever) -> ranx."""

from __future__ import annotations

import json
import math
import os
import pickle
import re
import shutil
import subprocess

import pytest

from mpcl_tevatron.encoder_config import EncoderConfig
from mpcl_tevatron.evaluation import evaluate, read_qrels, read_run
from mpcl_tevatron.io import InputError

from .conftest import ROOT, encode_and_search, run_module

pytest.importorskip("tevatron.trainer", reason="Tevatron v1 (pip install tevatron) is not installed")


def _mrr_at_10(qrels_path, run_path):
    """MRR@10 computed here without ranx, to check ranx's figure."""
    rel = {}
    for line in open(qrels_path):
        q, _, d, r = line.split()
        if int(r) > 0:
            rel.setdefault(q, set()).add(d)
    ranked = {}
    for line in open(run_path):
        q, d, s = line.split()
        ranked.setdefault(q, []).append((float(s), d))
    total = 0.0
    for q, docs in rel.items():
        order = [d for _, d in sorted(ranked.get(q, []), key=lambda x: -x[0])][:10]
        total += next((1.0 / (i + 1) for i, d in enumerate(order) if d in docs), 0.0)
    return total / len(rel)


@pytest.mark.parametrize("line, message", [
    ("q2 0 d1", "expected 'qid 0 docid relevance'"),  # three fields
    ("q2 0 d1 high", "expected 'qid 0 docid relevance'"),  # four fields, a relevance that is no integer
    ("q2 0 d1 1-", "expected 'qid 0 docid relevance'"),  # a sign may lead, not trail
])
def test_bad_qrels_line_names_the_file_and_its_line(tmp_path, line, message):
    path = tmp_path / "qrels.txt"
    path.write_text("q1 0 d0 1\n\n" + line + "\n", encoding="utf-8")  # a blank line still counts
    with pytest.raises(InputError, match=f"^{re.escape(str(path))}:3: {re.escape(message)}$"):
        read_qrels(str(path))
    (tmp_path / "neg.txt").write_text("q1 0 d0 -1\nq1 0 d1 2\n", encoding="utf-8")
    assert read_qrels(str(tmp_path / "neg.txt")).to_dict() == {"q1": {"d0": -1, "d1": 2}}
    (tmp_path / "utf8.txt").write_bytes("q\u00e9 0 d\u00e9 1\n".encode("utf-8"))  # read as UTF-8 whatever the locale
    assert read_qrels(str(tmp_path / "utf8.txt")).to_dict() == {"q\u00e9": {"d\u00e9": 1}}


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["mp_infonce", "dst_mp"])
def test_train_encode_search_score(tmp_path, tiny_model_dir, synthetic, loss):
    model = tmp_path / "model"
    run_module("mpcl_tevatron.driver.train", "--model_name_or_path", tiny_model_dir, "--output_dir", model,
               "--train_dir", synthetic / "train", "--do_train", "--loss", loss, "--typo_variants", 3,
               "--pooling", "mean", "--per_device_train_batch_size", 8, "--train_n_passages", 2,
               "--max_steps", 12, "--learning_rate", 1e-3, "--seed", 7, "--q_max_len", 24, "--p_max_len", 32,
               "--save_strategy", "no", "--report_to", "none", "--dataset_proc_num", 1, "--use_cpu")
    assert json.load(open(model / "mpcl_config.json"))["pooling"] == "mean"
    assert (model / "model.safetensors").exists() and (model / "tokenizer.json").exists()
    run = encode_and_search(model, synthetic, tmp_path, q_max_len=24, p_max_len=32, depth=20)
    scores = evaluate(read_qrels(str(synthetic / "qrels.txt")), read_run(str(run)))
    # the same model untrained (same pooling) already finds some answers by shared word pieces: training must
    # add at least 0.15 MRR@10 on top of it (a loss multiplied by 0 would leave it where it was)
    untrained = tmp_path / "untrained"
    shutil.copytree(tiny_model_dir, untrained)
    EncoderConfig(pooling="mean").save(str(untrained))
    (tmp_path / "base").mkdir()
    base_run = encode_and_search(untrained, synthetic, tmp_path / "base", q_max_len=24, p_max_len=32, depth=20)
    base = evaluate(read_qrels(str(synthetic / "qrels.txt")), read_run(str(base_run)))
    assert scores["mrr@10"] > base["mrr@10"] + 0.15, (scores["mrr@10"], base["mrr@10"])
    assert scores["mrr@10"] == pytest.approx(_mrr_at_10(synthetic / "qrels.txt", run), abs=1e-9)
    assert 0 <= scores["recall@100"] <= 1 and not math.isnan(scores["ndcg@10"])


def test_scoring_cli_prints_a_table_and_rejects_bad_runs(tmp_path):
    (tmp_path / "qrels.txt").write_text("q1 0 d1 1\nq2 0 d2 1\n")
    (tmp_path / "run.txt").write_text("q1\td1\t2.0\nq1\td2\t1.0\nq2\td1\t2.0\nq2\td2\t1.0\n")
    out = run_module("mpcl_tevatron.evaluation", "--qrels", tmp_path / "qrels.txt", "--metrics", "mrr@10",
                     tmp_path / "run.txt").stdout
    assert "0.7500" in out  # (1 + 1/2) / 2
    (tmp_path / "bad.txt").write_text("q1 d1\n")
    proc = run_module("mpcl_tevatron.evaluation", "--qrels", tmp_path / "qrels.txt", tmp_path / "bad.txt",
                      check=False)
    assert proc.returncode == 2 and f"{tmp_path / 'bad.txt'}:1" in proc.stderr


def test_a_query_missing_from_the_run_scores_zero_and_mismatched_ids_warn(tmp_path, caplog):
    """Two judged queries, a run that ranks only q1 (answer first): MRR@10 is (1 + 0) / 2, not q1's 1.0."""
    import logging

    from mpcl_tevatron.io import InputError

    (tmp_path / "qrels.txt").write_text("q1 0 d1 1\nq2 0 d2 1\n")
    (tmp_path / "run.txt").write_text("q1\td1\t2.0\nq1\td2\t1.0\nq9\td2\t1.0\n")
    with caplog.at_level(logging.WARNING):
        scores = evaluate(read_qrels(str(tmp_path / "qrels.txt")), read_run(str(tmp_path / "run.txt")), ["mrr@10"])
    assert scores["mrr@10"] == 0.5
    assert "1 of 2 run queries are in the qrels; 1 judged queries have no ranking" in caplog.text
    (tmp_path / "upper.txt").write_text("Q1\td1\t2.0\nQ2\td2\t1.0\n")
    with pytest.raises(InputError, match="none of its 2 query ids is in the qrels"):
        evaluate(read_qrels(str(tmp_path / "qrels.txt")), read_run(str(tmp_path / "upper.txt")))
    for args in (["--metrics", "nosuch@10", tmp_path / "run.txt"], [tmp_path / "upper.txt"]):
        proc = run_module("mpcl_tevatron.evaluation", "--qrels", tmp_path / "qrels.txt", *args, check=False)
        assert proc.returncode == 2 and proc.stderr.startswith("error: ") and len(proc.stderr.splitlines()) == 1
    (tmp_path / "empty.txt").write_text("")
    proc = run_module("mpcl_tevatron.evaluation", "--qrels", tmp_path / "qrels.txt", tmp_path / "empty.txt",
                      check=False)
    assert proc.returncode == 2 and "holds no query" in proc.stderr


def test_reading_and_scoring_errors_say_exactly_what_is_wrong(tmp_path, caplog):
    """In-process, message by message (the CLI's subprocess tests above check the exit code and one line)."""
    import logging

    from mpcl_tevatron.evaluation import check_metrics

    run = tmp_path / "run.txt"
    run.write_text("q1 Q0 d1 1 2.5 tag\nq1\td2\t1.0\n")  # a 6-column TREC line, then a 3-column one
    assert read_run(str(run)).to_dict() == {"q1": {"d1": 2.5, "d2": 1.0}}
    assert read_run(str(run)).name == "run.txt" and read_run(str(run), name="mine").name == "mine"
    for text, message in (("q1 d1\n", f"{run}:1: expected 'qid docid score' or a 6-column TREC line"),
                          ("q1 d1 2.0\nq1 d2 high\n", f"{run}:2: score 'high' is not a number"),
                          ("\n", f"{run}: the run holds no query")):
        run.write_text(text)
        with pytest.raises(InputError) as err:
            read_run(str(run))
        assert str(err.value) == message
    (tmp_path / "empty_qrels.txt").write_text("\n")
    with pytest.raises(InputError) as err:
        read_qrels(str(tmp_path / "empty_qrels.txt"))
    assert str(err.value) == f"{tmp_path / 'empty_qrels.txt'}: the qrels hold no judged query"
    with pytest.raises(FileNotFoundError) as err:
        read_run(str(tmp_path / "absent.txt"))
    assert str(err.value) == f"{tmp_path / 'absent.txt'}: no such file"

    class NamedRun(dict):
        name = "r.txt"

    judged = {"q1": {"d1": 1}, "q2": {"d2": 1}}
    for qrels, ranked, message in (({}, NamedRun(q1={"d1": 1.0}), "the qrels hold no judged query"),
                                   (judged, {}, "run: the run holds no query"),  # no name: "run"
                                   (judged, NamedRun(Q1={"d1": 1.0}, Q2={"d2": 1.0}),
                                    "r.txt: none of its 2 query ids is in the qrels (e.g. run 'Q1', qrels 'q1')")):
        with pytest.raises(InputError) as err:
            evaluate(qrels, ranked, ["mrr@10"])
        assert str(err.value) == message
    with pytest.raises(InputError) as err:
        check_metrics(["mrr@10", "nosuch@10"])
    assert str(err.value).startswith("metric 'nosuch@10': ")
    (tmp_path / "qrels.txt").write_text("q1 0 d1 1\nq2 0 d2 1\n")
    qrels = read_qrels(str(tmp_path / "qrels.txt"))
    extra = "run.txt: 2 of 3 run queries are in the qrels; 0 judged queries have no ranking and score 0"
    for text, warning in (("q1 d1 2.0\nq2 d2 1.0\n", None),  # every id matches: no warning
                          ("q1 d1 2.0\nq2 d2 1.0\nq9 d2 1.0\n", extra)):  # every judged query ranked, one extra
        run.write_text(text)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="mpcl_tevatron.evaluation"):
            assert evaluate(qrels, read_run(str(run)), ["mrr@10"]) == {"mrr@10": 1.0}
        assert [r.getMessage() for r in caplog.records] == ([warning] if warning else [])


def _ranking(path):
    out = {}
    for line in open(path):
        q, d, s = line.split()
        out.setdefault(q, []).append((d, float(s)))
    return out


def test_sharded_recipe_ranks_as_unsharded(tmp_path, tiny_model_dir, synthetic):
    """recipes/msmarco_sharded.sh (Tevatron's sharded corpus encoding, one process per shard, and its search over
    a glob of shards, for a corpus larger than memory) gives the unsharded ranking."""
    out = tmp_path / "sharded"
    env = dict(os.environ, MODEL=str(tiny_model_dir), CORPUS=str(synthetic / "corpus.jsonl"),
               QUERIES=str(synthetic / "queries.jsonl"), SHARDS="3", DEPTH="48", OUT=str(out),
               PYTHONPATH=ROOT)
    proc = subprocess.run(["bash", os.path.join(ROOT, "recipes", "msmarco_sharded.sh")], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    shard_ids = [pickle.load(open(out / f"corpus.{s}.pkl", "rb"))[1] for s in range(3)]
    assert sorted(i for ids in shard_ids for i in ids) == sorted(f"d{i}" for i in range(48))
    assert [len(ids) for ids in shard_ids] == [16, 16, 16]
    common = ["--model_name_or_path", tiny_model_dir, "--output_dir", tmp_path / "tmp",
              "--per_device_eval_batch_size", 16, "--dataset_proc_num", 1]
    run_module("mpcl_tevatron.driver.encode", *common, "--encode_in_path", synthetic / "corpus.jsonl",
               "--p_max_len", 128, "--encoded_save_path", tmp_path / "whole.pkl")
    run_module("tevatron.faiss_retriever", "--query_reps", out / "queries.pkl", "--passage_reps",
               tmp_path / "whole.pkl", "--depth", 48, "--batch_size", -1, "--save_text", "--save_ranking_to",
               tmp_path / "whole.txt")
    whole, sharded = _ranking(tmp_path / "whole.txt"), _ranking(out / "run.txt")
    assert whole.keys() == sharded.keys() and len(whole) == 48
    for q in whole:
        assert [d for d, _ in whole[q]] == [d for d, _ in sharded[q]] and len(whole[q]) == 48
        assert [s for _, s in whole[q]] == pytest.approx([s for _, s in sharded[q]], abs=1e-5)
