from __future__ import annotations

from .dst import DualSelfTeaching
from .mp_infonce import MultiPositiveInfoNCE
from .registry import register_loss


@register_loss("dst_mp")
class DualSelfTeachingMultiPositive(DualSelfTeaching):
    r"""DST whose query-retrieval cross-entropy is the multi-positive InfoNCE, DR+DLM+ST (Sidiropoulos &
    Kanoulas, ECIR 2024, arXiv 2403.10939; their best model):

    .. math::
        L = (1-\beta)\,[(1-\gamma)\,\mathrm{CE}(q \to p) + \gamma\,\mathrm{MP}(p^+ \to \{q, q'_1..q'_K\})]
            + \beta\,[(1-\sigma)\,\mathrm{KL}_{p} + \sigma\,\mathrm{KL}_{q}]

    MP is ``mp_infonce``'s query-retrieval term (the same function); the KL terms are ``dst``'s.
    """

    query_retrieval = MultiPositiveInfoNCE.query_retrieval
