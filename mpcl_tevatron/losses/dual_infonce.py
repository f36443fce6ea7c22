from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import TypoObjective
from .functional import passage_retrieval_ce
from .registry import register_loss


@register_loss("dual_infonce")
class DualInfoNCE(TypoObjective):
    r"""Dual learning, DR+DL (Tasawong et al., "Typo-Robust Representation Learning for Dense Retrieval",
    ACL 2023, arXiv 2306.10348, eq. 3): passage retrieval plus query retrieval, where each positive passage
    must retrieve its clean query among the batch's clean queries (single positive):

    .. math::
        L = (1-\gamma)\, \mathrm{CE}(q \to p) + \gamma\, \mathrm{CE}(p^+ \to q)

    Typo'd variants are not used.
    """

    def __init__(self, n_passages: int = 8, gamma: float = 0.5):
        """``gamma``: weight of the query-retrieval task."""
        super().__init__(n_passages)
        self.gamma = self.check_weight("gamma", gamma)

    def forward(self, q_reps: Tensor, p_reps: Tensor, typo_q_reps: Optional[Tensor] = None) -> Tensor:
        self.check(q_reps, p_reps, None)
        qp = passage_retrieval_ce(q_reps, p_reps, self.n_passages)
        pq_scores = self.positive_passages(p_reps) @ q_reps.T  # [B, B]
        pq = F.cross_entropy(pq_scores, torch.arange(q_reps.size(0), device=q_reps.device))
        return (1 - self.gamma) * qp + self.gamma * pq
