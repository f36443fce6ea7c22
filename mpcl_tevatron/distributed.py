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


def global_batch_loss(objective: nn.Module, q_reps: Tensor, p_reps: Tensor, typo_q_reps: Optional[Tensor], *,
                      temperature: float = 1.0, gather: bool = False, world_size: int = 1) -> Tensor:
    """``objective(q_reps, p_reps, typo_q_reps)`` on the global batch at score temperature ``temperature``.

    The objectives compute dot products of the representations they are given, so dividing every logit
    (query-passage, passage-query, query-query) by the temperature is scaling each representation by
    ``temperature ** -0.5``; the self-teaching teacher's own temperature then applies on top. With ``gather``
    (``--negatives_x_device`` in v1, DDP in v2) the three are gathered first and the loss is multiplied by
    ``world_size``, since DDP averages gradients over processes.
    """
    if gather:
        q_reps, p_reps = gather_with_grad(q_reps), gather_with_grad(p_reps)
        typo_q_reps = gather_with_grad(typo_q_reps) if typo_q_reps is not None else None
    if temperature != 1.0:
        scale = temperature ** -0.5
        q_reps, p_reps = q_reps * scale, p_reps * scale
        typo_q_reps = typo_q_reps * scale if typo_q_reps is not None else None
    loss = objective(q_reps, p_reps, typo_q_reps)
    return loss * world_size if gather else loss
