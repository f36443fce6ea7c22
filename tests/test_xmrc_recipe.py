"""The XMRC recipe end to end on a tiny model and two languages: train -> Tevatron encode -> search -> ranx
report, then resumption: a rerun redoes nothing finished and redoes an interrupted step."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mpcl_tevatron.driver.xmrc import main

from .conftest import ROOT, SHARED

pytest.importorskip("tevatron.trainer", reason="Tevatron v1 (pip install tevatron) is not installed")


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(SHARED), reason=f"XQuAD-R not found at {SHARED}")
def test_recipe_runs_and_resumes(tmp_path, tiny_model_dir):
    out = tmp_path / "xmrc"
    argv = ["--out", str(out), "--data_dir", SHARED, "--model", str(tiny_model_dir), "--langs", "en", "de",
            "--objectives", "infonce", "mp_infonce", "--baselines", "--copies", "1", "--severities", "w1", "r50",
            "--max_steps", "2", "--batch_size", "4", "--train_n_passages", "2", "--typo_variants", "2",
            "--q_max_len", "16", "--p_max_len", "32", "--seeds", "1", "2", "--encode_batch_size", "64"]
    assert main(argv) == 0
    report = json.load(open(out / "report.json"))
    assert report["rows"] == ["zero-shot", "infonce", "mp_infonce"]
    tasks = report["figures"]["mp_infonce"]
    assert set(tasks) == {"en->en", "de->de", "de->en", "en->de", "en->pool", "de->pool"}
    assert set(tasks["de->pool"]) == {"clean", "w1", "r50"}
    assert 0 < tasks["en->en"]["clean"]["recall@100"] <= 1
    assert "mp_infonce | en->en | clean | mrr@10" in report["significance"]
    assert report["seeds"]["mp_infonce"] == ["mp_infonce.seed1", "mp_infonce.seed2"]
    assert report["seeds"]["zero-shot"] == ["zero-shot"]
    for name in ("report.md", "report.tex", "report_xx.png", "report_gap.png", "report_diff.png",
                 "runs/infonce.seed2/de->pool.clean.txt"):
        assert (out / name).exists(), name
    md = open(out / "report.md").read()
    # X->en and en->X leave out en->en (X->X's own figure), as README's tables do
    assert "## X->en MRR@10 (X != en)\n\n| row | de clean | de typo w1 | mean clean | mean typo w1 |" in md
    # distinct query texts are encoded once, shortest first; every query of every set is mapped to one
    data = out / "data"
    index = json.load(open(data / "query_index.json"))
    texts = [json.loads(line)["text"] for line in open(data / "all_queries.jsonl", encoding="utf-8")]
    assert len(texts) == len(set(texts)) < len(index["keys"]) and sorted(texts, key=len) == texts
    de_clean = {json.loads(l)["text_id"]: json.loads(l)["text"] for l in open(data / "de" / "queries.jsonl")}
    for key, tid in zip(index["keys"], index["text_id"]):
        lang, name, qid = key.split("|")
        if lang == "de" and name == "clean":
            assert texts[[json.loads(line)["text_id"] for line in open(data / "all_queries.jsonl")].index(
                str(tid))] == de_clean[qid]
    timings = json.load(open(out / "timings.json"))
    assert {"build", "train/infonce.seed1", "train/infonce.seed2", "encode/zero-shot/queries",
            "search/mp_infonce.seed2", "score"} <= set(timings)
    assert "bf16" in timings["build"]["cpu"]  # each timing names the CPU it ran on
    table = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "xmrc_timings.py"), str(out)],
                           capture_output=True, text=True, check=True).stdout
    total = sum(t["seconds"] for t in timings.values()) / 60
    assert f"| **total** | **{total:.1f} min**" in table and "| encode/infonce.seed1/queries |" in table

    # resume: nothing finished is redone; an interrupted search (its output missing) is redone
    model_mtime = os.stat(out / "models" / "infonce" / "seed1" / "model.safetensors").st_mtime_ns
    os.remove(out / "runs" / "mp_infonce.seed1.pkl")
    (out / "runs" / "mp_infonce.seed1.pkl.partial").write_bytes(b"half-written")
    assert main(argv) == 0
    assert os.stat(out / "models" / "infonce" / "seed1" / "model.safetensors").st_mtime_ns == model_mtime
    assert json.load(open(out / "timings.json"))["train/infonce.seed1"] == timings["train/infonce.seed1"]
    assert (out / "runs" / "mp_infonce.seed1.pkl").exists()
    assert json.load(open(out / "report.json"))["figures"] == report["figures"]

    # other settings in the same folder are refused rather than mixed
    assert main(argv[:-2] + ["--encode_batch_size", "64", "--max_steps", "3"]) == 1
