from __future__ import annotations

from typing import Optional

from torch import Tensor

from .base import TypoObjective
from .functional import passage_retrieval
from .registry import register_loss


@register_loss("infonce")
class InfoNCE(TypoObjective):
    r"""Standard InfoNCE of dense passage retrieval, as Tevatron trains it (Karpukhin et al., EMNLP 2020, DPR;
    Gao et al., Tevatron, 2022):

    .. math:: L = -\frac{1}{B}\sum_i \log \frac{e^{q_i \cdot p_i^+}}{\sum_{p \in \text{batch}} e^{q_i \cdot p}}

    over in-batch and hard negatives. Typo'd variants are not used by the formula; with
    ``--typo_augment_prob p`` the dataset replaces each query by one of its variants with probability p
    (DR + augmentation, "DR+Aug" in the typo-robustness papers).

    With ``passage_labels`` (several positives per query, ``--positives_per_query``), the term is
    ``functional.multi_positive_infonce`` over each query's positives; without, the formula above.
    """

    def forward(self, q_reps: Tensor, p_reps: Tensor, typo_q_reps: Optional[Tensor] = None,
                passage_labels: Optional[Tensor] = None, passage_mask: Optional[Tensor] = None) -> Tensor:
        passage_labels = self.resolve_labels(passage_labels, passage_mask)
        self.check(q_reps, p_reps, None, passage_labels)
        return passage_retrieval(q_reps @ p_reps.T, self.n_passages, passage_labels)
