from __future__ import annotations

from torch import Tensor

from .functional import check_form, multi_positive_infonce, variant_mask
from .registry import register_loss
from .typo_cl import TypoContrastive


@register_loss("typo_cl_mp")
class TypoContrastiveMultiPositive(TypoContrastive):
    r"""``typo_cl`` whose alignment term treats all K variants of a query as positives at once (Sidiropoulos &
    Kanoulas, ECIR 2024, arXiv 2403.10939):

    .. math::
        L = \mathrm{CE}(q \to p) + \mathrm{CE}(q' \to p)
            + \mathrm{MP}(q_i \to \{q'_{i,1} .. q'_{i,K}\} \text{ among all } B \cdot K \text{ typo'd queries})

    MP is ``functional.multi_positive_infonce`` in its ``form`` (``eq4`` by default); for K = 1 every form
    equals ``typo_cl``.
    """

    def __init__(self, n_passages: int = 8, form: str = "eq4"):
        """``form``: the alignment term's multi-positive loss (``functional.MULTI_POSITIVE_FORMS``)."""
        super().__init__(n_passages)
        self.form = check_form(form)

    def alignment(self, q_reps: Tensor, typo_q_reps: Tensor, k: int) -> Tensor:
        scores = q_reps @ typo_q_reps.T  # [B, B*K]
        return multi_positive_infonce(scores, variant_mask(q_reps.size(0), k, device=scores.device), form=self.form)
