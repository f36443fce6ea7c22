"""Tevatron v1's own encode driver (``tevatron.driver.encode.main``), run with the v1 adapter's dataset and
inference model in place of Tevatron's: tokenization without ``encode_plus``, and the pooling and text prefix
that the model directory's ``mpcl_config.json`` records. Flags and output (a pickle of reps and ids) are
Tevatron's."""

from __future__ import annotations

import sys
from typing import List, Optional

import tevatron.driver.encode as tevatron_encode

from ...encoder_config import EncoderConfig
from .dataset import TypoEncodeDataset
from .modeling import TypoDenseModelForInference


def main(argv: Optional[List[str]] = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = tevatron_encode.HfArgumentParser(
        (tevatron_encode.ModelArguments, tevatron_encode.DataArguments, tevatron_encode.TrainingArguments))
    model_args, data_args, _ = parser.parse_args_into_dataclasses(argv)
    config = EncoderConfig.load(model_args.model_name_or_path)
    prefix = config.query_prefix if data_args.encode_is_qry else config.passage_prefix

    def encode_dataset(dataset, tokenizer, max_len=128):
        return TypoEncodeDataset(dataset, tokenizer, max_len=max_len, prefix=prefix)

    saved = sys.argv
    tevatron_encode.EncodeDataset = encode_dataset
    tevatron_encode.DenseModelForInference = TypoDenseModelForInference
    try:
        sys.argv = [saved[0]] + list(argv)
        tevatron_encode.main()
    finally:
        sys.argv = saved
