"""The typo'd variants a training dataset hands out: K per query, regenerated every epoch.

Both Tevatron adapters' datasets use this one class, so a query gets the same variants under v1 and v2.
"""

from __future__ import annotations

import random
from typing import List, Optional, Tuple

from .generator import TYPO_TYPES, TypoGenerator, stable_seed


class TrainingVariants:
    """Exactly ``k`` typo'd variants of a training query for a given epoch, seeded by ``seed``, the epoch and
    the query text; and the DR+Aug replacement of the query itself with probability ``augment_prob``.

    Built from ``TypoArguments`` with ``TrainingVariants.from_args``. ``generator.stats`` counts queries with
    no eligible word (their variants are the query itself) and with fewer distinct variants than ``k``.
    ``for_objective``: whether the objective reads the variants; when not, items carry none (encoding them
    would be wasted) and the variants serve only DR+Aug.
    """

    def __init__(self, k: int, seed: int = 0, lang: str = "en", types=TYPO_TYPES, augment_prob: float = 0.0,
                 for_objective: bool = True):
        self.k, self.seed, self.augment_prob, self.for_objective = k, seed, augment_prob, for_objective
        self.generator = TypoGenerator(lang=lang, types=types)

    @classmethod
    def from_args(cls, typo_args, for_objective: bool = True) -> "TrainingVariants":
        return cls(typo_args.typo_variants, seed=typo_args.typo_seed, lang=typo_args.typo_lang,
                   types=typo_args.typo_types, augment_prob=typo_args.typo_augment_prob,
                   for_objective=for_objective)

    def for_item(self, query: str, index: int, trainer=None) -> Tuple[Optional[str], List[str]]:
        """What training item ``index`` (query text ``query``) carries in the trainer's current epoch: the DR+Aug
        replacement of the query, or None; and the variants the objective reads (none if it reads none)."""
        epoch = int(trainer.state.epoch) if trainer is not None else 0
        if self.k == 0 or (not self.for_objective and self.augment_prob <= 0):
            return None, []
        variants = self.variants(query, epoch)
        return self.augmented_query(index, variants, epoch), (variants if self.for_objective else [])

    def variants(self, query: str, epoch: int) -> List[str]:
        """Exactly K variants: the distinct ones the generator finds, cycled when fewer exist (a query with no
        eligible word gives K copies of itself)."""
        if self.k == 0:
            return []
        found = self.generator.variants(query, self.k, seed=stable_seed(self.seed, epoch)) or [query]
        return [found[i % len(found)] for i in range(self.k)]

    def augmented_query(self, index: int, variants: List[str], epoch: int) -> Optional[str]:
        """DR+Aug: with probability ``augment_prob`` (seeded by the item index and epoch), one of ``variants``
        to train on in place of the clean query; else None."""
        if self.augment_prob <= 0 or not variants:
            return None
        rng = random.Random(stable_seed("augment", self.seed, epoch, index))
        return rng.choice(variants) if rng.random() < self.augment_prob else None
