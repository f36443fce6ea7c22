"""Tevatron v2's train command (``tevatron.retriever.driver.train``) with the plugin's dataset, collator, model
and trainer: v2's flags plus the plugin's (``--loss``, ``--typo_variants``, ...: ``arguments.py``). The output
directory is what v2's own train writes (HF weights + tokenizer; v2's ``driver.encode`` and ``driver.search`` read it
unchanged) plus ``mpcl_config.json``."""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import os
import sys
from typing import List, Optional

import torch
from tevatron.retriever.arguments import DataArguments, ModelArguments, TevatronTrainingArguments
from transformers import AutoTokenizer, HfArgumentParser, set_seed
from transformers.trainer_utils import get_last_checkpoint

from ...arguments import (LossArguments, ObjectiveArguments, TypoArguments, driver_arguments, overwrite_output_dir,
                          parse_arguments, resolve_encoder)
from ...io import InputError
from ...losses import get_loss
from ...precision import resolve_precision
from .collator import TypoTrainCollator
from .dataset import TypoTrainDataset
from .modeling import TypoDenseModel
from .trainer import TypoTevatronTrainer

logger = logging.getLogger(__name__)

PROG = "python -m mpcl_tevatron.driver.train"


#: Whether v2 already has ``--loss`` (upstream with this project's patch series, ``upstream/tevatron-v2``); the
#: plugin's registry then reads that flag (the registries share the ``tevatron.losses`` entry points).
UPSTREAM_HAS_LOSS = "loss" in {f.name for f in dataclasses.fields(TevatronTrainingArguments)}


def build_parser() -> HfArgumentParser:
    loss = () if UPSTREAM_HAS_LOSS else (LossArguments,)
    return HfArgumentParser((ModelArguments, DataArguments, TevatronTrainingArguments, *loss, ObjectiveArguments,
                             TypoArguments, *driver_arguments(TevatronTrainingArguments)),
                            prog=PROG, description=__doc__)


def attention_implementation(requested: str, given: bool) -> str:
    """v2 defaults to flash_attention_2, which needs CUDA and the flash-attn package; without them, and unless
    the flag was given, use PyTorch's sdpa (same results, no extra package)."""
    if requested != "flash_attention_2" or given:
        return requested
    if torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None:
        return requested
    logger.warning("flash_attention_2 needs CUDA and flash-attn; using sdpa (give --attn_implementation to choose)")
    return "sdpa"


def main(argv: Optional[List[str]] = None) -> None:
    parser = build_parser()
    parsed, given = parse_arguments(parser, sys.argv[1:] if argv is None else argv)
    model_args, data_args, training_args, *plugin_args = parsed
    typo_args = next(a for a in plugin_args if isinstance(a, TypoArguments))
    objective_args = next(a for a in plugin_args if isinstance(a, ObjectiveArguments))
    loss_holder = training_args if UPSTREAM_HAS_LOSS else plugin_args[0]
    loss = loss_holder.loss
    problem = typo_args.validate(loss)
    if training_args.grad_cache:
        problem = problem or "--grad_cache: v2's gradient-cache trainer computes its own loss; not supported"
    if problem:
        parser.error(problem)
    output_dir = training_args.output_dir
    last_checkpoint = get_last_checkpoint(output_dir) if os.path.isdir(output_dir) else None
    if (os.path.isdir(output_dir) and os.listdir(output_dir) and training_args.do_train
            and not overwrite_output_dir(parsed) and last_checkpoint is None):
        parser.error(f"output directory {output_dir} is not empty; use --overwrite_output_dir")
    if not (data_args.dataset_path or data_args.dataset_name != "json"):
        raise InputError("no training data: give --dataset_path (Tevatron train JSONL) or --dataset_name")

    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
                        level=logging.INFO if training_args.process_index == 0 else logging.WARN)
    set_seed(training_args.seed)
    logger.info("device %s, process %d of %d", training_args.device, training_args.process_index,
                training_args.world_size)
    if training_args.bf16:
        resolve_precision("bf16", training_args.device.type)  # warns where bf16 is emulated (about 10x slower)

    tokenizer = AutoTokenizer.from_pretrained(model_args.tokenizer_name or model_args.model_name_or_path,
                                              cache_dir=model_args.cache_dir, revision=model_args.model_revision)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token_id = tokenizer.eos_token_id
    tokenizer.padding_side = "left" if data_args.padding_side == "left" else "right"

    encoder_config = resolve_encoder(model_args.model_name_or_path, given, model_args, data_args)
    logger.info("encoder: %s", encoder_config)
    objective = get_loss(loss, **objective_args.hyperparameters(data_args.train_group_size, loss,
                                                                loss_holder.loss_kwargs))
    logger.info("objective: %s", objective)
    dtype = torch.bfloat16 if training_args.bf16 else torch.float16 if training_args.fp16 else torch.float32
    model = TypoDenseModel.build(
        model_args, training_args, objective=objective, encoder_config=encoder_config,
        cache_dir=model_args.cache_dir, revision=model_args.model_revision, dtype=dtype,
        attn_implementation=attention_implementation(model_args.attn_implementation,
                                                     "attn_implementation" in given))
    if typo_args.freeze_word_embeddings:
        model.encoder.get_input_embeddings().weight.requires_grad_(False)

    dataset = TypoTrainDataset(data_args, typo_args)
    # Tevatron's model views scores per query group; a ragged last batch would break that.
    training_args.dataloader_drop_last = True
    training_args.remove_unused_columns = False
    trainer = TypoTevatronTrainer(model=model, args=training_args, train_dataset=dataset,
                                  data_collator=TypoTrainCollator(data_args, tokenizer))
    dataset.set_trainer(trainer)
    trainer.train(resume_from_checkpoint=last_checkpoint)
    trainer.save_model()
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(output_dir)
        s = dataset.variants.generator.stats
        logger.info("typo'd variants: %d queries, %d unchanged (no eligible word), %d with fewer distinct "
                    "variants than K", s.queries, s.unchanged, s.short)
