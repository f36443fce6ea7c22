from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import TypoObjective
from .functional import passage_retrieval_ce, self_teaching_kl
from .registry import register_loss


@register_loss("dst")
class DualSelfTeaching(TypoObjective):
    r"""Dual self-teaching, DR+DL+ST (Tasawong et al., "Typo-Robust Representation Learning for Dense
    Retrieval", ACL 2023, arXiv 2306.10348, eqs. 3-6):

    .. math::
        L = (1-\beta)\,[(1-\gamma)\,\mathrm{CE}(q \to p) + \gamma\,\mathrm{CE}(p^+ \to q)]
            + \beta\,[(1-\sigma)\,\mathrm{KL}_{p} + \sigma\,\mathrm{KL}_{q}]

    :math:`\mathrm{KL}_p = \frac{1}{K}\sum_k \mathrm{KL}(\mathrm{softmax}(S_{qp}/\tau) \,\|\,
    \mathrm{softmax}(S_{q'_k p}))`: each typo'd query's distribution over the batch's passages is pulled toward
    its clean query's. :math:`\mathrm{KL}_q` does the same passage-side: every passage's distribution over the
    batch's variant-k queries toward its distribution over the clean queries. Teachers are detached and
    divided by the temperature :math:`\tau`; KL is averaged over rows ("batchmean").
    """

    uses_typos = True

    def __init__(self, n_passages: int = 8, gamma: float = 0.5, beta: float = 0.5, sigma: float = 0.2,
                 temperature: float = 1.0):
        """``gamma``: weight of query retrieval; ``beta``: of self-teaching; ``sigma``: of the query-side KL
        within it; ``temperature``: the self-teaching teacher's (``--teacher_temperature``)."""
        super().__init__(n_passages)
        self.gamma = self.check_weight("gamma", gamma)
        self.beta = self.check_weight("beta", beta)
        self.sigma = self.check_weight("sigma", sigma)
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature

    def forward(self, q_reps: Tensor, p_reps: Tensor, typo_q_reps: Optional[Tensor] = None) -> Tensor:
        k = self.check(q_reps, p_reps, typo_q_reps)
        ce = (1 - self.gamma) * passage_retrieval_ce(q_reps, p_reps, self.n_passages) \
            + self.gamma * self.query_retrieval(q_reps, p_reps, typo_q_reps, k)
        return (1 - self.beta) * ce + self.beta * self.self_teaching(q_reps, p_reps, typo_q_reps, k)

    def query_retrieval(self, q_reps: Tensor, p_reps: Tensor, typo_q_reps: Tensor, k: int) -> Tensor:
        """Single positive: each positive passage retrieves its clean query among the batch's clean queries."""
        scores = self.positive_passages(p_reps) @ q_reps.T
        return F.cross_entropy(scores, torch.arange(q_reps.size(0), device=q_reps.device))

    def self_teaching(self, q_reps: Tensor, p_reps: Tensor, typo_q_reps: Tensor, k: int) -> Tensor:
        b = q_reps.size(0)
        variants = typo_q_reps.view(b, k, -1)  # [B, K, d], query-major
        qp_teacher = q_reps @ p_reps.T  # [B, B*n]
        pq_teacher = p_reps @ q_reps.T  # [B*n, B]
        kl_p = kl_q = 0.0
        for j in range(k):
            t = variants[:, j]  # [B, d]: variant j of every query
            kl_p = kl_p + self_teaching_kl(t @ p_reps.T, qp_teacher, self.temperature) / k
            kl_q = kl_q + self_teaching_kl(p_reps @ t.T, pq_teacher, self.temperature) / k
        return (1 - self.sigma) * kl_p + self.sigma * kl_q
