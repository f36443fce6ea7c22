"""Which floating-point precision to train and encode in: bfloat16 only where the hardware runs it natively.

bf16 autocast is about 2-3x the float32 rate on a CPU with AVX512-BF16 or AMX, but on a CPU without them
PyTorch emulates it: there multilingual-e5-small ran 10.2x *slower* than float32 (AMD EPYC, AVX2 only;
batch 16 x 48 tokens, 1 thread: 15.0 s vs 1.46 s). So ``auto`` asks the hardware instead of assuming.
"""

from __future__ import annotations

import functools
import logging
import os

import torch

logger = logging.getLogger(__name__)

PRECISIONS = ("auto", "bf16", "fp32")
#: the slowdown measured for bf16 autocast on a CPU without native bf16 (see the module docstring)
EMULATED_BF16_SLOWDOWN = 10.2


@functools.lru_cache(maxsize=None)
def cpu_has_native_bf16() -> bool:
    """Whether this CPU has AVX512-BF16 or AMX-BF16 (as PyTorch's CPU feature detection reports them; on
    older PyTorch, /proc/cpuinfo's flags)."""
    probes = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    if all(callable(p) for p in probes):
        return any(p() for p in probes)
    if os.path.isfile("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            flags = f.read()
        return "avx512_bf16" in flags or "amx_bf16" in flags
    return False


def native_bf16(device: str = "cpu") -> bool:
    """Whether ``device`` ("cpu" or "cuda") runs bfloat16 natively."""
    if device.startswith("cuda"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return cpu_has_native_bf16()


def cpu_description() -> str:
    """One line naming this CPU, for timings: model name, PyTorch's capability level, native bf16 or not."""
    name = "unknown CPU"
    if os.path.isfile("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), name)
    bf16 = "native bf16" if cpu_has_native_bf16() else "no native bf16"
    return f"{name}, {torch.backends.cpu.get_cpu_capability()}, {bf16}, {os.cpu_count()} logical cores"


def resolve_precision(requested: str, device: str = "cpu") -> str:
    """``auto`` -> ``bf16`` where ``device`` runs it natively, else ``fp32``. An explicit ``bf16`` on a CPU
    without native bf16 is kept, with one warning giving the measured slowdown."""
    if requested not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {requested!r}")
    if requested == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    if requested == "bf16" and not native_bf16(device):
        warn_emulated_bf16(device)
    return requested


@functools.lru_cache(maxsize=None)
def warn_emulated_bf16(device: str = "cpu") -> None:
    """Warn (once per process) that bf16 on ``device`` is emulated."""
    logger.warning("bf16 requested on a %s without native bfloat16 (%s): PyTorch emulates it, measured %.1fx "
                   "slower than float32 for e5; use fp32 (or auto)", device, cpu_description(),
                   EMULATED_BF16_SLOWDOWN)
