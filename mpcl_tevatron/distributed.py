"""Gathering representations across processes so an objective sees the global batch."""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor


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
