"""Tevatron v1's faiss retriever (``tevatron.faiss_retriever``) as a function: exact inner-product search of
query representations against one or more corpus shards, as ``python -m tevatron.faiss_retriever`` does with
a ``--passage_reps`` glob, without a process and a text file per query set."""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np
from tevatron.faiss_retriever import BaseFaissIPRetriever


def search(q_reps: np.ndarray, shards: Sequence[Tuple[np.ndarray, List[str]]], depth: int
           ) -> Tuple[np.ndarray, np.ndarray, List[str]]:
    """(scores [n, depth], indices [n, depth], lookup) of the best ``depth`` candidates over all ``shards``:
    ``lookup[indices[i, j]]`` is the id of query i's j-th candidate, best first."""
    retriever = BaseFaissIPRetriever(shards[0][0])
    lookup: List[str] = []
    for reps, ids in shards:
        retriever.add(reps)
        lookup += list(ids)
    scores, indices = retriever.search(np.ascontiguousarray(q_reps, dtype=np.float32), min(depth, len(lookup)))
    return scores, indices.astype(np.int32), lookup
