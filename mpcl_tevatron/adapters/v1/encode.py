"""Tevatron v1's own encode driver (``tevatron.driver.encode.main``), run with the v1 adapter's dataset and
inference model in place of Tevatron's: tokenization without ``encode_plus``, and the pooling and text prefix
that the model directory's ``mpcl_config.json`` records. Flags and output (a pickle of reps and ids) are
Tevatron's. Batches are padded to their longest text instead of ``max_len`` (same representations, far less
compute for short sentences). ``--bf16`` runs the encoder under ``torch.autocast`` in bfloat16 on any device
(v1 itself only knows ``--fp16``, as CUDA autocast)."""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import List, Optional

import tevatron.driver.encode as tevatron_encode
import torch

from ...encoder_config import EncoderConfig, check_model_path
from ...io import check_encode_input
from ...precision import resolve_precision
from .dataset import TypoEncodeDataset
from .modeling import TypoDenseModelForInference


def main(argv: Optional[List[str]] = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = tevatron_encode.HfArgumentParser(
        (tevatron_encode.ModelArguments, tevatron_encode.DataArguments, tevatron_encode.TrainingArguments))
    model_args, data_args, train_args = parser.parse_args_into_dataclasses(argv)
    check_model_path(model_args.model_name_or_path)
    for path in data_args.encode_in_path or []:
        check_encode_input(path)
    config = EncoderConfig.for_model(model_args.model_name_or_path)
    prefix = config.query_prefix if data_args.encode_is_qry else config.passage_prefix

    def encode_dataset(dataset, tokenizer, max_len=128):
        return TypoEncodeDataset(dataset, tokenizer, max_len=max_len, prefix=prefix)

    tevatron_collator = tevatron_encode.EncodeCollator

    def encode_collator(tokenizer, max_length=None, padding=None):
        return tevatron_collator(tokenizer, max_length=max_length, padding="longest")

    def build_model(**kwargs):
        model = TypoDenseModelForInference.build(**kwargs)
        if train_args.bf16:
            resolve_precision("bf16", train_args.device.type)  # warns where bf16 is emulated (about 10x slower)
        model.autocast_dtype = torch.bfloat16 if train_args.bf16 else None
        return model

    replaced = {"EncodeDataset": encode_dataset, "EncodeCollator": encode_collator,
                "DenseModelForInference": SimpleNamespace(build=build_model)}
    originals = {name: getattr(tevatron_encode, name) for name in replaced}
    saved = sys.argv
    try:
        for name, value in replaced.items():
            setattr(tevatron_encode, name, value)
        sys.argv = [saved[0]] + list(argv)
        tevatron_encode.main()
    finally:
        sys.argv = saved
        for name, value in originals.items():
            setattr(tevatron_encode, name, value)
