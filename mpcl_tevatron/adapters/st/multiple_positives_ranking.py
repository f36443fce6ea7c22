from __future__ import annotations

from typing import Any, Dict, Optional

from sentence_transformers import util
from torch import nn

from .typo_robust import TypoRobustLoss


class MultiplePositivesRankingLoss(TypoRobustLoss):
    r"""``MultipleNegativesRankingLoss`` with several positives per anchor (multi-positive InfoNCE,
    Sidiropoulos & Kanoulas, ECIR 2024, arXiv 2403.10939, eq. 4):

    .. math::
        \ell_i = -\frac{1}{|P_i|} \sum_{p \in P_i} \log \frac{e^{s(a_i, p)}}{e^{s(a_i, p)} + \sum_{n \in N_i}
        e^{s(a_i, n)}}

    where :math:`s` is ``scale`` times the cosine, :math:`P_i` the anchor's positives and :math:`N_i` every
    other candidate in the batch (its own hard negatives and the other rows' positives and negatives). Each
    positive competes with the negatives only, never with the anchor's other positives, so listing two
    relevant passages does not make them push each other away (as splitting them into two rows would).

    Args:
        model: the ``SentenceTransformer`` to train.
        positives: P, the positive columns after the anchor; the columns after them are hard negatives.
            Default: read from the column names that ``TypoDataCollator(typo_variants=0)`` hands over
            (``positive``, ``positive_2`` ..); another collator's unnamed columns need it.
        scale: the scores' multiplier, 1 / temperature (20 = ``MultipleNegativesRankingLoss``'s default).
        similarity_fct: ``util.cos_sim`` (default) or ``util.dot_score``, as ``MultipleNegativesRankingLoss``.
        mask_false_negatives: a candidate whose tokens equal one of the anchor's positives is not counted as
            its negative (the same passage in another row, a repeated positive). Default: on when P > 1; off at
            P = 1, where this is ``MultipleNegativesRankingLoss``.
        gather_across_devices: under DDP, the in-batch negatives span every process's batch (as
            ``TypoRobustLoss``).

    Inputs:
        +------------------------------------------------------+--------+
        | Texts                                                | Labels |
        +======================================================+========+
        | (anchor, positive, positive_2..P) tuples             | none   |
        +------------------------------------------------------+--------+
        | (anchor, positive, positive_2..P, negative_1..m)     | none   |
        +------------------------------------------------------+--------+

    A row with fewer relevant passages than P repeats one of them (``columns_from_tevatron`` does); repeats
    are masked. ``TypoRobustLoss`` adds typo'd anchors and the other objectives.
    """

    def __init__(self, model: nn.Module, positives: Optional[int] = None, scale: float = 20.0,
                 similarity_fct=util.cos_sim, mask_false_negatives: Optional[bool] = None,
                 gather_across_devices: bool = False):
        super().__init__(model, "infonce", typo_variants=0, positives=positives, scale=scale,
                         similarity_fct=similarity_fct, mask_false_negatives=mask_false_negatives,
                         gather_across_devices=gather_across_devices)

    def get_config_dict(self) -> Dict[str, Any]:
        """The loss's settings, as sentence-transformers records them in a model card (P and the masking as in the
        last batch)."""
        config = super().get_config_dict()  # without the objective (always infonce) and the K (always 0)
        return {key: config[key] for key in ("positives", "scale", "similarity_fct", "mask_false_negatives",
                                             "gather_across_devices")}
