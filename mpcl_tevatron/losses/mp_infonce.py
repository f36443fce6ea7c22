from __future__ import annotations

import functools
from typing import Optional

import torch
from torch import Tensor

from .base import TypoObjective
from .functional import multi_positive_infonce, passage_retrieval_ce, variant_mask
from .registry import register_loss


@functools.lru_cache(maxsize=64)
def query_retrieval_mask(n_queries: int, k: int, device=None) -> Tensor:
    """[B, B + B*K] positives of each positive passage over the candidates [clean queries; typo'd queries]:
    its clean query (column i) and that query's K variants (columns B + i*K .. B + i*K + K - 1). Built once per
    shape and device; read-only."""
    clean = torch.eye(n_queries, dtype=torch.bool, device=device)
    return torch.cat([clean, variant_mask(n_queries, k, device=device)], dim=1)


def multi_positive_query_retrieval(q_reps: Tensor, positive_p_reps: Tensor, typo_q_reps: Tensor, k: int) -> Tensor:
    """The multi-positive query-retrieval task: each positive passage is the anchor; candidates are the
    batch's clean and typo'd queries; positives its clean query and that query's K variants."""
    candidates = torch.cat([q_reps, typo_q_reps], dim=0)  # [B + B*K, d]
    scores = positive_p_reps @ candidates.T
    return multi_positive_infonce(scores, query_retrieval_mask(q_reps.size(0), k, device=scores.device))


@register_loss("mp_infonce")
class MultiPositiveInfoNCE(TypoObjective):
    r"""Dual learning with multi-positive query retrieval, DR+DLM (Sidiropoulos & Kanoulas, "Improving the
    Robustness of Dense Retrievers Against Typos via Multi-Positive Contrastive Learning", ECIR 2024,
    arXiv 2403.10939):

    .. math::
        L = (1-\gamma)\, \mathrm{CE}(q \to p)
            + \gamma \cdot \frac{1}{B}\sum_i -\frac{1}{|P_i|} \sum_{s \in P_i}
              \log \frac{e^{p_i^+ \cdot s}}{e^{p_i^+ \cdot s} + \sum_{n \in N_i} e^{p_i^+ \cdot n}}

    where :math:`P_i` is query i's clean form and its K typo'd variants, and :math:`N_i` every other clean or
    typo'd query in the batch. See ``functional.multi_positive_infonce``.
    """

    uses_typos = True

    def __init__(self, n_passages: int = 8, gamma: float = 0.5):
        """``gamma``: weight of the query-retrieval task."""
        super().__init__(n_passages)
        self.gamma = self.check_weight("gamma", gamma)

    def forward(self, q_reps: Tensor, p_reps: Tensor, typo_q_reps: Optional[Tensor] = None) -> Tensor:
        k = self.check(q_reps, p_reps, typo_q_reps)
        qp = passage_retrieval_ce(q_reps, p_reps, self.n_passages)
        pq = multi_positive_query_retrieval(q_reps, self.positive_passages(p_reps), typo_q_reps, k)
        return (1 - self.gamma) * qp + self.gamma * pq
