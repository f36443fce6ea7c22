from __future__ import annotations

import contextlib
from functools import partial
from typing import Dict, Iterable, Iterator, List, Optional

import torch
from sentence_transformers import util
from torch import Tensor, nn
from tqdm.auto import tqdm

from .typo_robust import TypoRobustLoss


class RandomState:
    """The random-number state before a mini-batch's first forward pass, to replay it in the second, so that
    dropout draws the same masks and the second pass computes the embeddings whose gradients were cached."""

    def __init__(self, cuda_devices: List[int]):
        self.cuda_devices = cuda_devices
        self.cpu = torch.get_rng_state()
        self.cuda = [torch.cuda.get_rng_state(d) for d in cuda_devices]

    @contextlib.contextmanager
    def replay(self) -> Iterator[None]:
        """Run the block from this state, and leave the global state as it was."""
        with torch.random.fork_rng(devices=self.cuda_devices):
            torch.set_rng_state(self.cpu)
            for device, state in zip(self.cuda_devices, self.cuda):
                torch.cuda.set_rng_state(state, device)
            yield


class CachedTypoRobustLoss(TypoRobustLoss):
    r"""``TypoRobustLoss`` with a gradient cache (GradCache: Gao et al., "Scaling Deep Contrastive Learning Batch
    Size under Memory Limited Setup", RepL4NLP 2021), in the manner of sentence-transformers'
    ``CachedMultipleNegativesRankingLoss``: the batch's every column is embedded in mini-batches of
    ``mini_batch_size`` texts, so memory is set by the mini-batch while the objective (and its in-batch
    negatives, typo'd-query terms and masking) sees the whole batch.

    1. Every column is embedded mini-batch by mini-batch without a graph (each mini-batch's random state kept).
    2. The objective is computed on those embeddings, and its gradient with respect to each embedding is cached.
    3. When the trainer back-propagates the loss, each mini-batch is embedded again, from the same random state
       (dropout draws the same masks) and under the same autocast, and back-propagated with its cached gradient.

    The value and the gradient equal ``TypoRobustLoss``'s on the same batch (to float rounding), for one extra
    forward pass per text. With ``gather_across_devices``, two gloo processes with half the batch each give the
    one-process loss and gradient (tests/test_st_adapter.py, gradients averaged by hand as DDP does); inside
    DDP's own reducer (one backward pass per mini-batch inside the trainer's one) it is untested here. The
    other arguments are ``TypoRobustLoss``'s.

    Args:
        mini_batch_size: the texts embedded at once, in both passes; memory scales with it, not with the batch.
        show_progress_bar: a progress bar over the mini-batches of each pass.

    Example::

        loss = CachedTypoRobustLoss(model, "mp_infonce", typo_variants=4, scale=100.0, mini_batch_size=16)
    """

    def __init__(self, model: nn.Module, objective: str = "mp_infonce", typo_variants: int = 4,
                 positives: Optional[int] = None, scale: float = 20.0, similarity_fct=util.cos_sim,
                 mask_false_negatives: Optional[bool] = None, gather_across_devices: bool = False,
                 mini_batch_size: int = 32, show_progress_bar: bool = False, **hyperparameters):
        super().__init__(model, objective, typo_variants=typo_variants, positives=positives, scale=scale,
                         similarity_fct=similarity_fct, mask_false_negatives=mask_false_negatives,
                         gather_across_devices=gather_across_devices, **hyperparameters)
        if mini_batch_size < 1:
            raise ValueError(f"mini_batch_size must be >= 1, got {mini_batch_size}")
        self.mini_batch_size, self.show_progress_bar = mini_batch_size, show_progress_bar

    def mini_batches(self, column: Dict[str, Tensor]) -> Iterator[Dict[str, Tensor]]:
        """A column's inputs, ``mini_batch_size`` rows at a time (what is not a tensor is passed whole)."""
        rows = next(v.size(0) for v in column.values() if isinstance(v, Tensor))
        for start in range(0, rows, self.mini_batch_size):
            yield {k: v[start: start + self.mini_batch_size] if isinstance(v, Tensor) else v
                   for k, v in column.items()}

    def forward(self, sentence_features: Iterable[Dict[str, Tensor]], labels: Optional[Tensor] = None) -> Tensor:
        """Steps 1 and 2: embed without a graph, compute the loss and cache its gradients; step 3 is hooked to
        the returned loss's backward pass."""
        features = self.columns(sentence_features)
        candidates = self.candidate_features(features)
        devices = sorted({v.device.index for f in features for v in f.values()
                          if isinstance(v, Tensor) and v.device.type == "cuda"})
        embeddings, states = [], []
        for column in tqdm(features, desc="embed (no graph)", disable=not self.show_progress_bar):
            parts = []
            for mini in self.mini_batches(column):
                states.append(RandomState(devices))
                with torch.no_grad():
                    parts.append(self.model(mini)["sentence_embedding"])
            embeddings.append(torch.cat(parts))
        if not torch.is_grad_enabled():  # evaluation: the value only
            return self.compute_loss_from_embeddings(embeddings, candidates)
        leaves = [e.detach().requires_grad_() for e in embeddings]
        loss = self.compute_loss_from_embeddings(leaves, candidates)
        gradients = torch.autograd.grad(loss, leaves)
        device_type = embeddings[0].device.type
        autocast = dict(device_type=device_type, enabled=torch.is_autocast_enabled(device_type),
                        dtype=torch.get_autocast_dtype(device_type))
        loss = loss.detach().requires_grad_()
        loss.register_hook(partial(self._backward, features, states, gradients, autocast))
        return loss

    def _backward(self, features: List[Dict[str, Tensor]], states: List[RandomState], gradients: List[Tensor],
                  autocast: dict, grad_output: Tensor) -> None:
        """Step 3: embed each mini-batch again, as in step 1, and back-propagate its cached gradient."""
        states = iter(states)
        for column, gradient in tqdm(list(zip(features, gradients)), desc="embed (graph)",
                                     disable=not self.show_progress_bar):
            for mini, part in zip(self.mini_batches(column), gradient.split(self.mini_batch_size)):
                # the backward pass runs with grad mode off: the graph of the second pass needs it on
                with next(states).replay(), torch.enable_grad(), torch.autocast(**autocast):
                    embedding = self.model(mini)["sentence_embedding"]
                embedding.backward(part.to(embedding.dtype) * grad_output)
