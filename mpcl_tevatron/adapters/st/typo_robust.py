from __future__ import annotations

import math
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence

import torch
import torch.distributed as dist
import torch.nn.functional as F
from sentence_transformers import util
from torch import Tensor, nn

from ...distributed import global_batch_loss
from ...losses import get_loss
from ...losses.registry import accepted_hyperparameters, get_loss_class, undeclared
from ...passages import REPEAT, GroupSlots, PassageIds, passage_id

CITATION = """
@inproceedings{sidiropoulos2024multipositive,
    title={Improving the Robustness of Dense Retrievers Against Typos via Multi-Positive Contrastive Learning},
    author={Georgios Sidiropoulos and Evangelos Kanoulas},
    booktitle={Advances in Information Retrieval (ECIR 2024)},
    year={2024},
    eprint={2403.10939},
    archivePrefix={arXiv}
}
"""


#: sentence-transformers' similarity functions this loss computes as dot products: what each one normalises
SIMILARITIES = {"cos_sim": "cosine", "dot_score": "dot"}

#: the feature key under which ``TypoDataCollator`` hands each column's name to the loss
COLUMN_NAME = "column_name"
#: a positive column's name: ``positive``, ``positive_2`` .. (``columns_from_tevatron``), or ``positive_1`` ..
POSITIVE_COLUMN = re.compile(r"positive(_\d+)?")


def positives_in(names: Sequence[Optional[str]], typo_variants: int, positives: Optional[int]) -> int:
    """P for a batch of ``len(names)`` columns: the anchor, P positives, m negatives, ``typo_variants`` typo'd
    anchors. ``names`` are the columns' names as ``TypoDataCollator`` gives them (``None`` where a collator gave
    none).

    Named columns decide: P is the number of columns named ``positive`` / ``positive_<j>``, which must follow the
    anchor, and a ``positives`` given must agree; with no column so named, the second column is the positive (P =
    ``positives`` or 1, sentence-transformers' positional convention). Unnamed columns are read by position and
    need ``positives``. Anything else is refused (``ValueError``), so that no positive trains as a negative.
    """
    n = len(names)
    group = n - 1 - typo_variants
    if group < max(positives or 1, 1):
        raise ValueError(f"{n} columns; expected the anchor, {positives or 'the'} positive(s), any negatives and "
                         f"{typo_variants} typo'd anchors")
    if any(name is None for name in names):
        if positives is None:
            raise ValueError("the batch's columns carry no names (TypoDataCollator gives them): give positives=P, "
                             "the positive columns after the anchor")
        return positives
    anchor = names[0]
    typos = [name for name in names if re.fullmatch(re.escape(anchor) + r"_typo_\d+", name)]
    if len(typos) != typo_variants or (typos and names[n - typo_variants:] != typos):
        raise ValueError(f"the loss reads typo_variants={typo_variants} typo'd anchors at the end of each row; the "
                         f"batch's columns are {names}: give the collator and the loss the same K")
    candidates = names[1: 1 + group]
    named = [j for j, name in enumerate(candidates) if POSITIVE_COLUMN.fullmatch(name)]
    if not named:
        return positives or 1
    if named != list(range(len(named))):
        raise ValueError(f"the positive columns must follow the anchor (anchor, positive.., negative..): got {names}")
    if positives is not None and positives != len(named):
        raise ValueError(f"positives={positives}, but the columns name {len(named)}: "
                         f"{', '.join(candidates[j] for j in named)}")
    return len(named)


class TypoRobustLoss(nn.Module):
    r"""A typo-robust objective of the plugin's registry as a sentence-transformers loss.

    Each anchor (query) comes with P positives, m hard negatives and K typo'd variants of itself; the
    objective (``mp_infonce`` by default: Sidiropoulos & Kanoulas, ECIR 2024, arXiv 2403.10939) is computed by
    ``mpcl_tevatron.losses`` on the batch's embeddings, every score being ``scale`` times the cosine (or the dot
    product). With P > 1 the passage-retrieval term is multi-positive: each positive competes with the
    negatives only (``functional.multi_positive_infonce``).

    Args:
        model: the ``SentenceTransformer`` to train.
        objective: a name in ``mpcl_tevatron.losses.available_losses()``: infonce, dual_infonce, mp_infonce,
            dst, dst_mp, typo_cl, typo_cl_mp, or one an installed package registers.
        typo_variants: K, the typo'd anchors at the end of each row (``TypoDataCollator`` appends them; give
            the collator the same K). 0 for objectives that read none.
        positives: P, the positive columns after the anchor (the columns after them, up to the typo'd ones,
            are negatives). Default: read from the column names, which ``TypoDataCollator`` hands over: the
            columns named ``positive``, ``positive_2`` .. (or ``positive_1`` ..); a value given must agree with
            them. Columns without names (another collator) need it.
        scale: the scores' multiplier, 1 / temperature (20 = sentence-transformers' default; e5 was trained at
            100).
        similarity_fct: ``sentence_transformers.util.cos_sim`` (default: the embeddings are L2-normalised first)
            or ``util.dot_score``, as ``MultipleNegativesRankingLoss`` takes it; the objectives score the dot
            products of the (normalised) embeddings, so another function is refused.
        mask_false_negatives: a candidate whose tokens equal one of the anchor's positives (a repeated positive
            in its own row, or the same text in another row) is neither its positive nor its negative. Default:
            on when P > 1; off at P = 1, where the passage-retrieval term is exactly
            ``MultipleNegativesRankingLoss``'s.
        gather_across_devices: under DDP, gather every column's embeddings (and the candidates' ids) from all
            processes first, so that the in-batch negatives and the typo'd-query terms span the global batch, as
            the Tevatron adapters do (``distributed.global_batch_loss``). Each process computes the global loss
            and back-propagates through its own embeddings; the loss is multiplied by the world size because DDP
            averages gradients, so the logged value is world size times the global batch's loss.
        **hyperparameters: the objective's own, and only those it declares (``gamma``, ``beta``, ``sigma``,
            ``form``, ``teacher_temperature`` of the self-teaching teacher); any other is refused, never recorded
            and ignored. The score temperature is ``1 / scale`` and has no other name here: ``temperature=`` is
            refused.

    Inputs:
        +--------------------------------------------------------------------+--------+
        | Texts                                                              | Labels |
        +====================================================================+========+
        | (anchor, positive, positive_2..P, negative_1..m, anchor_typo_1..K) | none   |
        +--------------------------------------------------------------------+--------+

    Rows with fewer than P positives repeat one (``columns_from_tevatron`` does); the repeats are masked, so
    each distinct positive counts once. ``CachedTypoRobustLoss`` is the same loss in mini-batches (GradCache).

    Example::

        from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
        from mpcl_tevatron.adapters.st import TypoDataCollator, TypoRobustLoss, columns_from_tevatron

        model = SentenceTransformer("intfloat/multilingual-e5-small")
        train = columns_from_tevatron(["train.jsonl"], positives=1, negatives=1)
        loss = TypoRobustLoss(model, "dst_mp", typo_variants=4)
        collator = TypoDataCollator(preprocess_fn=model.preprocess, typo_variants=4)
        SentenceTransformerTrainer(model=model, train_dataset=train, loss=loss, data_collator=collator).train()
    """

    def __init__(self, model: nn.Module, objective: str = "mp_infonce", typo_variants: int = 4,
                 positives: Optional[int] = None, scale: float = 20.0, similarity_fct=util.cos_sim,
                 mask_false_negatives: Optional[bool] = None, gather_across_devices: bool = False,
                 **hyperparameters):
        super().__init__()
        similarity = SIMILARITIES.get(getattr(similarity_fct, "__name__", None))
        if similarity is None:
            raise ValueError(f"similarity_fct must be sentence_transformers.util.cos_sim or util.dot_score, got "
                             f"{similarity_fct!r}")
        if (positives is not None and positives < 1) or typo_variants < 0 or not 0 < scale < math.inf:
            raise ValueError(f"need positives >= 1, typo_variants >= 0 and a finite scale > 0; got {positives}, "
                             f"{typo_variants}, {scale}")
        self.model, self.objective_name, self.typo_variants = model, objective, typo_variants
        #: P as given (``None``: from the column names)
        self.positives_given = positives
        #: P of the last batch (the value given until a batch is seen)
        self.positives = positives
        self.scale, self.similarity_fct, self.similarity = scale, similarity_fct, similarity
        self.mask_false_negatives_given = mask_false_negatives
        self.gather_across_devices = gather_across_devices
        if "temperature" in hyperparameters:
            raise ValueError(f"temperature={hyperparameters['temperature']}: the score temperature is 1 / scale "
                             f"(scale={1 / hyperparameters['temperature']:g} for it); the self-teaching teacher's "
                             f"is teacher_temperature")
        # the objective's own name for the teacher's temperature is ``temperature`` (``--teacher_temperature``)
        self._objective_kwargs = {("temperature" if k == "teacher_temperature" else k): v
                                  for k, v in hyperparameters.items()}
        cls = get_loss_class(objective)
        unknown = undeclared(cls, self._objective_kwargs)
        if unknown:  # named as the caller names them
            def named(key):
                return "teacher_temperature" if key == "temperature" else key
            accepted = sorted(named(k) for k in (accepted_hyperparameters(cls) or set()) - {"n_passages"})
            raise ValueError(f"{objective} takes no {', '.join(map(named, unknown))}; it accepts "
                             f"{', '.join(accepted) or 'none'}")
        self.hyperparameters = hyperparameters
        self._objectives: Dict[int, nn.Module] = {}  # one per group size (set by the number of columns)
        self.objective((positives or 1) + 1)  # an unknown name or hyperparameter fails here, not at the first step

    @property
    def mask_false_negatives(self) -> bool:
        """Whether false negatives are masked: as given, else on when P > 1 (P of the last batch)."""
        if self.mask_false_negatives_given is not None:
            return self.mask_false_negatives_given
        return (self.positives or 1) > 1

    def objective(self, group_size: int) -> nn.Module:
        """The registry's objective for groups of ``group_size`` candidates per anchor (built once per size)."""
        if group_size not in self._objectives:
            self._objectives[group_size] = get_loss(self.objective_name, n_passages=group_size,
                                                    **self._objective_kwargs)
        return self._objectives[group_size]

    def columns(self, sentence_features: Iterable[Dict[str, Tensor]]) -> List[Dict[str, Tensor]]:
        """The batch's columns as the model takes them (the collator's column names removed), after setting
        ``positives`` for this batch from their names (``positives_in``)."""
        features = [dict(f) for f in sentence_features]
        names = [f.get(COLUMN_NAME) for f in features]
        self.positives = positives_in(names, self.typo_variants, self.positives_given)
        return [{k: v for k, v in f.items() if not k.endswith(COLUMN_NAME)} for f in features]

    def forward(self, sentence_features: Iterable[Dict[str, Tensor]], labels: Optional[Tensor] = None) -> Tensor:
        """The objective on one batch: the columns' embeddings, the anchor's positives and masked candidates, the
        typo'd anchors."""
        features = self.columns(sentence_features)
        embeddings = [self.model(f)["sentence_embedding"] for f in features]
        return self.compute_loss_from_embeddings(embeddings, self.candidate_features(features))

    def candidate_features(self, features: List[Dict[str, Tensor]]) -> List[Dict[str, Tensor]]:
        """The candidates' columns (P positives and m negatives) of a batch's ``columns``."""
        return features[1: len(features) - self.typo_variants]

    def compute_loss_from_embeddings(self, embeddings: List[Tensor], candidate_features: List[Dict[str, Tensor]]
                                     ) -> Tensor:
        """The objective on the columns' embeddings (anchor, the P + m candidates, the K typo'd anchors);
        ``candidate_features``: the candidates' tokenized inputs, whose token ids identify them for masking."""
        if self.similarity == "cosine":
            embeddings = [F.normalize(e, dim=-1) for e in embeddings]
        group_size = len(candidate_features)
        anchor, b = embeddings[0], embeddings[0].size(0)
        candidates = torch.stack(embeddings[1: 1 + group_size], dim=1).reshape(b * group_size, -1)  # row-major
        typos = embeddings[1 + group_size:]
        typo_reps = torch.stack(typos, dim=1).reshape(b * len(typos), -1) if typos else None
        positives = self.positives or 1
        ids = None
        if positives > 1 or self.mask_false_negatives:
            ids = candidate_ids(candidate_features, positives, self.mask_false_negatives).to(anchor.device)
        gather = self.gather_across_devices and dist.is_available() and dist.is_initialized()
        return global_batch_loss(self.objective(group_size), anchor, candidates, typo_reps,
                                 temperature=1.0 / self.scale, gather=gather,
                                 world_size=dist.get_world_size() if gather else 1, passage_ids=ids)

    def get_config_dict(self) -> Dict[str, Any]:
        """The loss's settings and the objective's hyperparameters, as sentence-transformers records them; P and
        the masking as they were in the last batch."""
        return {"objective": self.objective_name, "typo_variants": self.typo_variants,
                "positives": self.positives, "scale": self.scale, "similarity_fct": self.similarity_fct.__name__,
                "mask_false_negatives": self.mask_false_negatives,
                "gather_across_devices": self.gather_across_devices, **self.hyperparameters}

    @property
    def temperature(self) -> float:
        return 1.0 / self.scale

    @property
    def citation(self) -> str:
        return CITATION


def _token_id(features: Dict[str, Tensor], row: int) -> int:
    """A candidate's id: ``passages.passage_id`` of its unpadded token ids (the same text, the same id)."""
    ids = features["input_ids"][row]
    if "attention_mask" in features:
        ids = ids[features["attention_mask"][row].bool()]
    return passage_id(ids.cpu().numpy().astype("int64").tobytes())


def candidate_ids(columns: List[Dict[str, Tensor]], positives: int, mask_false_negatives: bool) -> PassageIds:
    """``passages.PassageIds`` of a batch whose candidates are ``columns`` (positives first): each candidate's id
    is its token content, a positive equal to an earlier one of its row is a repeat."""
    groups = []
    for i in range(columns[0]["input_ids"].size(0)):
        row = [_token_id(c, i) for c in columns]
        groups.append(GroupSlots(positives=row[:positives], negatives=row[positives:],
                                 slot_ids=[REPEAT if row[j] in row[:j] else row[j] for j in range(positives)]
                                 + row[positives:],
                                 positive_ids=list(dict.fromkeys(row[:positives]))))
    return PassageIds.collate(groups, mask_false_negatives)
