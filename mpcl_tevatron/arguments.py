"""The plugin's own command-line arguments, added next to Tevatron's by every adapter's train driver."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from .encoder_config import EncoderConfig
from .losses import available_losses
from .typos import TYPO_TYPES


@dataclass
class TypoArguments:
    loss: str = field(default="infonce", metadata={
        "help": "training objective, from the loss registry; registered: " + ", ".join(available_losses())
                + " (and any package's 'tevatron.losses' entry points)"})
    typo_variants: int = field(default=0, metadata={
        "help": "typo'd variants per query (K); objectives that read variants need K >= 1"})
    typo_types: List[str] = field(default_factory=lambda: list(TYPO_TYPES), metadata={
        "help": "typo edit types: " + " ".join(TYPO_TYPES)})
    typo_seed: int = field(default=0, metadata={"help": "seed of the typo'd variants (regenerated per epoch)"})
    typo_lang: str = field(default="en", metadata={"help": "language of the training queries (ISO 639-1)"})
    typo_augment_prob: float = field(default=0.0, metadata={
        "help": "probability that a query is replaced by one of its typo'd variants (DR+Aug)"})
    gamma: float = field(default=0.5, metadata={"help": "weight of the query-retrieval task"})
    beta: float = field(default=0.5, metadata={"help": "weight of self-teaching (dst, dst_mp)"})
    sigma: float = field(default=0.2, metadata={"help": "weight of the query-side KL in self-teaching"})
    temperature: float = field(default=1.0, metadata={"help": "temperature of the self-teaching teacher"})
    freeze_word_embeddings: bool = field(default=False, metadata={
        "help": "keep the word-embedding table fixed: multilingual vocabularies (250k rows in e5) make it most of "
                "the model, and its optimizer update most of a CPU training step"})
    # The four encoder settings default to the base model's own (its mpcl_config.json, sentence-transformers
    # modules, or a known hub name's); a flag given on the command line overrides (see resolve_encoder). The
    # field defaults below are Tevatron's, for a model that records nothing. All are saved with the model.
    pooling: str = field(default="cls", metadata={
        "help": "cls (Tevatron v1's own) or mean (default: the base model's own, else cls)"})
    normalize: bool = field(default=False, metadata={
        "help": "L2-normalise representations (default: the base model's own, else no)"})
    query_prefix: str = field(default="", metadata={
        "help": "text put before every query (default: the base model's own, e.g. e5's 'query: ', else none)"})
    passage_prefix: str = field(default="", metadata={
        "help": "text put before every passage (default: the base model's own, e.g. e5's 'passage: ')"})

    def validate(self) -> Optional[str]:
        """An argument error message, or None."""
        if self.loss not in available_losses():
            return f"unknown --loss {self.loss!r}; known losses: {', '.join(available_losses())}"
        if self.typo_variants < 0:
            return f"--typo_variants must be >= 0, got {self.typo_variants}"
        bad = [t for t in self.typo_types if t not in TYPO_TYPES]
        if bad:
            return f"unknown --typo_types {bad}; known: {' '.join(TYPO_TYPES)}"
        if not 0.0 <= self.typo_augment_prob <= 1.0:
            return f"--typo_augment_prob must be in [0, 1], got {self.typo_augment_prob}"
        if self.pooling not in ("cls", "mean"):
            return f"--pooling must be cls or mean, got {self.pooling!r}"
        from .losses import get_loss_class

        if getattr(get_loss_class(self.loss), "uses_typos", False) and self.typo_variants < 1:
            return f"--loss {self.loss} trains on typo'd variants: give --typo_variants >= 1"
        if self.typo_augment_prob > 0 and self.typo_variants < 1:
            return "--typo_augment_prob needs --typo_variants >= 1"
        return None

    def resolve_encoder(self, model_name_or_path: str, argv: List[str]) -> EncoderConfig:
        """The encoder settings: a flag present in ``argv`` wins, the others come from the base model's own
        settings (written into these arguments, so the dataset's prefixes follow)."""
        given = {a.split("=", 1)[0][2:] for a in argv if a.startswith("--")}
        base = EncoderConfig.for_model(model_name_or_path)
        for name in ("pooling", "normalize", "query_prefix", "passage_prefix"):
            if name not in given:
                setattr(self, name, getattr(base, name))
        return EncoderConfig(pooling=self.pooling, normalize=self.normalize, query_prefix=self.query_prefix,
                             passage_prefix=self.passage_prefix)

    def loss_hyperparameters(self, n_passages: int) -> dict:
        return dict(n_passages=n_passages, gamma=self.gamma, beta=self.beta, sigma=self.sigma,
                    temperature=self.temperature)
