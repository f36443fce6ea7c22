"""Tevatron v1's train driver (``tevatron.driver.train``) with the plugin's dataset, collator, model, trainer
and arguments. Same flags as Tevatron's, plus the plugin's (``arguments.py``); the output directory is a
Tevatron model directory (HF weights + tokenizer) plus ``mpcl_config.json``. The flow is
``training.TrainRun``'s; this module says only what v1 does differently."""

from __future__ import annotations

import os
from typing import List, Optional

from tevatron.arguments import DataArguments, DenseTrainingArguments, ModelArguments
from transformers import AutoConfig, AutoTokenizer

from ...arguments import EncoderArguments, LossArguments, ObjectiveArguments, PositivesArguments, TypoArguments
from ...io import InputError, read_train_jsonl, read_train_records
from ...training import TrainRun, TrainSettings
from .collator import TypoQPCollator
from .dataset import TypoTrainDataset
from .modeling import TypoDenseModel
from .trainer import TypoDenseTrainer


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


def load_groups(data_args, separator: str):
    if data_args.train_path:
        return read_train_jsonl(sorted(data_args.train_path), separator)
    if data_args.dataset_name and data_args.dataset_name != "json":  # a hub dataset (needs a network)
        from datasets import load_dataset

        rows = load_dataset(data_args.dataset_name, data_args.dataset_language,
                            cache_dir=data_args.data_cache_dir)[data_args.dataset_split]
        return read_train_records(((f"{data_args.dataset_name}[{i}]", r) for i, r in enumerate(rows)), separator)
    raise InputError("no training data: give --train_dir (Tevatron train JSONL) or --dataset_name")


class V1TrainRun(TrainRun):
    description = __doc__

    def argument_classes(self) -> tuple:
        return (ModelArguments, TrainDataArguments, DenseTrainingArguments, LossArguments, ObjectiveArguments,
                TypoArguments, PositivesArguments, EncoderArguments)

    def group_size(self, s: TrainSettings) -> int:
        return s.data.train_n_passages

    def check(self, s: TrainSettings) -> Optional[str]:
        if s.positives.labelled and (s.data.positive_passage_no_shuffle or s.data.negative_passage_no_shuffle):
            return ("--positive_passage_no_shuffle / --negative_passage_no_shuffle: Tevatron's sampling, which "
                    "--positives_per_query > 1 and --mask_false_negatives replace; give one or the other")
        return None

    def check_data(self, s: TrainSettings) -> None:
        self.groups, _ = load_groups(s.data, s.data.passage_field_separator)
        n, batch = s.data.train_n_passages, s.training.per_device_train_batch_size
        if n > s.positives.positives_per_query and any(not g["negatives"] for g in self.groups):
            raise InputError(f"--train_n_passages {n} needs negatives, and some training groups have none")
        if len(self.groups) < batch:
            raise InputError(f"{len(self.groups)} training groups: fewer than one batch of {batch}")

    def load_tokenizer(self, s: TrainSettings):
        return AutoTokenizer.from_pretrained(s.model.tokenizer_name or s.model.model_name_or_path,
                                             cache_dir=s.model.cache_dir)

    def build_model(self, s: TrainSettings, objective, encoder_config):
        config = AutoConfig.from_pretrained(s.model.config_name or s.model.model_name_or_path,
                                            cache_dir=s.model.cache_dir)
        return TypoDenseModel.build(s.model, s.data, s.training, objective=objective,
                                    encoder_config=encoder_config, config=config, cache_dir=s.model.cache_dir)

    def word_embeddings(self, model) -> List:
        encoders = {id(model.lm_q): model.lm_q, id(model.lm_p): model.lm_p}.values()  # one when tied
        return [encoder.get_input_embeddings() for encoder in encoders]

    def build_dataset(self, s: TrainSettings, tokenizer, uses_typos: bool):
        return TypoTrainDataset(s.data, self.groups, tokenizer, s.typos, s.encoder[0], uses_typos=uses_typos,
                                positives_args=s.positives)

    def build_trainer(self, s: TrainSettings, model, dataset, tokenizer):
        collator = TypoQPCollator(tokenizer, max_p_len=s.data.p_max_len, max_q_len=s.data.q_max_len,
                                  mask_false_negatives=s.positives.masking)
        return TypoDenseTrainer(model=model, args=s.training, train_dataset=dataset, data_collator=collator)


def main(argv: Optional[List[str]] = None) -> None:
    V1TrainRun().main(argv)
