from __future__ import annotations

from typing import Optional

import torch.nn.functional as F
from torch import Tensor

from .base import TypoObjective
from .functional import passage_retrieval, strided_targets
from .registry import register_loss


@register_loss("dual_infonce")
class DualInfoNCE(TypoObjective):
    r"""Dual learning, DR+DL (Tasawong et al., "Typo-Robust Representation Learning for Dense Retrieval",
    ACL 2023, arXiv 2306.10348, eq. 3): passage retrieval plus query retrieval, where each positive passage
    must retrieve its clean query among the batch's clean queries (single positive):

    .. math::
        L = (1-\gamma)\, \mathrm{CE}(q \to p) + \gamma\, \mathrm{CE}(p^+ \to q)

    Typo'd variants are not used. The dual-learning objectives that follow (``mp_infonce``, ``dst``,
    ``dst_mp``) subclass this one and change only ``query_retrieval`` (or add a term): the passage-retrieval
    scores are computed once, and the positive passages' scores against the clean queries are their columns.
    """

    def __init__(self, n_passages: int = 8, gamma: float = 0.5):
        """``gamma``: weight of the query-retrieval task."""
        super().__init__(n_passages)
        self.gamma = self.check_weight("gamma", gamma)

    def forward(self, q_reps: Tensor, p_reps: Tensor, typo_q_reps: Optional[Tensor] = None,
                passage_labels: Optional[Tensor] = None, passage_mask: Optional[Tensor] = None) -> Tensor:
        passage_labels = self.resolve_labels(passage_labels, passage_mask)
        k = self.check(q_reps, p_reps, typo_q_reps if self.uses_typos else None, passage_labels)
        qp = q_reps @ p_reps.T  # [B, B*n]
        # the typo'd queries against the positive passages only: all that query retrieval reads of them
        positive_tp = typo_q_reps @ self.positive_passages(p_reps).T if k else None  # [B*K, B]
        return self.dual_learning(qp, positive_tp, k, passage_labels)

    def dual_learning(self, qp: Tensor, positive_tp: Optional[Tensor], k: int,
                      passage_labels: Optional[Tensor] = None) -> Tensor:
        """:math:`(1-\\gamma)\\,\\mathrm{CE}(q \\to p) + \\gamma\\,` query retrieval, from the scores of the
        clean queries against every passage (``qp`` [B, B*n]) and of the typo'd queries against the positive
        passages (``positive_tp`` [B*K, B], row ``i*K + j`` variant j of query i; None when K = 0). With
        ``passage_labels`` the passage-retrieval term has several positives per query; query retrieval is
        anchored on row 0 of each group (the query's first positive) either way."""
        return ((1 - self.gamma) * passage_retrieval(qp, self.n_passages, passage_labels)
                + self.gamma * self.query_retrieval(qp[:, :: self.n_passages].T, positive_tp, k))

    def query_retrieval(self, positive_q: Tensor, positive_tp: Optional[Tensor], k: int) -> Tensor:
        """Single positive: positive passage i retrieves clean query i among the batch's clean queries
        (``positive_q`` [B passages, B queries])."""
        return F.cross_entropy(positive_q, strided_targets(positive_q.size(0), device=positive_q.device))
