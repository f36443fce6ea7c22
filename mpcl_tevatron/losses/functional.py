"""The math shared by the objectives, as plain functions over score matrices (no Tevatron, no state)."""

from __future__ import annotations

import functools
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor


#: The forms of the multi-positive loss (``multi_positive_infonce``'s ``form``); "eq4" is the paper's.
MULTI_POSITIVE_FORMS = ("eq4", "supcon_out", "log_sum", "sample_one")


def multi_positive_infonce(scores: Tensor, positive_mask: Tensor, reduction: str = "mean", form: str = "eq4",
                           generator: Optional[torch.Generator] = None) -> Tensor:
    r"""Multi-positive InfoNCE (Sidiropoulos & Kanoulas, ECIR 2024, arXiv 2403.10939, eq. 4), and the other
    forms a multi-positive contrastive loss takes in the literature.

    For each anchor (row) with positives :math:`P` and negatives :math:`N` (every column not in :math:`P`):

    * ``eq4`` (default; the paper's eq. 4, pytorch-metric-learning's NTXentLoss with labels): each positive
      competes with the negatives only, never with the other positives,

      .. math:: \ell = -\frac{1}{|P|} \sum_{p \in P} \log \frac{e^{s_p}}{e^{s_p} + \sum_{n \in N} e^{s_n}}

    * ``supcon_out`` (Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020, :math:`L_{out}`;
      pytorch-metric-learning's SupConLoss): every positive in every denominator,

      .. math:: \ell = -\frac{1}{|P|} \sum_{p \in P} \log \frac{e^{s_p}}{\sum_{a \in P \cup N} e^{s_a}}

    * ``log_sum`` (:math:`L_{in}`'s form: the log of the positives' summed probability),

      .. math:: \ell = -\log \frac{\sum_{p \in P} e^{s_p}}{\sum_{a \in P \cup N} e^{s_a}}

      Khosla et al.'s :math:`L_{in}` averages inside the log, which adds the constant :math:`\log |P|` (same
      gradient); without it, one positive gives InfoNCE exactly;

    * ``sample_one``: one positive drawn per row and step, uniformly among :math:`P` (``generator``, else
      torch's global one), against the negatives; the other positives count as neither. Its expectation over
      the draw is ``eq4``; the paper argues that taking all positives at once beats it.

    With one positive per row every form is InfoNCE (cross-entropy).

    Args:
        scores: [n, m] similarity logits.
        positive_mask: [n, m] boolean (or 0/1), True where column j is a positive of row i.
        reduction: "mean" (over rows), "sum", or "none" ([n] per-row losses).
        form: one of ``MULTI_POSITIVE_FORMS``.
        generator: the random draws of ``sample_one``.

    Vectorised and stable for large logits (log-sum-exp throughout). A row with no positive is an error; a row
    whose columns are all positives has loss 0 under ``eq4``, ``log_sum`` and ``sample_one``.
    """
    if scores.dim() != 2 or scores.shape != positive_mask.shape:
        raise ValueError(f"scores and positive_mask must both be [n, m]; got {tuple(scores.shape)} and "
                         f"{tuple(positive_mask.shape)}")
    check_form(form)
    mask = positive_mask.bool()
    n_pos = mask.sum(dim=1)
    if bool((n_pos == 0).any()):
        rows = torch.nonzero(n_pos == 0).flatten().tolist()
        raise ValueError(f"multi_positive_infonce: rows {rows[:10]} have no positive")
    # Masking with the dtype's most negative finite value (not -inf) keeps gradients finite when a row has
    # no negative at all: exp(min - s) underflows to exactly 0.
    very_negative = torch.finfo(scores.dtype).min
    if form == "sample_one":
        drawn = torch.multinomial(mask.float(), 1, generator=generator)  # [n, 1], among each row's positives
        chosen = torch.zeros_like(mask).scatter_(1, drawn.to(mask.device), True)
        scores, mask, n_pos = scores.masked_fill(mask & ~chosen, very_negative), chosen, torch.ones_like(n_pos)
    if form in ("eq4", "sample_one"):
        neg_lse = torch.logsumexp(scores.masked_fill(mask, very_negative), dim=1, keepdim=True)  # [n, 1]
        log_prob = scores - torch.logaddexp(scores, neg_lse)  # log e^{s_p} / (e^{s_p} + sum_N e^{s_n})
        per_row = -(log_prob * mask).sum(dim=1) / n_pos
    elif form == "supcon_out":
        log_prob = scores - torch.logsumexp(scores, dim=1, keepdim=True)
        per_row = -(log_prob * mask).sum(dim=1) / n_pos
    else:  # log_sum
        per_row = torch.logsumexp(scores, dim=1) - torch.logsumexp(scores.masked_fill(~mask, very_negative), dim=1)
    return _reduce(per_row, reduction)


def check_form(form: str) -> str:
    """``form`` when it is one of ``MULTI_POSITIVE_FORMS``, else a ValueError naming them."""
    if form not in MULTI_POSITIVE_FORMS:
        raise ValueError(f"form must be one of {', '.join(MULTI_POSITIVE_FORMS)}, got {form!r}")
    return form


def passage_retrieval(scores: Tensor, n_passages: int, passage_labels: Optional[Tensor] = None,
                      k: int = 1) -> Tensor:
    """InfoNCE of queries over the batch's passages (``scores`` [B*k, B*n]; ``k`` consecutive rows per query,
    its typo'd variants when k > 1, all sharing its positives).

    Without ``passage_labels``, Tevatron's single-positive InfoNCE: the row(s) of query i retrieve passage
    ``i * n_passages`` among every in-batch passage (cross-entropy). With them ([B, B*n] int8 from
    ``passages.PassageIds.labels``: 1 positive, 0 negative, -1 ignored), ``multi_positive_infonce``: each of
    the query's positives competes with its negatives only, and ignored columns (repeated positives, false
    negatives) count as neither."""
    if passage_labels is None:
        target = (strided_targets(scores.size(0), n_passages, device=scores.device) if k == 1 else
                  torch.arange(scores.size(0), device=scores.device).div(k, rounding_mode="floor") * n_passages)
        return F.cross_entropy(scores, target)
    labels = passage_labels if k == 1 else passage_labels.repeat_interleave(k, dim=0)
    return multi_positive_infonce(scores.masked_fill(labels < 0, torch.finfo(scores.dtype).min), labels > 0)


@functools.lru_cache(maxsize=64)
def strided_targets(n: int, stride: int = 1, device=None) -> Tensor:
    """``[0, stride, 2*stride, ...]`` (n of them): the target of row i is column ``i * stride``. Built once per
    shape and device, as masks are (about 0.15 ms each time on a CPU otherwise); read-only."""
    return torch.arange(n, device=device) * stride


@functools.lru_cache(maxsize=64)
def variant_mask(n_queries: int, k: int, device=None) -> Tensor:
    """[n_queries, n_queries * k] boolean: True where column i*k + j is a variant of query i. Built once per
    shape and device (a batch's shape repeats every step); read-only."""
    owner = torch.arange(n_queries * k, device=device).div(k, rounding_mode="floor")
    return owner.unsqueeze(0) == torch.arange(n_queries, device=device).unsqueeze(1)


def self_teaching_kl(student_scores: Tensor, teacher_scores: Tensor, temperature: float = 1.0,
                     dim: int = -1) -> Tensor:
    r"""Self-teaching: KL(teacher || student) of the score distributions along ``dim`` (the candidates),
    averaged over the other positions ("batchmean"). The teacher is detached and divided by ``temperature``;
    the student is not scaled (Zhuang & Zuccon, SIGIR 2022; Tasawong et al., ACL 2023).

    ``teacher_scores`` may have size 1 where it broadcasts (one teacher row for K students, as in the
    self-teaching objectives): its softmax is then taken once, not K times, and the mean is over the student's
    rows. ``dim`` lets one layout serve both sides of self-teaching (passages along the last dimension, queries
    along the first) without a strided copy."""
    dim = dim % student_scores.dim()
    teacher = F.log_softmax(teacher_scores.detach() / temperature, dim=dim)
    p_teacher = teacher.exp()
    rows = student_scores.numel() // student_scores.size(dim)
    # KL = sum_c t_c log t_c - sum_c t_c s_c + logsumexp(s) per row. The teacher's entropy term is taken once per
    # teacher row and counted for each row it broadcasts to; the rest is _StudentCrossEntropy.
    entropy_term = (p_teacher * teacher).sum() * (rows // (teacher.numel() // teacher.size(dim)))
    return (entropy_term + _StudentCrossEntropy.apply(student_scores, p_teacher, dim)) / rows


class _StudentCrossEntropy(torch.autograd.Function):
    r""":math:`\sum_{rows} (\mathrm{logsumexp}_c\, s - \sum_c t_c s_c)` over ``dim``, ``t`` broadcasting; its
    gradient is :math:`\mathrm{softmax}(s) - t` per row. Written out because autograd's logsumexp takes the
    exponential twice (forward, then again in backward); here one pass gives the log-sum-exp and the softmax
    that the backward reuses, on contiguous memory whatever ``dim`` is."""

    @staticmethod
    def forward(ctx, s: Tensor, t: Tensor, dim: int) -> Tensor:
        peak = s.amax(dim=dim, keepdim=True)
        e = torch.exp(s - peak)
        total = e.sum(dim=dim, keepdim=True)
        lse = (peak + total.log()).sum()
        # sum_rows sum_c t_c s_c: the student summed first over the dimensions the teacher broadcasts along (the
        # K variants), so the product with the teacher is as small as the teacher
        spread = [d for d in range(s.dim()) if t.size(d) == 1 < s.size(d)]
        cross = (t * (s.sum(dim=spread, keepdim=True) if spread else s)).sum()
        ctx.save_for_backward(e.div_(total), t)  # the softmax, in place of the exponentials
        return lse - cross

    @staticmethod
    def backward(ctx, grad: Tensor):
        softmax, t = ctx.saved_tensors
        return grad * (softmax - t), None, None


def _reduce(per_row: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return per_row.mean()
    if reduction == "sum":
        return per_row.sum()
    if reduction == "none":
        return per_row
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
