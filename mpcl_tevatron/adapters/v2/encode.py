"""Tevatron v2's own encode command (``tevatron.retriever.driver.encode``), run unchanged, with the flags a
model directory's ``mpcl_config.json`` records (``--pooling``, ``--normalize``, ``--query_prefix``,
``--passage_prefix``) filled in where not given, and sdpa attention where flash-attn cannot run."""

from __future__ import annotations

import os
import sys
from typing import List, Optional

import tevatron.retriever.driver.encode as tevatron_encode

from ...arguments import ENCODER_SETTINGS, parse_arguments
from ...encoder_config import EncoderConfig, check_model_path
from ...io import check_encode_input
from .train import attention_implementation


def completed_argv(argv: List[str]) -> List[str]:
    """``argv`` plus the encoder flags it lacks, from the model directory's settings."""
    if len(argv) == 1 and argv[0].endswith(".json"):
        return argv  # a JSON config is passed through as it is
    parser = tevatron_encode.HfArgumentParser(
        (tevatron_encode.ModelArguments, tevatron_encode.DataArguments, tevatron_encode.TrainingArguments))
    (model_args, data_args, _), given = parse_arguments(parser, argv)
    check_model_path(model_args.model_name_or_path)
    if data_args.dataset_path and os.path.isfile(data_args.dataset_path):
        check_encode_input(data_args.dataset_path)
    config = EncoderConfig.for_model(model_args.model_name_or_path)
    extra = [f"--{name}={getattr(config, name)}" for name in ENCODER_SETTINGS if name not in given]
    attn = attention_implementation(model_args.attn_implementation, "attn_implementation" in given)
    if attn != model_args.attn_implementation:
        extra.append(f"--attn_implementation={attn}")
    return list(argv) + extra


def main(argv: Optional[List[str]] = None) -> None:
    argv = completed_argv(sys.argv[1:] if argv is None else argv)
    saved = sys.argv
    try:
        sys.argv = [saved[0]] + argv
        tevatron_encode.main()
    finally:
        sys.argv = saved
