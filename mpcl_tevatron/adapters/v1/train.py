"""Tevatron v1's train driver (``tevatron.driver.train``) with the plugin's dataset, collator, model, trainer
and arguments. Same flags as Tevatron's, plus the plugin's (``arguments.py``); the output directory is a
Tevatron model directory (HF weights + tokenizer) plus ``mpcl_config.json``."""

from __future__ import annotations

import logging
import os
import sys
from typing import List, Optional

from tevatron.arguments import DataArguments, DenseTrainingArguments, ModelArguments
from transformers import AutoConfig, AutoTokenizer, HfArgumentParser, set_seed

from ...arguments import (EncoderArguments, LossArguments, ObjectiveArguments, TypoArguments, driver_arguments,
                          overwrite_output_dir, parse_arguments, resolve_encoder)
from ...io import InputError, read_train_jsonl, read_train_records
from ...losses import get_loss
from ...precision import resolve_precision
from .collator import TypoQPCollator
from .dataset import TypoTrainDataset
from .modeling import TypoDenseModel
from .trainer import TypoDenseTrainer

logger = logging.getLogger(__name__)

PROG = "python -m mpcl_tevatron.driver.train"


class TrainDataArguments(DataArguments):
    """Tevatron v1's ``DataArguments``, whose ``--train_dir`` must be a folder holding *.json or *.jsonl files:
    v1 lists it while parsing, so a file or a missing folder ended in a traceback, and an empty one in a message
    that asked for the flag just given."""

    def __post_init__(self):
        if self.train_dir is not None:
            if not os.path.isdir(self.train_dir):
                what = "a file, not a folder" if os.path.exists(self.train_dir) else "no such folder"
                raise InputError(f"--train_dir {self.train_dir}: {what} (give the folder of the train JSONL)")
            if not any(f.endswith(("json", "jsonl")) for f in os.listdir(self.train_dir)):
                raise InputError(f"--train_dir {self.train_dir}: no *.json or *.jsonl file in it")
        super().__post_init__()


def build_parser() -> HfArgumentParser:
    return HfArgumentParser((ModelArguments, TrainDataArguments, DenseTrainingArguments, LossArguments,
                             ObjectiveArguments, TypoArguments, EncoderArguments,
                             *driver_arguments(DenseTrainingArguments)),
                            prog=PROG, description=__doc__)


def load_groups(data_args, separator: str):
    if data_args.train_path:
        return read_train_jsonl(sorted(data_args.train_path), separator)
    if data_args.dataset_name and data_args.dataset_name != "json":  # a hub dataset (needs a network)
        from datasets import load_dataset

        rows = load_dataset(data_args.dataset_name, data_args.dataset_language,
                            cache_dir=data_args.data_cache_dir)[data_args.dataset_split]
        return read_train_records(((f"{data_args.dataset_name}[{i}]", r) for i, r in enumerate(rows)), separator)
    raise InputError("no training data: give --train_dir (Tevatron train JSONL) or --dataset_name")


def main(argv: Optional[List[str]] = None) -> None:
    parser = build_parser()
    parsed, given = parse_arguments(parser, sys.argv[1:] if argv is None else argv)
    model_args, data_args, training_args, loss_args, objective_args, typo_args, encoder_args = parsed[:7]
    problem = typo_args.validate(loss_args.loss) or encoder_args.validate()
    if problem:
        parser.error(problem)
    if (os.path.isdir(training_args.output_dir) and os.listdir(training_args.output_dir)
            and training_args.do_train and not overwrite_output_dir(parsed)):
        parser.error(f"output directory {training_args.output_dir} is not empty; use --overwrite_output_dir")

    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
                        level=logging.INFO if training_args.process_index == 0 else logging.WARN)
    set_seed(training_args.seed)
    # Under torchrun, reading .device sets up the process group that --negatives_x_device needs when the
    # model is built below.
    logger.info("device %s, process %d of %d", training_args.device, training_args.process_index,
                training_args.world_size)
    if training_args.bf16:
        resolve_precision("bf16", training_args.device.type)  # warns where bf16 is emulated (about 10x slower)
    groups, _ = load_groups(data_args, data_args.passage_field_separator)
    n = data_args.train_n_passages
    if n > 1 and any(not g["negatives"] for g in groups):
        raise InputError(f"--train_n_passages {n} needs negatives, and some training groups have none")
    if len(groups) < training_args.per_device_train_batch_size:
        raise InputError(f"{len(groups)} training groups: fewer than one batch of "
                         f"{training_args.per_device_train_batch_size}")
    # Tevatron's model views scores per effective batch; a ragged last batch would break that.
    training_args.dataloader_drop_last = True
    training_args.remove_unused_columns = False

    config = AutoConfig.from_pretrained(model_args.config_name or model_args.model_name_or_path,
                                        cache_dir=model_args.cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_args.tokenizer_name or model_args.model_name_or_path,
                                              cache_dir=model_args.cache_dir)
    objective = get_loss(loss_args.loss, **objective_args.hyperparameters(n, loss_args.loss, loss_args.loss_kwargs))
    encoder_config = resolve_encoder(model_args.model_name_or_path, given, encoder_args)
    logger.info("encoder: %s", encoder_config)
    model = TypoDenseModel.build(model_args, data_args, training_args, objective=objective,
                                 encoder_config=encoder_config, config=config, cache_dir=model_args.cache_dir)
    logger.info("objective: %s", objective)
    if typo_args.freeze_word_embeddings:
        for encoder in {id(model.lm_q): model.lm_q, id(model.lm_p): model.lm_p}.values():
            encoder.get_input_embeddings().weight.requires_grad_(False)

    dataset = TypoTrainDataset(data_args, groups, tokenizer, typo_args, encoder_args)
    trainer = TypoDenseTrainer(
        model=model, args=training_args, train_dataset=dataset,
        data_collator=TypoQPCollator(tokenizer, max_p_len=data_args.p_max_len, max_q_len=data_args.q_max_len),
    )
    dataset.trainer = trainer
    trainer.train()
    trainer.save_model()
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(training_args.output_dir)
        s = dataset.variants.generator.stats
        logger.info("typo'd variants: %d queries, %d unchanged (no eligible word), %d with fewer distinct "
                    "variants than K", s.queries, s.unchanged, s.short)
