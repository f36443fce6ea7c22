"""Two processes on the gloo backend see the same global batch as one process: same loss, same gradient."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from .conftest import ROOT

WORKER = os.path.join(ROOT, "tests", "distributed_worker.py")


@pytest.mark.slow
@pytest.mark.parametrize("loss, labelled", [("mp_infonce", []), ("dst_mp", []), ("dst_mp", ["labelled"])])
def test_two_process_gloo_equals_one_process(tmp_path, tiny_model_dir, loss, labelled):
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    single, multi = tmp_path / "single", tmp_path / "multi"
    single.mkdir(), multi.mkdir()
    subprocess.run([sys.executable, WORKER, str(tiny_model_dir), loss, str(single), *labelled], check=True,
                   env=env, capture_output=True)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    proc = subprocess.run(torchrun + [WORKER, str(tiny_model_dir), loss, str(multi), *labelled], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    one = torch.load(single / "rank0.pt")
    for rank in (0, 1):
        two = torch.load(multi / f"rank{rank}.pt")
        assert torch.allclose(two["loss"], one["loss"], atol=1e-5), (rank, two["loss"], one["loss"])
        assert torch.allclose(two["grad"], one["grad"], atol=1e-6), rank
    assert one["grad"].abs().sum() > 0
    if labelled:  # the masked false negatives did change the loss
        plain = tmp_path / "plain"
        plain.mkdir()
        subprocess.run([sys.executable, WORKER, str(tiny_model_dir), loss, str(plain)], check=True, env=env,
                       capture_output=True)
        assert abs(float(torch.load(plain / "rank0.pt")["loss"]) - float(one["loss"])) > 1e-4
