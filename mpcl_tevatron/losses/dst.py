from __future__ import annotations

from typing import Optional

from torch import Tensor

from .dual_infonce import DualInfoNCE
from .functional import self_teaching_kl
from .registry import register_loss


@register_loss("dst")
class DualSelfTeaching(DualInfoNCE):
    r"""Dual self-teaching, DR+DL+ST (Tasawong et al., "Typo-Robust Representation Learning for Dense
    Retrieval", ACL 2023, arXiv 2306.10348, eqs. 3-6):

    .. math::
        L = (1-\beta)\,[(1-\gamma)\,\mathrm{CE}(q \to p) + \gamma\,\mathrm{CE}(p^+ \to q)]
            + \beta\,[(1-\sigma)\,\mathrm{KL}_{p} + \sigma\,\mathrm{KL}_{q}]

    :math:`\mathrm{KL}_p = \frac{1}{K}\sum_k \mathrm{KL}(\mathrm{softmax}(S_{qp}/\tau) \,\|\,
    \mathrm{softmax}(S_{q'_k p}))`: each typo'd query's distribution over the batch's passages is pulled toward
    its clean query's. :math:`\mathrm{KL}_q` does the same passage-side: every passage's distribution over the
    batch's variant-k queries toward its distribution over the clean queries. Teachers are detached and
    divided by the temperature :math:`\tau`; KL is averaged over rows ("batchmean"). The bracketed
    dual-learning term is ``dual_infonce``'s.
    """

    uses_typos = True

    def __init__(self, n_passages: int = 8, gamma: float = 0.5, beta: float = 0.5, sigma: float = 0.2,
                 temperature: float = 1.0):
        """``gamma``: weight of query retrieval; ``beta``: of self-teaching; ``sigma``: of the query-side KL
        within it; ``temperature``: the self-teaching teacher's (``--teacher_temperature``)."""
        super().__init__(n_passages, gamma)
        self.beta = self.check_weight("beta", beta)
        self.sigma = self.check_weight("sigma", sigma)
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature

    def forward(self, q_reps: Tensor, p_reps: Tensor, typo_q_reps: Optional[Tensor] = None,
                passage_labels: Optional[Tensor] = None, passage_mask: Optional[Tensor] = None) -> Tensor:
        passage_labels = self.resolve_labels(passage_labels, passage_mask)
        k = self.check(q_reps, p_reps, typo_q_reps, passage_labels)
        # Two score matrices serve every term: the clean and the typo'd queries against the batch's passages.
        # Passage-to-query scores are their transposes, so no product is taken twice.
        qp = q_reps @ p_reps.T  # [B, B*n]
        tp = typo_q_reps @ p_reps.T  # [B*K, B*n], row i*K + j: variant j of query i
        dual = self.dual_learning(qp, tp[:, :: self.n_passages], k, passage_labels)
        return (1 - self.beta) * dual + self.beta * self.self_teaching(qp, tp, k)

    def self_teaching(self, qp: Tensor, tp: Tensor, k: int) -> Tensor:
        """Both KL terms over all K variants at once, on one layout, the teachers' softmax taken once (they
        broadcast over the variants): memory linear in K, one exponential pass per side."""
        b, n_p = qp.shape
        # [B, K, B*n], entry (i, j, r) = variant j of query i against passage r
        student = tp.view(b, k, n_p)
        teacher = qp.unsqueeze(1)  # [B, 1, B*n]: clean query i against passage r, for every variant j
        kl_p = self_teaching_kl(student, teacher, self.temperature, dim=2)  # variant j of query i over passages
        kl_q = self_teaching_kl(student, teacher, self.temperature, dim=0)  # passage r over variant-j queries
        return (1 - self.sigma) * kl_p + self.sigma * kl_q
