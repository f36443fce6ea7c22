from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ...typos.generator import TYPO_TYPES
from ...typos.training import TrainingVariants
from .typo_robust import COLUMN_NAME

from sentence_transformers.sentence_transformer.data_collator import SentenceTransformerDataCollator
from transformers import TrainerCallback


@dataclass
class TypoDataCollator(SentenceTransformerDataCollator):
    """sentence-transformers' data collator that first appends K typo'd variants of each row's anchor (the first
    text column, or ``anchor_column``) as columns ``<anchor>_typo_1`` .. ``<anchor>_typo_K``, then tokenizes every
    column as usual. The typo'd columns take the anchor's prompt.

    The variants are the plugin's (``typos.TrainingVariants``, the Tevatron adapters' own): exactly K per text,
    seeded by ``typo_seed``, the text and ``epoch``, in ``typo_lang``'s keyboard and script. A collator does not
    see the trainer's epoch: give the trainer ``TypoEpochCallback(collator)`` and a text gets new variants every
    epoch, as in the Tevatron adapters (without it, epoch 0's every epoch).

    Build it with the model's preprocessing function, ``TypoDataCollator(preprocess_fn=model.preprocess,
    typo_variants=4)``, and give ``TypoRobustLoss`` the same K.

    It also hands each column's name to the loss (the key ``<column>_column_name``, which the trainer passes on
    as the column's ``column_name``): sentence-transformers gives a loss its columns by position only, and
    ``TypoRobustLoss`` reads P from the names (``positive``, ``positive_2`` ..), so that a second positive
    column never trains as a negative. With ``typo_variants=0`` it is sentence-transformers' collator plus the
    names.
    """

    typo_variants: int = 4
    typo_seed: int = 0
    typo_lang: str = "en"
    typo_types: List[str] = field(default_factory=lambda: list(TYPO_TYPES))
    anchor_column: Optional[str] = None
    #: the epoch the variants are drawn for; ``TypoEpochCallback`` sets it as each epoch begins
    epoch: int = 0

    def __post_init__(self):
        if self.typo_variants < 0:
            raise ValueError(f"typo_variants must be >= 0, got {self.typo_variants}")
        self._variants = TrainingVariants(self.typo_variants, seed=self.typo_seed, lang=self.typo_lang,
                                          types=self.typo_types)

    def anchor(self, row: Dict[str, Any]) -> str:
        """The column whose text gets typo'd variants: ``anchor_column`` when given, else the row's first text
        column."""
        if self.anchor_column is not None:
            return self.anchor_column
        return next(c for c in row if c not in ("dataset_name", *self.valid_label_columns))

    def __call__(self, features: List[Dict[str, Any]]) -> Dict[str, Any]:
        if features and self.typo_variants:
            anchor = self.anchor(features[0])
            features = [dict(row, **{f"{anchor}_typo_{j + 1}": v for j, v in
                                     enumerate(self._variants.variants(row[anchor], epoch=self.epoch))})
                        for row in features]
        batch = super().__call__(features)
        if features:
            for column in features[0]:
                if column != "dataset_name" and column not in self.valid_label_columns:
                    batch[f"{column}_{COLUMN_NAME}"] = column
        return batch

    def _get_prompt_for_column(self, prompts, column_name: str):
        if isinstance(prompts, dict) and "_typo_" in column_name:
            column_name = column_name.rsplit("_typo_", 1)[0]
        return super()._get_prompt_for_column(prompts, column_name)


class TypoEpochCallback(TrainerCallback):
    """Hands the trainer's epoch to a ``TypoDataCollator`` as each epoch begins, so that each epoch draws new
    variants: ``SentenceTransformerTrainer(..., data_collator=collator, callbacks=[TypoEpochCallback(collator)])``.
    Dataloader workers (``dataloader_num_workers > 0``) are made when an epoch's iteration starts, after this
    callback, and copy the collator then; with ``dataloader_persistent_workers`` they keep the first epoch's.

    It also warns when training ends at step 0: sentence-transformers' ``no_duplicates`` batch sampler drops
    every batch that would hold one text twice, and multi-positive rows, whose positives and negatives are
    often sentences of one paragraph, can leave it no batch at all; the trainer then "finishes" silently."""

    def __init__(self, collator: TypoDataCollator):
        self.collator = collator

    def on_epoch_begin(self, args, state, control, **kwargs):
        """Hand the trainer's epoch to the collator, so that each epoch draws new variants."""
        self.collator.epoch = int(state.epoch or 0)

    def on_train_end(self, args, state, control, **kwargs):
        """Warn when training ended without a step (the batch sampler yielded no batch)."""
        if state.global_step == 0:
            warnings.warn("training ended at step 0: the batch sampler yielded no batch. With "
                          "batch_sampler=BatchSamplers.NO_DUPLICATES, rows that share texts (multi-positive rows "
                          "often do) can leave no batch without a repeated text; use BatchSamplers.BATCH_SAMPLER "
                          "or a smaller batch", RuntimeWarning, stacklevel=2)
