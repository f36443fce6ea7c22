from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import TypoObjective
from .functional import passage_retrieval
from .registry import register_loss


@register_loss("typo_cl")
class TypoContrastive(TypoObjective):
    r"""Dense retrieval + typo augmentation + contrastive alignment (Sidiropoulos & Kanoulas, "Analysing the
    Robustness of Dual Encoders for Dense Retrieval Against Misspellings", SIGIR 2022), unit weights:

    .. math::
        L = \mathrm{CE}(q \to p) + \mathrm{CE}(q' \to p) + \frac{1}{K}\sum_k \mathrm{CE}(q_i \to q'_{i,k})

    The typo'd queries retrieve their query's positive passage; the alignment term has a single positive:
    clean query i must retrieve its variant k among the batch's variant-k queries (for K = 1, among all the
    batch's typo'd queries, as in the paper).
    """

    uses_typos = True

    def forward(self, q_reps: Tensor, p_reps: Tensor, typo_q_reps: Optional[Tensor] = None,
                passage_labels: Optional[Tensor] = None, passage_mask: Optional[Tensor] = None) -> Tensor:
        passage_labels = self.resolve_labels(passage_labels, passage_mask)
        k = self.check(q_reps, p_reps, typo_q_reps, passage_labels)
        return (passage_retrieval(q_reps @ p_reps.T, self.n_passages, passage_labels)
                + passage_retrieval(typo_q_reps @ p_reps.T, self.n_passages, passage_labels, k=k)
                + self.alignment(q_reps, typo_q_reps, k))

    def alignment(self, q_reps: Tensor, typo_q_reps: Tensor, k: int) -> Tensor:
        b = q_reps.size(0)
        scores = (q_reps @ typo_q_reps.T).view(b, b, k)  # [i, i', k]: clean i vs variant k of query i'
        target = torch.arange(b, device=q_reps.device).unsqueeze(1).expand(b, k)
        return F.cross_entropy(scores, target)  # mean over (i, k)
