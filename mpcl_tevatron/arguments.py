"""The plugin's own command-line arguments, added next to Tevatron's by every adapter's train driver.

``LossArguments`` (``--loss``, ``--loss_kwargs``), ``ObjectiveArguments`` (the objectives' named
hyperparameters) and ``TypoArguments`` (typo'd variants) go to both Tevatron versions (v2 with the upstream patch
has its own ``--loss`` and ``--loss_kwargs``, which then serve).
``EncoderArguments`` (pooling, normalisation, prefixes) only to v1, which has no such flags; v2 has its own
(``--pooling``, ``--normalize``, ``--query_prefix``, ``--passage_prefix``), and ``resolve_encoder`` fills either
from the base model. ``DriverArguments`` only where transformers lacks ``--overwrite_output_dir``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import List, Optional, Set, Tuple

from .encoder_config import EncoderConfig
from .io import InputError, json_object
from .losses import available_losses
from .typos import TYPO_TYPES


@dataclass
class LossArguments:
    """``--loss`` and ``--loss_kwargs``; their own dataclass because Tevatron v2 with the upstream patch series
    has the same two flags (which then serve)."""

    loss: str = field(default="infonce", metadata={
        "help": "training objective, from the loss registry; registered: " + ", ".join(available_losses())
                + " (and any package's 'tevatron.losses' entry points)"})
    loss_kwargs: Optional[str] = field(default=None, metadata={
        "help": "JSON object of keyword arguments for the objective's constructor, as the patched Tevatron v2 "
                "reads them (e.g. '{\"gamma\": 0.3}'); a key the objective does not declare is an error"})


def parse_loss_kwargs(text: Optional[str]) -> dict:
    """``--loss_kwargs`` as a dict (empty when not given); anything but a JSON object is an ``InputError``."""
    return json_object(text, f"--loss_kwargs {text!r}") if text else {}


@dataclass
class ObjectiveArguments:
    """The plugin's named flags for the objectives' hyperparameters. Any may be given with any objective: each
    objective takes those its constructor declares (``losses.get_loss``)."""

    gamma: float = field(default=0.5, metadata={"help": "weight of the query-retrieval task (dual_infonce, "
                                                        "mp_infonce, dst, dst_mp)"})
    beta: float = field(default=0.5, metadata={"help": "weight of self-teaching (dst, dst_mp)"})
    sigma: float = field(default=0.2, metadata={"help": "weight of the query-side KL in self-teaching"})
    teacher_temperature: float = field(default=1.0, metadata={
        "help": "temperature of the self-teaching teacher (dst, dst_mp); --temperature scales the retrieval "
                "scores"})
    multi_positive_form: str = field(default="eq4", metadata={
        "help": "form of the multi-positive term (mp_infonce, dst_mp, typo_cl_mp): eq4 (the paper's: each "
                "positive against the negatives only), supcon_out (SupCon's L_out: every positive in every "
                "denominator), log_sum (L_in: the log of the positives' summed probability), sample_one (one "
                "positive drawn per step). The objective's 'form' in --loss_kwargs"})

    def hyperparameters(self, n_passages: int, loss: str, loss_kwargs: Optional[str] = None) -> dict:
        """``get_loss`` keyword arguments: the named flags, then ``--loss_kwargs`` over them (checked against
        what objective ``loss`` declares)."""
        from .losses.registry import unaccepted_kwargs

        extra = parse_loss_kwargs(loss_kwargs)
        problem = unaccepted_kwargs(loss, extra)
        if problem:
            raise InputError(problem)
        named = dict(gamma=self.gamma, beta=self.beta, sigma=self.sigma, temperature=self.teacher_temperature,
                     form=self.multi_positive_form)
        return {"n_passages": n_passages, **named, **extra}


@dataclass
class TypoArguments:
    typo_variants: int = field(default=0, metadata={
        "help": "typo'd variants per query (K); objectives that read variants need K >= 1"})
    typo_types: List[str] = field(default_factory=lambda: list(TYPO_TYPES), metadata={
        "help": "typo edit types: " + " ".join(TYPO_TYPES)})
    typo_seed: int = field(default=0, metadata={"help": "seed of the typo'd variants (regenerated per epoch)"})
    typo_lang: str = field(default="en", metadata={"help": "language of the training queries (ISO 639-1)"})
    typo_augment_prob: float = field(default=0.0, metadata={
        "help": "probability that a query is replaced by one of its typo'd variants (DR+Aug)"})
    freeze_word_embeddings: bool = field(default=False, metadata={
        "help": "keep the word-embedding table fixed: multilingual vocabularies (250k rows in e5) make it most of "
                "the model, and its optimizer update most of a CPU training step"})

    def validate(self, loss: str) -> Optional[str]:
        """An argument error message for training with ``--loss loss``, or None."""
        if loss not in available_losses():
            return f"unknown --loss {loss!r}; known losses: {', '.join(available_losses())}"
        if self.typo_variants < 0:
            return f"--typo_variants must be >= 0, got {self.typo_variants}"
        bad = [t for t in self.typo_types if t not in TYPO_TYPES]
        if bad:
            return f"unknown --typo_types {bad}; known: {' '.join(TYPO_TYPES)}"
        if not 0.0 <= self.typo_augment_prob <= 1.0:
            return f"--typo_augment_prob must be in [0, 1], got {self.typo_augment_prob}"
        from .losses import get_loss_class

        if getattr(get_loss_class(loss), "uses_typos", False) and self.typo_variants < 1:  # as TypoObjective's
            return f"--loss {loss} trains on typo'd variants: give --typo_variants >= 1"
        if self.typo_augment_prob > 0 and self.typo_variants < 1:
            return "--typo_augment_prob needs --typo_variants >= 1"
        return None


@dataclass
class MaskFalseNegativesArguments:
    """``--mask_false_negatives`` alone: what Tevatron v2 with the upstream patch series lacks (it has its own
    ``--positives_per_query``)."""

    mask_false_negatives: Optional[bool] = field(default=None, metadata={
        "nargs": "?", "const": True,  # the bare flag means on, as for transformers' own bool flags
        "help": "do not count an in-batch passage as query i's negative when its id (docid, else its text) is one "
                "of query i's positives (the bare flag, or true/false). Default: on with --positives_per_query "
                "> 1; off at 1, where training is Tevatron's InfoNCE bit for bit"})


@dataclass
class PositivesArguments(MaskFalseNegativesArguments):
    """Several relevant passages per query (``passages.py``), under every objective."""

    positives_per_query: int = field(default=1, metadata={
        "help": "positive passages in each query's training group (P; the group's other n - P passages are hard "
                "negatives), taken from its positive_passages in turn, epoch by epoch; the passage-retrieval "
                "term then has P positives (multi-positive InfoNCE). A query with fewer repeats them, and the "
                "repeats are masked. Default 1: Tevatron's single positive"})

    @property
    def masking(self) -> bool:
        return self.positives_per_query > 1 if self.mask_false_negatives is None else self.mask_false_negatives

    @property
    def labelled(self) -> bool:
        """Whether batches carry passage ids (``passages.PassageIds``) and the objective gets labels."""
        return self.positives_per_query > 1 or self.masking

    def validate(self, group_size: int) -> Optional[str]:
        if not 1 <= self.positives_per_query <= group_size:
            return (f"--positives_per_query must be between 1 and the group size ({group_size}), got "
                    f"{self.positives_per_query}")
        return None


@dataclass
class EncoderArguments:
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
    temperature: float = field(default=1.0, metadata={
        "help": "score temperature: every objective's retrieval logits are divided by it (Tevatron v2's "
                "--temperature). Default: the base model's recorded one, else 0.01 for L2-normalised encoders "
                "(e5's own), 1 for unnormalised ones"})

    def validate(self) -> Optional[str]:
        if self.pooling not in ("cls", "mean"):
            return f"--pooling must be cls or mean, got {self.pooling!r}"
        if self.temperature <= 0:
            return f"--temperature must be > 0, got {self.temperature}"
        return None


@dataclass
class DriverArguments:
    """``overwrite_output_dir``, which transformers 5 dropped from ``TrainingArguments`` while both Tevatron
    train drivers still read it; same meaning."""

    overwrite_output_dir: bool = field(default=False, metadata={
        "help": "train into an output directory that is not empty"})


def driver_arguments(training_arguments_class) -> tuple:
    """``(DriverArguments,)`` when the training arguments lack ``overwrite_output_dir`` (transformers 5), else
    ``()`` (transformers 4 has the flag; a second one would clash)."""
    names = {f.name for f in dataclasses.fields(training_arguments_class)}
    return () if "overwrite_output_dir" in names else (DriverArguments,)


def overwrite_output_dir(parsed) -> bool:
    """``--overwrite_output_dir`` from whichever parsed dataclass carries it."""
    return any(getattr(args, "overwrite_output_dir", False) for args in parsed)


ENCODER_SETTINGS = ("pooling", "normalize", "query_prefix", "passage_prefix")


def parse_arguments(parser, argv: List[str]) -> Tuple[tuple, Set[str]]:
    """Parse ``argv`` (flags, or one JSON file as Tevatron's drivers accept) with an ``HfArgumentParser``.
    Returns the dataclasses and the names of the settings given (flags present, or the JSON file's keys),
    which ``resolve_encoder`` lets win over the base model's settings."""
    if len(argv) == 1 and argv[0].endswith(".json"):
        with open(argv[0]) as f:
            given = set(json.load(f))
        return parser.parse_json_file(os.path.abspath(argv[0])), given
    return parser.parse_args_into_dataclasses(argv), {a.split("=", 1)[0][2:] for a in argv if a.startswith("--")}


def resolve_encoder(model_name_or_path: str, given: Set[str], *holders) -> EncoderConfig:
    """The encoder settings for training: a flag in ``given`` wins, the others come from the base model's own
    settings (``EncoderConfig.for_model``) and are written into whichever of ``holders`` (argument dataclasses)
    carries them, so the dataset's prefixes and the model's pooling follow.

    The score temperature (``temperature``, Tevatron v2's flag and the v1 adapter's) is resolved last: given,
    else the base model's recorded one, else the default for the resolved normalisation
    (``EncoderConfig.score_temperature``)."""
    base = EncoderConfig.for_model(model_name_or_path)
    values = {}
    for name in ENCODER_SETTINGS:
        holder = next(h for h in holders if hasattr(h, name))
        if name not in given:
            setattr(holder, name, getattr(base, name))
        values[name] = getattr(holder, name)
    holder = next(h for h in holders if hasattr(h, "temperature"))
    if "temperature" not in given:
        holder.temperature = EncoderConfig(**values, temperature=base.temperature).score_temperature
    return EncoderConfig(**values, temperature=holder.temperature)
