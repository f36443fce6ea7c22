"""Common base of the objectives: hyperparameters, input checks and the score matrices they share."""

from __future__ import annotations

from typing import Optional

from torch import Tensor, nn

from .. import passages  # the module, not its names: passages imports losses.functional in turn


class TypoObjective(nn.Module):
    """An objective called as ``loss(q_reps, p_reps, typo_q_reps, passage_labels=None)`` returning a scalar
    (or, as the upstream series' driver calls it, with ``passage_mask=`` in place of ``passage_labels``).

    The inputs are representations of the whole, possibly cross-device, batch.

    Args:
        q_reps: [B, d] clean queries.
        p_reps: [B * n_passages, d] passages, each query's group contiguous with its positive first
            (Tevatron's layout).
        typo_q_reps: [B * K, d] typo'd queries, query-major (row ``i*K + k`` is variant k of query i), or
            None for objectives that do not use them.
        passage_labels: [B, B * n_passages] int8, or None: which passages are each query's positives (1),
            negatives (0) or neither (-1), from ``passages.PassageIds.labels`` (``--positives_per_query``,
            ``--mask_false_negatives``). None: one positive per query, row 0 of its group (Tevatron's InfoNCE,
            bit for bit). Every objective's passage-retrieval term reads it (``functional.passage_retrieval``);
            the terms anchored on a positive passage (query retrieval) keep row 0 of each group.
        passage_mask: [B * n_passages], or None: the upstream series' form of the same (patch 4 of
            ``upstream/tevatron-v2``: 1 a positive of its group's query, -1 a repeat, 0 a negative), which its
            driver hands a loss at ``--positives_per_query`` > 1; turned into ``passage_labels``
            (``passages.labels_from_passage_mask``). At most one of the two.

    Hyperparameters: ``n_passages`` (passages per query, 1 positive + hard negatives; default 8), the one
    every objective takes, as in the upstream registry's contract (``cls(n_passages=..., **loss_kwargs)``);
    each objective's constructor declares the others it uses (``gamma``, ``beta``, ``sigma``, ``temperature``),
    and ``get_loss`` passes it only those.
    """

    #: Set by ``register_loss``.
    loss_name: str = ""
    #: Whether the objective reads typo'd variants (the collator then makes them). False unless an objective
    #: says so, as for a loss written to the upstream contract, which may be handed ``None``.
    uses_typos: bool = False

    def __init__(self, n_passages: int = 8):
        super().__init__()
        if n_passages < 1:
            raise ValueError(f"n_passages must be >= 1, got {n_passages}")
        self.n_passages = n_passages

    @staticmethod
    def check_weight(name: str, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {value}")
        return value

    def extra_repr(self) -> str:
        """The hyperparameters the objective holds, as ``repr`` shows them (the train driver logs it)."""
        names = [n for n in ("n_passages", "gamma", "beta", "sigma", "temperature", "form") if hasattr(self, n)]
        return ", ".join(f"{n}={getattr(self, n)}" for n in names)

    def resolve_labels(self, passage_labels: Optional[Tensor], passage_mask: Optional[Tensor]) -> Optional[Tensor]:
        """``passage_labels``, or the label matrix of the upstream contract's ``passage_mask``."""
        if passage_mask is None:
            return passage_labels
        if passage_labels is not None:
            raise ValueError(f"{self.loss_name}: give passage_labels or passage_mask, not both")
        return passages.labels_from_passage_mask(passage_mask, self.n_passages)

    def check(self, q_reps: Tensor, p_reps: Tensor, typo_q_reps: Optional[Tensor],
              passage_labels: Optional[Tensor] = None) -> int:
        """Validate shapes; return K (variants per query, 0 when none are given)."""
        b = q_reps.size(0)
        if p_reps.size(0) != b * self.n_passages:
            raise ValueError(f"{self.loss_name}: p_reps has {p_reps.size(0)} rows; expected B * n_passages = "
                             f"{b} * {self.n_passages}")
        if passage_labels is not None and tuple(passage_labels.shape) != (b, p_reps.size(0)):
            raise ValueError(f"{self.loss_name}: passage_labels is {tuple(passage_labels.shape)}; expected "
                             f"[B, B * n_passages] = [{b}, {p_reps.size(0)}]")
        if typo_q_reps is None or typo_q_reps.size(0) == 0:
            if self.uses_typos:
                raise ValueError(f"{self.loss_name} needs typo'd query representations (--typo_variants >= 1)")
            return 0
        if typo_q_reps.size(0) % b:
            raise ValueError(f"{self.loss_name}: typo_q_reps has {typo_q_reps.size(0)} rows, not a multiple of "
                             f"B = {b}")
        return typo_q_reps.size(0) // b

    def positive_passages(self, p_reps: Tensor) -> Tensor:
        """[B, d]: each query's positive passage (row 0 of its group)."""
        return p_reps[:: self.n_passages]
