"""Precision ``auto``: bf16 only where the hardware runs it natively; an explicit bf16 elsewhere warns once."""

from __future__ import annotations

import logging

import pytest

from mpcl_tevatron import precision


@pytest.fixture
def cpu(monkeypatch):
    def set_native(native: bool):
        monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native)
        precision.warn_emulated_bf16.cache_clear()
    yield set_native
    precision.warn_emulated_bf16.cache_clear()


def test_auto_is_bf16_only_with_native_bf16(cpu):
    cpu(True)
    assert precision.resolve_precision("auto") == "bf16"
    cpu(False)
    assert precision.resolve_precision("auto") == "fp32"
    assert precision.resolve_precision("fp32") == "fp32"


def test_explicit_bf16_without_native_support_is_kept_and_warns_once_with_the_slowdown(cpu, caplog):
    cpu(False)
    with caplog.at_level(logging.WARNING, logger=precision.__name__):
        assert precision.resolve_precision("bf16") == "bf16"
        assert precision.resolve_precision("bf16") == "bf16"
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "10.2x slower" in warnings[0]
    assert warnings[0].startswith("bf16 requested on a cpu without native bfloat16 (")  # names the device
    cpu(True)
    caplog.clear()
    assert precision.resolve_precision("bf16") == "bf16" and not caplog.records


def test_unknown_precision_is_an_error():
    with pytest.raises(ValueError, match="auto, bf16, fp32"):
        precision.resolve_precision("fp16")


def test_cpu_description_names_the_bf16_support():
    text = precision.cpu_description()
    assert "bf16" in text and "logical cores" in text


@pytest.mark.parametrize("avx512_bf16, amx, expected", [(False, False, False), (True, False, True),
                                                        (False, True, True), (True, True, True)])
def test_the_bf16_probe_asks_pytorchs_feature_detection(monkeypatch, avx512_bf16, amx, expected):
    """``auto`` is bf16 exactly where PyTorch reports AVX512-BF16 or AMX."""
    import torch

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    precision.cpu_has_native_bf16.cache_clear()
    try:
        assert precision.cpu_has_native_bf16() is expected
        assert precision.resolve_precision("auto") == ("bf16" if expected else "fp32")
    finally:
        precision.cpu_has_native_bf16.cache_clear()


@pytest.mark.parametrize("flags, expected", [("fpu avx2 fma", False), ("fpu avx512f avx512_bf16", True),
                                             ("fpu amx_bf16 amx_tile", True)])
def test_without_pytorchs_probes_the_cpu_flags_decide(monkeypatch, flags, expected):
    import io

    import torch

    for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.delattr(torch.cpu, name, raising=False)
    monkeypatch.setattr(precision.os.path, "isfile", lambda path: path == "/proc/cpuinfo")
    monkeypatch.setattr(precision, "open", lambda path: io.StringIO(f"flags\t\t: {flags}\n"), raising=False)
    precision.cpu_has_native_bf16.cache_clear()
    try:
        assert precision.cpu_has_native_bf16() is expected
    finally:
        precision.cpu_has_native_bf16.cache_clear()


def test_cpu_description_is_the_model_name_capability_bf16_and_cores(monkeypatch):
    """The line every timing records, exactly: /proc/cpuinfo's model name, PyTorch's capability level, native
    bf16 or not, logical cores."""
    import io

    import torch

    monkeypatch.setattr(precision.os.path, "isfile", lambda path: path == "/proc/cpuinfo")
    monkeypatch.setattr(precision, "open", lambda path: io.StringIO(
        "processor\t: 0\nmodel name\t: Fake CPU 9000 @ 2.0GHz\nflags\t\t: fpu\n"), raising=False)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    monkeypatch.setattr(precision.os, "cpu_count", lambda: 2)
    for native, said in ((False, "no native bf16"), (True, "native bf16")):
        monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda native=native: native)
        assert precision.cpu_description() == f"Fake CPU 9000 @ 2.0GHz, AVX2, {said}, 2 logical cores"
    monkeypatch.setattr(precision.os.path, "isfile", lambda path: False)
    assert precision.cpu_description().startswith("unknown CPU, AVX2, ")
