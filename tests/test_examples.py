"""The examples run, so they never rot."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import ROOT

EXAMPLES = os.path.join(ROOT, "examples")


def _run(name, *args):
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, name), *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_make_typos_example():
    out = _run("make_typos.py").splitlines()
    assert len(out) == 9 and {line.split()[0] for line in out} == {"en", "ru", "hi"}


def test_objectives_example():
    out = _run("objectives.py")
    assert "mp_infonce" in out and "dst_mp" in out


def test_score_run_example(tmp_path):
    (tmp_path / "qrels.txt").write_text("q1 0 d1 1\nq2 0 d2 1\nq3 0 d3 1\n")
    (tmp_path / "a.txt").write_text("q1\td1\t2\nq2\td2\t2\nq3\td1\t2\nq3\td3\t1\n")
    (tmp_path / "b.txt").write_text("q1\td2\t2\nq1\td1\t1\nq2\td1\t2\nq3\td3\t2\n")
    out = _run("score_run.py", tmp_path / "qrels.txt", tmp_path / "a.txt", tmp_path / "b.txt")
    assert "mrr@10" in out.lower() or "MRR@10" in out


def test_train_python_api_example_learns_the_task():
    pytest.importorskip("tevatron.trainer", reason="the example uses Tevatron v1 (pip install tevatron)")
    last = _run("train_python_api.py").strip().splitlines()[-1]
    assert last.startswith("trained 40 steps with mp_infonce")
    assert float(last.rsplit(" ", 1)[1]) > 10 / 32  # chance is 1/32


def test_sentence_transformers_example(tmp_path):
    pytest.importorskip("sentence_transformers", reason="sentence-transformers (pip install mpcl-tevatron[st])")
    import json

    from mpcl_tevatron.encoder_config import EncoderConfig

    out = json.loads(_run("train_sentence_transformers.py", "--out", tmp_path / "st", "--objective", "dst_mp",
                          "--positives", 2, "--max_steps", 2, "--batch_size", 8).splitlines()[-1])
    assert out["steps"] == 2 and out["training_loss"] > 0 and out["loss"]["positives"] == 2
    # the saved folder is a Tevatron model folder whose pooling the plugin's encode reads
    config = EncoderConfig.for_model(str(tmp_path / "st"))
    assert config.pooling == "mean" and config.normalize
