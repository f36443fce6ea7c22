"""The train step, written once for every Tevatron version: parse the toolkit's flags and the plugin's, check
them, resolve the encoder settings, build the objective, the model, the typo'd dataset and the trainer, train
and save. Each adapter's ``train.py`` subclasses ``TrainRun`` and overrides only the hooks where its Tevatron
version differs (argument classes, where each setting lives, tokenizer, model, dataset, collator, trainer).

No Tevatron module is imported here; the adapters hand in their classes.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import logging
import os
import sys
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Set

import torch
from transformers import HfArgumentParser, set_seed

from .cli import LOCK_NAME, non_finite_setting, one_line_errors, output_lock
from .arguments import (ENCODER_SETTINGS, EncoderArguments, LossArguments, MaskFalseNegativesArguments,
                        ObjectiveArguments, PositivesArguments, TypoArguments, driver_arguments, overwrite_output_dir,
                        parse_arguments, resolve_encoder)
from .encoder_config import EncoderConfig, check_model_path
from .io import InputError
from .losses import get_loss
from .precision import resolve_precision

logger = logging.getLogger(__name__)

PROG = "python -m mpcl_tevatron.driver.train"


@dataclass
class TrainSettings:
    """The parsed arguments, by role (the same roles under every Tevatron version)."""

    model: Any  # Tevatron's ModelArguments
    data: Any  # Tevatron's DataArguments
    training: Any  # Tevatron's TrainingArguments (a transformers TrainingArguments)
    loss: Any  # whichever carries --loss and --loss_kwargs (the plugin's LossArguments, or patched v2's own)
    objective: ObjectiveArguments
    typos: TypoArguments
    positives: PositivesArguments
    encoder: Sequence[Any]  # the dataclasses that carry the encoder settings and --temperature
    given: Set[str]  # the flags given on the command line (they win over the base model's settings)
    parsed: tuple


class NonFiniteLoss(InputError):
    """The training loss became NaN or infinite: training stops, and nothing is saved as a model."""


class TypoTrainerMixin:
    """For a Tevatron trainer: batches are ``(queries, passages, typo_queries, passage_ids)``, the model's
    forward takes all four and returns the objective's loss (both adapters' trainers). A loss that is not
    finite stops training (``NonFiniteLoss``) before its gradient reaches the weights."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        query, passage, typo_query, passage_ids = inputs
        outputs = model(query=query, passage=passage, typo_query=typo_query, passage_ids=passage_ids)
        if not torch.isfinite(outputs.loss.detach()).all():
            raise NonFiniteLoss(f"the training loss is {outputs.loss.item()} at step {self.state.global_step + 1}; "
                                f"training stopped and no model was saved (lower --learning_rate, or check the "
                                f"data and --temperature)")
        return (outputs.loss, outputs) if return_outputs else outputs.loss


def takes_passage_labels(objective) -> bool:
    """Whether ``objective`` can be called with ``passage_labels`` (every objective of the plugin's; a loss
    written to the upstream contract need not)."""
    return "passage_labels" in inspect.signature(objective.forward).parameters


#: flags whose default comes from the base model (its mpcl_config.json) before the dataclass's own
MODEL_DEFAULTS = (*ENCODER_SETTINGS, "temperature")


class ModelDefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` as HfArgumentParser prints it (every flag's default), except the encoder settings and the
    score temperature: their dataclass defaults apply only when the base model records nothing
    (``arguments.resolve_encoder``), so printing "(default: cls)" or "(default: 1.0)" there would be wrong."""

    def _get_help_string(self, action):
        if action.dest in MODEL_DEFAULTS:
            text = action.help or ""
            fallback = ("0.01 for L2-normalised encoders, else %(default)s" if action.dest == "temperature"
                        else "%(default)s")
            return text if "base model" in text else (
                f"{text} (default: the base model's own, from its mpcl_config.json; else {fallback})")
        return super()._get_help_string(action)


class TrainRun:
    """``main(argv)``: the plugin's train command over one Tevatron version's classes. Hooks marked *adapter*
    must be overridden."""

    #: the parser's description (the adapter module's docstring)
    description: str = ""

    # --- adapter hooks ----------------------------------------------------------------------------------
    def argument_classes(self) -> tuple:
        """*adapter*: Tevatron's (ModelArguments, DataArguments, TrainingArguments) followed by the plugin's."""
        raise NotImplementedError

    def group_size(self, s: TrainSettings) -> int:
        """*adapter*: passages per query (1 positive + hard negatives)."""
        raise NotImplementedError

    def check(self, s: TrainSettings) -> Optional[str]:
        """An argument error this Tevatron version adds, or None."""
        return None

    def check_data(self, s: TrainSettings) -> None:
        """Raise ``io.InputError`` when the training data is missing or unusable, before any model loads."""

    def last_checkpoint(self, output_dir: str) -> Optional[str]:
        """The checkpoint to resume from (None: start afresh)."""
        return None

    def load_tokenizer(self, s: TrainSettings):
        """*adapter*"""
        raise NotImplementedError

    def build_model(self, s: TrainSettings, objective, encoder_config: EncoderConfig):
        """*adapter*"""
        raise NotImplementedError

    def word_embeddings(self, model) -> List:
        """*adapter*: the model's word-embedding modules (``--freeze_word_embeddings``)."""
        raise NotImplementedError

    def build_dataset(self, s: TrainSettings, tokenizer, uses_typos: bool):
        """*adapter*: the typo'd training dataset (``uses_typos``: whether items carry the variants)."""
        raise NotImplementedError

    def build_trainer(self, s: TrainSettings, model, dataset, tokenizer):
        """*adapter*"""
        raise NotImplementedError

    # --- the flow ---------------------------------------------------------------------------------------
    def parser(self) -> HfArgumentParser:
        classes = self.argument_classes()
        parser = one_line_errors(HfArgumentParser((*classes, *driver_arguments(classes[2])), prog=PROG,
                                                  description=self.description))
        parser.formatter_class = ModelDefaultsHelpFormatter
        return parser

    def settings(self, parsed: tuple, given: Set[str]) -> TrainSettings:
        model_args, data_args, training_args, *plugin = parsed

        def find(cls):
            return next((a for a in plugin if isinstance(a, cls)), None)

        loss = find(LossArguments) or training_args  # Tevatron v2 with the upstream patch has its own --loss
        encoder = [a for a in (find(EncoderArguments), model_args, data_args, training_args)
                   if a is not None]
        positives = find(PositivesArguments)
        if positives is None:  # Tevatron v2 with the upstream patch series has its own --positives_per_query
            mask = find(MaskFalseNegativesArguments)
            positives = PositivesArguments(positives_per_query=getattr(data_args, "positives_per_query", 1),
                                           mask_false_negatives=mask.mask_false_negatives if mask else None)
        return TrainSettings(model_args, data_args, training_args, loss, find(ObjectiveArguments),
                             find(TypoArguments), positives, encoder, given, parsed)

    def main(self, argv: Optional[List[str]] = None) -> None:
        parser = self.parser()
        parsed, given = parse_arguments(parser, sys.argv[1:] if argv is None else argv)
        s = self.settings(parsed, given)
        encoder_args = next((a for a in s.encoder if isinstance(a, EncoderArguments)), None)
        problem = (non_finite_setting(*parsed) or s.typos.validate(s.loss.loss)
                   or s.positives.validate(self.group_size(s))
                   or (encoder_args.validate() if encoder_args else None) or self.check(s))
        if problem:
            parser.error(problem)
        set_seed(s.training.seed)  # an objective with parameters of its own initialises them reproducibly
        try:  # the objective and its hyperparameters (--loss_kwargs too) checked before anything is written
            objective = get_loss(s.loss.loss, **s.objective.hyperparameters(self.group_size(s), s.loss.loss,
                                                                             s.loss.loss_kwargs))
        except (InputError, TypeError, ValueError) as e:
            parser.error(f"--loss {s.loss.loss}: {e}" if not isinstance(e, InputError) else str(e))
        output_dir = s.training.output_dir
        if os.path.exists(output_dir) and not os.path.isdir(output_dir):
            parser.error(f"--output_dir {output_dir} is a file")
        check_model_path(s.model.model_name_or_path)
        # One writer per output folder: the first process of a (torchrun) job holds the lock for all of them.
        lock = output_lock(output_dir) if s.training.process_index == 0 else contextlib.nullcontext()
        with lock:
            self.train(parser, s, objective)

    def train(self, parser, s: TrainSettings, objective) -> None:
        training_args = s.training
        output_dir = training_args.output_dir
        resume = self.last_checkpoint(output_dir) if os.path.isdir(output_dir) else None
        ours = [e for e in os.listdir(output_dir) if e != LOCK_NAME] if os.path.isdir(output_dir) else []
        if ours and training_args.do_train and not overwrite_output_dir(s.parsed) and resume is None:
            parser.error(f"output directory {output_dir} is not empty; use --overwrite_output_dir")

        logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
                            level=logging.INFO if training_args.process_index == 0 else logging.WARN)
        set_seed(training_args.seed)
        # Under torchrun, reading .device sets up the process group that cross-device negatives need.
        logger.info("device %s, process %d of %d", training_args.device, training_args.process_index,
                    training_args.world_size)
        if training_args.bf16:
            resolve_precision("bf16", training_args.device.type)  # warns where bf16 is emulated (~10x slower)
        self.check_data(s)

        tokenizer = self.load_tokenizer(s)
        encoder_config = resolve_encoder(s.model.model_name_or_path, s.given, *s.encoder)
        logger.info("encoder: %s", encoder_config)
        logger.info("objective: %s; positives per query %d, false negatives %s", objective,
                    s.positives.positives_per_query, "masked" if s.positives.masking else "not masked")
        if s.positives.labelled and not takes_passage_labels(objective):
            raise InputError(f"--loss {s.loss.loss} takes no passage_labels, so it cannot train with "
                             f"--positives_per_query > 1 or --mask_false_negatives")
        model = self.build_model(s, objective, encoder_config)
        if s.typos.freeze_word_embeddings:
            for embeddings in self.word_embeddings(model):
                embeddings.weight.requires_grad_(False)

        # An objective that reads no variant gets none: encoding them would cost a third of a step for nothing
        # (the variants still serve --typo_augment_prob). A loss written to the upstream contract alone declares
        # nothing, and gets them whenever --typo_variants asks.
        dataset = self.build_dataset(s, tokenizer, uses_typos=getattr(objective, "uses_typos", True))
        # Tevatron's models view scores per query group; a ragged last batch would break that.
        training_args.dataloader_drop_last = True
        training_args.remove_unused_columns = False
        trainer = self.build_trainer(s, model, dataset, tokenizer)
        dataset.trainer = trainer  # the dataset regenerates the variants per epoch from the trainer's state
        trainer.train(resume_from_checkpoint=resume)
        trainer.save_model()
        if trainer.is_world_process_zero():
            tokenizer.save_pretrained(output_dir)
            stats = dataset.variants.generator.stats
            logger.info("typo'd variants: %d queries, %d unchanged (no eligible word), %d with fewer distinct "
                        "variants than K", stats.queries, stats.unchanged, stats.short)
