from __future__ import annotations

import functools
from typing import Optional

import torch
from torch import Tensor

from .dual_infonce import DualInfoNCE
from .functional import check_form, multi_positive_infonce, variant_mask
from .registry import register_loss


@functools.lru_cache(maxsize=64)
def query_retrieval_mask(n_queries: int, k: int, device=None) -> Tensor:
    """[B, B + B*K] positives of each positive passage over the candidates [clean queries; typo'd queries]:
    its clean query (column i) and that query's K variants (columns B + i*K .. B + i*K + K - 1). Built once per
    shape and device; read-only."""
    clean = torch.eye(n_queries, dtype=torch.bool, device=device)
    return torch.cat([clean, variant_mask(n_queries, k, device=device)], dim=1)


@register_loss("mp_infonce")
class MultiPositiveInfoNCE(DualInfoNCE):
    r"""Dual learning with multi-positive query retrieval, DR+DLM (Sidiropoulos & Kanoulas, "Improving the
    Robustness of Dense Retrievers Against Typos via Multi-Positive Contrastive Learning", ECIR 2024,
    arXiv 2403.10939):

    .. math::
        L = (1-\gamma)\, \mathrm{CE}(q \to p)
            + \gamma \cdot \frac{1}{B}\sum_i -\frac{1}{|P_i|} \sum_{s \in P_i}
              \log \frac{e^{p_i^+ \cdot s}}{e^{p_i^+ \cdot s} + \sum_{n \in N_i} e^{p_i^+ \cdot n}}

    where :math:`P_i` is query i's clean form and its K typo'd variants, and :math:`N_i` every other clean or
    typo'd query in the batch. See ``functional.multi_positive_infonce``. ``dst_mp`` uses the same
    ``query_retrieval``.

    ``form`` chooses the multi-positive loss: ``eq4`` (the formula above, the default), ``supcon_out``,
    ``log_sum`` or ``sample_one`` (``functional.MULTI_POSITIVE_FORMS``; ``--multi_positive_form``).
    """

    uses_typos = True

    def __init__(self, n_passages: int = 8, gamma: float = 0.5, form: str = "eq4"):
        """``gamma``: weight of the query-retrieval task; ``form``: its multi-positive loss."""
        super().__init__(n_passages, gamma)
        self.form = check_form(form)

    def query_retrieval(self, positive_q: Tensor, positive_tp: Optional[Tensor], k: int) -> Tensor:
        """The multi-positive task: positive passage i against the batch's clean and typo'd queries
        (``positive_q`` [B, B], ``positive_tp`` [B*K, B]), its clean query and that query's K variants the
        positives."""
        scores = torch.cat([positive_q, positive_tp.T], dim=1)  # [B, B + B*K]
        return multi_positive_infonce(scores, query_retrieval_mask(positive_q.size(0), k, device=scores.device),
                                      form=self.form)
