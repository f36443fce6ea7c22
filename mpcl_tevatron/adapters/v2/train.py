"""Tevatron v2's train command (``tevatron.retriever.driver.train``) with the plugin's dataset, collator, model
and trainer: v2's flags plus the plugin's (``--loss``, ``--typo_variants``, ...: ``arguments.py``). The output
directory is what v2's own train writes (HF weights + tokenizer; v2's ``driver.encode`` and ``driver.search`` read it
unchanged) plus ``mpcl_config.json``. The flow is ``training.TrainRun``'s; this module says only what v2 does
differently."""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
from typing import List, Optional

import torch
from tevatron.retriever.arguments import DataArguments, ModelArguments, TevatronTrainingArguments
from transformers import AutoTokenizer
from transformers.trainer_utils import get_last_checkpoint

from ...arguments import (LossArguments, MaskFalseNegativesArguments, ObjectiveArguments, PositivesArguments,
                          TypoArguments)
from ...io import InputError
from ...training import TrainRun, TrainSettings
from .collator import TypoTrainCollator
from .dataset import TypoTrainDataset
from .modeling import TypoDenseModel
from .trainer import TypoTevatronTrainer

logger = logging.getLogger(__name__)

#: Whether v2 already has ``--loss`` (upstream with this project's patch series, ``upstream/tevatron-v2``); the
#: plugin's registry then reads that flag (the registries share the ``tevatron.losses`` entry points).
UPSTREAM_HAS_LOSS = "loss" in {f.name for f in dataclasses.fields(TevatronTrainingArguments)}
#: Whether v2 already has ``--positives_per_query`` (the series' 4th patch); the plugin then adds only
#: ``--mask_false_negatives`` and samples the groups itself, as without the patch.
UPSTREAM_HAS_POSITIVES = "positives_per_query" in {f.name for f in dataclasses.fields(DataArguments)}


def attention_implementation(requested: str, given: bool) -> str:
    """v2 defaults to flash_attention_2, which needs CUDA and the flash-attn package; without them, and unless
    the flag was given, use PyTorch's sdpa (same results, no extra package)."""
    if requested != "flash_attention_2" or given:
        return requested
    if torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None:
        return requested
    logger.warning("flash_attention_2 needs CUDA and flash-attn; using sdpa (give --attn_implementation to choose)")
    return "sdpa"


class V2TrainRun(TrainRun):
    description = __doc__

    def argument_classes(self) -> tuple:
        loss = () if UPSTREAM_HAS_LOSS else (LossArguments,)
        positives = MaskFalseNegativesArguments if UPSTREAM_HAS_POSITIVES else PositivesArguments
        return (ModelArguments, DataArguments, TevatronTrainingArguments, *loss, ObjectiveArguments, TypoArguments,
                positives)

    def group_size(self, s: TrainSettings) -> int:
        return s.data.train_group_size

    def check(self, s: TrainSettings) -> Optional[str]:
        if s.training.grad_cache:
            return "--grad_cache: v2's gradient-cache trainer computes its own loss; not supported"
        return None

    def check_data(self, s: TrainSettings) -> None:
        if not (s.data.dataset_path or s.data.dataset_name != "json"):
            raise InputError("no training data: give --dataset_path (Tevatron train JSONL) or --dataset_name")

    def last_checkpoint(self, output_dir: str) -> Optional[str]:
        return get_last_checkpoint(output_dir)

    def load_tokenizer(self, s: TrainSettings):
        tokenizer = AutoTokenizer.from_pretrained(s.model.tokenizer_name or s.model.model_name_or_path,
                                                  cache_dir=s.model.cache_dir, revision=s.model.model_revision)
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token_id = tokenizer.eos_token_id
        tokenizer.padding_side = "left" if s.data.padding_side == "left" else "right"
        return tokenizer

    def build_model(self, s: TrainSettings, objective, encoder_config):
        training = s.training
        dtype = torch.bfloat16 if training.bf16 else torch.float16 if training.fp16 else torch.float32
        return TypoDenseModel.build(
            s.model, training, objective=objective, encoder_config=encoder_config, cache_dir=s.model.cache_dir,
            revision=s.model.model_revision, dtype=dtype,
            attn_implementation=attention_implementation(s.model.attn_implementation,
                                                         "attn_implementation" in s.given))

    def word_embeddings(self, model) -> List:
        return [model.encoder.get_input_embeddings()]

    def build_dataset(self, s: TrainSettings, tokenizer, uses_typos: bool):
        return TypoTrainDataset(s.data, s.typos, uses_typos=uses_typos, positives_args=s.positives)

    def build_trainer(self, s: TrainSettings, model, dataset, tokenizer):
        return TypoTevatronTrainer(model=model, args=s.training, train_dataset=dataset,
                                   data_collator=TypoTrainCollator(s.data, tokenizer,
                                                                   mask_false_negatives=s.positives.masking))


def main(argv: Optional[List[str]] = None) -> None:
    V2TrainRun().main(argv)
