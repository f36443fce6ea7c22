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
    cpu(True)
    caplog.clear()
    assert precision.resolve_precision("bf16") == "bf16" and not caplog.records


def test_unknown_precision_is_an_error():
    with pytest.raises(ValueError, match="auto, bf16, fp32"):
        precision.resolve_precision("fp16")


def test_cpu_description_names_the_bf16_support():
    text = precision.cpu_description()
    assert "bf16" in text and "logical cores" in text
