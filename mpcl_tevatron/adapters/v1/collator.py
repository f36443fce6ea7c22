from __future__ import annotations

from dataclasses import dataclass

from tevatron.data import QPCollator

from ...passages import PassageIds


@dataclass
class TypoQPCollator(QPCollator):
    """Tevatron's ``QPCollator`` plus the typo'd queries and the passages' ids: returns ``(queries [B],
    passages [B*n], typo_queries [B*K] query-major or None when K = 0, passages.PassageIds or None when the
    items carry no group)``. ``mask_false_negatives``: the ids' flag (``--mask_false_negatives``).

    Pads to the batch's longest sequence rather than to ``max_len`` (Tevatron's choice): the same
    representations with masked padding, for a fraction of the compute on short texts.
    """

    mask_false_negatives: bool = False

    def _pad(self, features, max_length):
        return self.tokenizer.pad(features, padding="longest", max_length=max_length, return_tensors="pt")

    def __call__(self, features):
        queries = [f[0] for f in features]
        passages = [p for f in features for p in f[1]]
        typos = [t for f in features for t in f[2]]
        groups = [f[3] for f in features]
        return (self._pad(queries, self.max_q_len), self._pad(passages, self.max_p_len),
                self._pad(typos, self.max_q_len) if typos else None,
                PassageIds.collate(groups, self.mask_false_negatives) if groups[0] is not None else None)
