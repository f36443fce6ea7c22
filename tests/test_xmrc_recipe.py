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
            "--q_max_len", "16", "--p_max_len", "32", "--encode_batch_size", "64"]
    assert main(argv) == 0
    report = json.load(open(out / "report.json"))
    assert report["rows"] == ["zero-shot", "infonce", "mp_infonce"]
    tasks = report["figures"]["mp_infonce"]
    assert set(tasks) == {"en->en", "de->de", "de->en", "en->de", "en->pool", "de->pool"}
    assert set(tasks["de->pool"]) == {"clean", "w1", "r50"}
    assert 0 < tasks["en->en"]["clean"]["recall@100"] <= 1
    assert "mp_infonce | en->en | clean | mrr@10" in report["significance"]
    for name in ("report.md", "report.tex", "report_xx.png", "report_gap.png", "runs/infonce/de->pool.clean.txt"):
        assert (out / name).exists(), name
    timings = json.load(open(out / "timings.json"))
    assert {"build", "train/infonce", "encode/zero-shot/queries", "search/mp_infonce", "score"} <= set(timings)
    table = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "xmrc_timings.py"), str(out)],
                           capture_output=True, text=True, check=True).stdout
    total = sum(t["seconds"] for t in timings.values()) / 60
    assert f"| **total** | **{total:.1f} min**" in table and "| encode/infonce/queries |" in table

    # resume: nothing finished is redone; an interrupted search (its output missing) is redone
    model_mtime = os.stat(out / "models" / "infonce" / "model.safetensors").st_mtime_ns
    os.remove(out / "runs" / "mp_infonce.pkl")
    (out / "runs" / "mp_infonce.pkl.partial").write_bytes(b"half-written")
    assert main(argv) == 0
    assert os.stat(out / "models" / "infonce" / "model.safetensors").st_mtime_ns == model_mtime
    assert json.load(open(out / "timings.json"))["train/infonce"] == timings["train/infonce"]
    assert (out / "runs" / "mp_infonce.pkl").exists()
    assert json.load(open(out / "report.json"))["figures"] == report["figures"]

    # other settings in the same folder are refused rather than mixed
    assert main(argv[:-2] + ["--encode_batch_size", "64", "--max_steps", "3"]) == 1
