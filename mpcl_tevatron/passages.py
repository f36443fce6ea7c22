"""Several relevant passages per query: which of a training group's positives and negatives a step trains on,
and which in-batch passages count as each query's positives, negatives, or neither.

Tevatron (v1 and v2) puts one positive per query in each group, rotating through the query's
``positive_passages`` from epoch to epoch; every other passage in the batch is a negative, including one that
is another query's positive and, by its id, also this query's (a false negative). With
``--positives_per_query P`` a group holds up to P of the query's positives, then ``n - P`` hard negatives; the
objectives' passage-retrieval term is then ``functional.multi_positive_infonce``, where each positive competes
with the negatives only. ``PassageIds`` carries, per batch, the ids that the label matrix is built from:

* a query with fewer than P positives fills its remaining positive slots by repeating them, and the repeats
  are **masked** (neither positive nor negative for any query), so each distinct positive counts once and the
  group keeps Tevatron's fixed size (its models view scores per group);
* with ``mask_false_negatives``, a passage in the batch whose id is one of query i's positives (sampled this
  step or not) is not counted among query i's negatives; ids are the records' docids (the passage's text when
  a record has none).

No Tevatron module is imported here: both adapters' datasets and collators call it.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import List, Sequence, TypeVar, Union

import torch
from torch import Tensor

from .distributed import gather_padded, gather_with_grad
from .losses.functional import variant_mask

T = TypeVar("T")

#: label-matrix values (``PassageIds.labels``)
POSITIVE, NEGATIVE, IGNORED = 1, 0, -1
#: a positive slot filled by repeating one of the query's positives (no id: it is masked for every query)
REPEAT = -1
#: pads the rows of ``PassageIds.query_positive_ids``; never equal to an id
NO_ID = -2


def passage_id(key: Union[str, bytes]) -> int:
    """A passage's id as a non-negative 63-bit integer (blake2b of its docid, or of its text when there is
    none; or of bytes that stand for it, such as its token ids): the same on every process and in every run,
    unlike ``hash``."""
    data = key.encode("utf-8") if isinstance(key, str) else key
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") >> 1


@dataclass
class GroupSlots:
    """One query's group: ``positives`` (P of them, repeats included) then ``negatives`` (n - P), and the id of
    each slot (``REPEAT`` for a repeated positive); ``positive_ids``: the ids of all the query's positives."""

    positives: list
    negatives: list
    slot_ids: List[int]
    positive_ids: List[int]

    @property
    def passages(self) -> list:
        return self.positives + self.negatives


def sample_group(positives: Sequence[T], negatives: Sequence[T], positive_keys: Sequence[str],
                 negative_keys: Sequence[str], group_size: int, positives_per_query: int, seed: int,
                 epoch: int) -> GroupSlots:
    """The passages of one group at ``epoch``, with their ids (``keys``: each passage's docid or text).

    Positives: up to P distinct ones, starting at ``(seed + epoch) % len(positives)`` and going round (so, as in
    Tevatron, each epoch starts at the next positive); fewer than P are repeated to fill the slots, and the
    repeats get the id ``REPEAT``. Negatives: ``group_size - P`` of them, drawn as Tevatron draws its hard
    negatives (a seeded shuffle, read from an offset that moves by one group every epoch; with replacement when
    there are too few).
    """
    if not positives:
        raise ValueError("a training group needs at least one positive passage")
    p = positives_per_query
    first = (seed + epoch) % len(positives)
    order = [(first + i) % len(positives) for i in range(min(p, len(positives)))]
    chosen = [order[i % len(order)] for i in range(p)]
    slot_ids = [passage_id(positive_keys[j]) if i < len(order) else REPEAT for i, j in enumerate(chosen)]

    n_negatives = group_size - p
    rng = random.Random(seed)
    if n_negatives <= 0:
        picked: List[int] = []
    elif len(negatives) < n_negatives:
        if not negatives:
            raise ValueError(f"a group of {group_size} with {p} positive slots needs negatives; this one has none")
        picked = rng.choices(range(len(negatives)), k=n_negatives)
    else:
        shuffled = list(range(len(negatives)))
        rng.shuffle(shuffled)
        offset = epoch * n_negatives % len(negatives)
        picked = (shuffled * 2)[offset: offset + n_negatives]
    return GroupSlots(positives=[positives[j] for j in chosen], negatives=[negatives[j] for j in picked],
                      slot_ids=slot_ids + [passage_id(negative_keys[j]) for j in picked],
                      positive_ids=[passage_id(k) for k in positive_keys])


@dataclass
class PassageIds:
    """What a batch says about its passages, for ``labels``: ``passage_ids`` [B*n] (``REPEAT`` for a repeated
    positive), ``positive_slots`` [B*n] bool (the slot holds one of its group's query's positives), and
    ``query_positive_ids`` [B, M] (each query's positives' ids, padded with ``NO_ID``)."""

    passage_ids: Tensor
    positive_slots: Tensor
    query_positive_ids: Tensor
    mask_false_negatives: bool = True

    @classmethod
    def collate(cls, groups: Sequence[GroupSlots], mask_false_negatives: bool = True) -> "PassageIds":
        width = max(len(g.positive_ids) for g in groups)
        return cls(
            passage_ids=torch.tensor([i for g in groups for i in g.slot_ids], dtype=torch.long),
            positive_slots=torch.tensor([s < len(g.positives) for g in groups for s in range(len(g.slot_ids))]),
            query_positive_ids=torch.tensor([g.positive_ids + [NO_ID] * (width - len(g.positive_ids))
                                             for g in groups], dtype=torch.long),
            mask_false_negatives=mask_false_negatives)

    def to(self, device) -> "PassageIds":
        """The same ids with the tensors on ``device``."""
        return PassageIds(self.passage_ids.to(device), self.positive_slots.to(device),
                          self.query_positive_ids.to(device), self.mask_false_negatives)

    def gather(self) -> "PassageIds":
        """The global batch's ids (rank order, as ``distributed.gather_with_grad`` orders the representations)."""
        slots = gather_with_grad(self.positive_slots.to(torch.uint8)).bool()  # collectives take no bool
        return PassageIds(gather_with_grad(self.passage_ids), slots, gather_padded(self.query_positive_ids, NO_ID),
                          self.mask_false_negatives)

    def labels(self) -> Tensor:
        """[B, B*n] int8: ``POSITIVE`` where the column is one of row i's own positive slots (not a repeat),
        ``IGNORED`` for repeats (every row) and, with ``mask_false_negatives``, for any other column whose id is
        one of query i's positives; ``NEGATIVE`` elsewhere."""
        b = self.query_positive_ids.size(0)
        n = self.passage_ids.size(0) // b
        columns = self.passage_ids.unsqueeze(0)  # [1, B*n]
        own = variant_mask(b, n, columns.device)  # [B, B*n]: row i's own group (cached, read-only)
        repeat = (columns == REPEAT).expand(b, -1)
        positive = own & self.positive_slots.unsqueeze(0) & ~repeat
        ignored = repeat
        if self.mask_false_negatives:
            same_id = (columns.unsqueeze(-1) == self.query_positive_ids.unsqueeze(1)).any(dim=-1)  # [B, B*n]
            ignored = ignored | (same_id & ~positive)
        labels = torch.zeros(b, b * n, dtype=torch.int8, device=columns.device)
        labels[positive] = POSITIVE
        labels[ignored & ~positive] = IGNORED
        return labels



def labels_from_passage_mask(passage_mask: Tensor, n_passages: int) -> Tensor:
    """The label matrix [B, B*n] from the upstream series' per-passage ``passage_mask`` [B*n] (patch 4 of
    ``upstream/tevatron-v2``: 1 a positive of its group's query, -1 a repeated positive, 0 a negative), as that
    series' own loss reads it: ``POSITIVE`` where a column is one of row i's own positives, ``IGNORED`` for
    repeats (every row), ``NEGATIVE`` elsewhere. The mask carries no passage ids, so no false negative is
    masked (``PassageIds.labels`` can; the upstream driver cannot)."""
    mask = passage_mask.reshape(-1)
    if mask.numel() % n_passages:
        raise ValueError(f"passage_mask has {mask.numel()} entries, not a multiple of n_passages = {n_passages}")
    b = mask.numel() // n_passages
    own = variant_mask(b, n_passages, mask.device)  # [B, B*n]: row i's own group
    labels = torch.full((b, b * n_passages), NEGATIVE, dtype=torch.int8, device=mask.device)
    labels[own & (mask == 1).unsqueeze(0)] = POSITIVE
    labels[:, mask == -1] = IGNORED
    return labels
