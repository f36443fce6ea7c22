"""The training step's loss, written once for every Tevatron version: gather the representations across
processes so the objective sees the global batch, divide every score by the temperature, call the objective,
and scale for DDP's gradient averaging."""

from __future__ import annotations

import torch
import torch.distributed as dist
from typing import Optional

from torch import Tensor, nn


def gather_with_grad(t: Tensor) -> Tensor:
    """Concatenate ``t`` from every rank (rank order), keeping this rank's slice attached to the graph.

    Other ranks' slices arrive detached; each rank back-propagates through its own slice, and DDP's gradient
    averaging then needs the loss multiplied by the world size (as Tevatron does) to equal the gradient of
    the global-batch loss. Every rank must pass a tensor of the same shape.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return t
    t = t.contiguous()
    gathered = [torch.empty_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, t)
    gathered[dist.get_rank()] = t
    return torch.cat(gathered, dim=0)


def gather_padded(t: Tensor, pad_value: int) -> Tensor:
    """Concatenate [rows, width] tensors from every rank (rank order) whose widths may differ: each is padded
    with ``pad_value`` to the widest first. No gradient (for ids and labels)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return t
    width = torch.tensor([t.size(1)], device=t.device)
    dist.all_reduce(width, op=dist.ReduceOp.MAX)
    padded = torch.full((t.size(0), int(width)), pad_value, dtype=t.dtype, device=t.device)
    padded[:, : t.size(1)] = t
    gathered = [torch.empty_like(padded) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, padded)
    return torch.cat(gathered, dim=0)


def global_batch_loss(objective: nn.Module, q_reps: Tensor, p_reps: Tensor, typo_q_reps: Optional[Tensor], *,
                      temperature: float = 1.0, gather: bool = False, world_size: int = 1,
                      passage_ids=None) -> Tensor:
    """``objective(q_reps, p_reps, typo_q_reps)`` on the global batch at score temperature ``temperature``.

    The objectives compute dot products of the representations they are given, so dividing every logit
    (query-passage, passage-query, query-query) by the temperature is scaling each representation by
    ``temperature ** -0.5``; the self-teaching teacher's own temperature then applies on top. With ``gather``
    (``--negatives_x_device`` in v1, DDP in v2) the three are gathered first and the loss is multiplied by
    ``world_size``, since DDP averages gradients over processes.

    ``passage_ids`` (a ``passages.PassageIds``, from ``--positives_per_query`` / ``--mask_false_negatives``)
    is gathered too and becomes the objective's ``passage_labels``; without it the objective is called with
    the three representations only, as a loss written to the upstream contract expects.
    """
    if gather:
        q_reps, p_reps = gather_with_grad(q_reps), gather_with_grad(p_reps)
        typo_q_reps = gather_with_grad(typo_q_reps) if typo_q_reps is not None else None
    if temperature != 1.0:
        scale = temperature ** -0.5
        q_reps, p_reps = q_reps * scale, p_reps * scale
        typo_q_reps = typo_q_reps * scale if typo_q_reps is not None else None
    if passage_ids is None:
        loss = objective(q_reps, p_reps, typo_q_reps)
    else:
        labels = (passage_ids.gather() if gather else passage_ids).labels()
        loss = objective(q_reps, p_reps, typo_q_reps, passage_labels=labels)
    return loss * world_size if gather else loss
