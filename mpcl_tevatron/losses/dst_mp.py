from __future__ import annotations

from .dst import DualSelfTeaching
from .functional import check_form
from .mp_infonce import MultiPositiveInfoNCE
from .registry import register_loss


@register_loss("dst_mp")
class DualSelfTeachingMultiPositive(DualSelfTeaching):
    r"""DST whose query-retrieval cross-entropy is the multi-positive InfoNCE, DR+DLM+ST (Sidiropoulos &
    Kanoulas, ECIR 2024, arXiv 2403.10939; their best model):

    .. math::
        L = (1-\beta)\,[(1-\gamma)\,\mathrm{CE}(q \to p) + \gamma\,\mathrm{MP}(p^+ \to \{q, q'_1..q'_K\})]
            + \beta\,[(1-\sigma)\,\mathrm{KL}_{p} + \sigma\,\mathrm{KL}_{q}]

    MP is ``mp_infonce``'s query-retrieval term (the same function, ``form`` included); the KL terms are
    ``dst``'s.
    """

    def __init__(self, n_passages: int = 8, gamma: float = 0.5, beta: float = 0.5, sigma: float = 0.2,
                 temperature: float = 1.0, form: str = "eq4"):
        """As ``dst``'s, and ``form``: the multi-positive loss of query retrieval (``mp_infonce``'s)."""
        super().__init__(n_passages, gamma, beta, sigma, temperature)
        self.form = check_form(form)

    query_retrieval = MultiPositiveInfoNCE.query_retrieval
