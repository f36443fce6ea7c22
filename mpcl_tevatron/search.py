"""Exact inner-product search of query representations against one or more corpus shards (faiss), the search
both Tevatron versions do (v1's ``tevatron.faiss_retriever``, v2's ``driver.search``), as a function: no
process and no text file per query set."""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np


def search(q_reps: np.ndarray, shards: Sequence[Tuple[np.ndarray, List[str]]], depth: int
           ) -> Tuple[np.ndarray, np.ndarray, List[str]]:
    """(scores [n, depth], indices [n, depth], lookup) of the best ``depth`` candidates over all ``shards``:
    ``lookup[indices[i, j]]`` is the id of query i's j-th candidate, best first. ``depth`` is capped at the
    number of candidates (faiss would pad with -1)."""
    import faiss

    index = faiss.IndexFlatIP(shards[0][0].shape[1])
    lookup: List[str] = []
    for reps, ids in shards:
        index.add(np.ascontiguousarray(reps, dtype=np.float32))
        lookup += list(ids)
    scores, indices = index.search(np.ascontiguousarray(q_reps, dtype=np.float32), min(depth, len(lookup)))
    return scores, indices.astype(np.int32), lookup
