from __future__ import annotations

import torch
from torch import Tensor

from .dst import DualSelfTeaching
from .functional import multi_positive_infonce
from .mp_infonce import query_retrieval_mask
from .registry import register_loss


@register_loss("dst_mp")
class DualSelfTeachingMultiPositive(DualSelfTeaching):
    r"""DST whose query-retrieval cross-entropy is the multi-positive InfoNCE, DR+DLM+ST (Sidiropoulos &
    Kanoulas, ECIR 2024, arXiv 2403.10939; their best model):

    .. math::
        L = (1-\beta)\,[(1-\gamma)\,\mathrm{CE}(q \to p) + \gamma\,\mathrm{MP}(p^+ \to \{q, q'_1..q'_K\})]
            + \beta\,[(1-\sigma)\,\mathrm{KL}_{p} + \sigma\,\mathrm{KL}_{q}]

    MP is ``mp_infonce``'s query-retrieval term; the KL terms are ``dst``'s.
    """

    def query_retrieval(self, qp: Tensor, tp: Tensor, k: int) -> Tensor:
        """Each positive passage against the batch's clean and typo'd queries (its columns of ``qp`` and
        ``tp``, transposed), its clean query and that query's K variants the positives."""
        n = self.n_passages
        scores = torch.cat([qp[:, ::n].T, tp[:, ::n].T], dim=1)  # [B, B + B*K]
        return multi_positive_infonce(scores, query_retrieval_mask(qp.size(0), k, device=scores.device))
