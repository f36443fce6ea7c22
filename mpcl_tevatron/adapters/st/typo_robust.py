from __future__ import annotations

import math

from typing import Any, Dict, Iterable, List, Optional

import torch
import torch.nn.functional as F
from sentence_transformers import util
from torch import Tensor, nn

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
            are negatives).
        scale: the scores' multiplier, 1 / temperature (20 = sentence-transformers' default; e5 was trained at
            100).
        similarity_fct: ``sentence_transformers.util.cos_sim`` (default: the embeddings are L2-normalised first)
            or ``util.dot_score``, as ``MultipleNegativesRankingLoss`` takes it; the objectives score the dot
            products of the (normalised) embeddings, so another function is refused.
        mask_false_negatives: a candidate whose tokens equal one of the anchor's positives (a repeated positive
            in its own row, or the same text in another row) is neither its positive nor its negative. Default:
            on when P > 1; off at P = 1, where the passage-retrieval term is exactly
            ``MultipleNegativesRankingLoss``'s.
        **hyperparameters: the objective's own, and only those it declares (``gamma``, ``beta``, ``sigma``,
            ``form``, ``teacher_temperature`` of the self-teaching teacher); any other is refused, never recorded
            and ignored. The score temperature is ``1 / scale`` and has no other name here: ``temperature=`` is
            refused.

    Inputs:
        +-----------------------------------------------------------------+--------+
        | Texts                                                           | Labels |
        +=================================================================+========+
        | (anchor, positive_1..P, negative_1..m, anchor_typo_1..K) tuples | none   |
        +-----------------------------------------------------------------+--------+

    Rows with fewer than P positives repeat one (``columns_from_tevatron`` does); the repeats are masked, so
    each distinct positive counts once. Not gathered across devices.

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
                 positives: int = 1, scale: float = 20.0, similarity_fct=util.cos_sim,
                 mask_false_negatives: Optional[bool] = None, **hyperparameters):
        super().__init__()
        similarity = SIMILARITIES.get(getattr(similarity_fct, "__name__", None))
        if similarity is None:
            raise ValueError(f"similarity_fct must be sentence_transformers.util.cos_sim or util.dot_score, got "
                             f"{similarity_fct!r}")
        if positives < 1 or typo_variants < 0 or not 0 < scale < math.inf:
            raise ValueError(f"need positives >= 1, typo_variants >= 0 and a finite scale > 0; got {positives}, "
                             f"{typo_variants}, {scale}")
        self.model, self.objective_name, self.typo_variants, self.positives = model, objective, typo_variants, \
            positives
        self.scale, self.similarity_fct, self.similarity = scale, similarity_fct, similarity
        self.mask_false_negatives = positives > 1 if mask_false_negatives is None else mask_false_negatives
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
        self.objective(positives + 1)  # an unknown name or hyperparameter fails here, not at the first step

    def objective(self, group_size: int) -> nn.Module:
        """The registry's objective for groups of ``group_size`` candidates per anchor (built once per size)."""
        if group_size not in self._objectives:
            self._objectives[group_size] = get_loss(self.objective_name, n_passages=group_size,
                                                    **self._objective_kwargs)
        return self._objectives[group_size]

    def forward(self, sentence_features: Iterable[Dict[str, Tensor]], labels: Optional[Tensor] = None) -> Tensor:
        """The objective on one batch: the columns' embeddings, the anchor's positives and masked candidates, the
        typo'd anchors."""
        features = list(sentence_features)
        group_size = len(features) - 1 - self.typo_variants
        if group_size < self.positives:
            raise ValueError(f"{type(self).__name__}: {len(features)} columns; expected the anchor, "
                             f"{self.positives} positive(s), any negatives and {self.typo_variants} typo'd anchors")
        embeddings = [self.model(f)["sentence_embedding"] for f in features]
        return self.compute_loss_from_embeddings(embeddings, features[1: 1 + group_size])

    def compute_loss_from_embeddings(self, embeddings: List[Tensor], candidate_features: List[Dict[str, Tensor]]
                                     ) -> Tensor:
        """The objective on the columns' embeddings (anchor, the P + m candidates, the K typo'd anchors);
        ``candidate_features``: the candidates' tokenized inputs, whose token ids identify them for masking."""
        if self.similarity == "cosine":
            embeddings = [F.normalize(e, dim=-1) for e in embeddings]
        embeddings = [e * self.scale ** 0.5 for e in embeddings]  # every dot product times the scale
        group_size = len(candidate_features)
        anchor, b = embeddings[0], embeddings[0].size(0)
        candidates = torch.stack(embeddings[1: 1 + group_size], dim=1).reshape(b * group_size, -1)  # row-major
        typos = embeddings[1 + group_size:]
        typo_reps = torch.stack(typos, dim=1).reshape(b * len(typos), -1) if typos else None
        objective = self.objective(group_size)
        if self.positives == 1 and not self.mask_false_negatives:
            return objective(anchor, candidates, typo_reps)
        ids = candidate_ids(candidate_features, self.positives, self.mask_false_negatives)
        return objective(anchor, candidates, typo_reps, passage_labels=ids.to(anchor.device).labels())

    def get_config_dict(self) -> Dict[str, Any]:
        """The loss's settings and the objective's hyperparameters, as sentence-transformers records them."""
        return {"objective": self.objective_name, "typo_variants": self.typo_variants,
                "positives": self.positives, "scale": self.scale, "similarity_fct": self.similarity_fct.__name__,
                "mask_false_negatives": self.mask_false_negatives, **self.hyperparameters}

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
