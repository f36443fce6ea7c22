"""``search.search``: exact inner-product search over corpus shards, the ranking every XMRC run is scored on."""

from __future__ import annotations

import numpy as np
import pytest

from mpcl_tevatron.search import search


@pytest.mark.parametrize("depth", [1, 3, 11, 100])
def test_search_returns_the_best_first_with_scores_descending_and_min_depth_n_of_them(depth):
    """Against brute force over both shards: the candidates in order of their inner product, best first, their
    scores, and exactly min(depth, number of candidates) per query (faiss would pad with -1 beyond it)."""
    rng = np.random.default_rng(0)
    q = rng.normal(size=(5, 8)).astype(np.float32)
    shards = [(rng.normal(size=(7, 8)).astype(np.float32), [f"a{i}" for i in range(7)]),
              (rng.normal(size=(4, 8)).astype(np.float32), [f"b{i}" for i in range(4)])]
    exact = q @ np.concatenate([reps for reps, _ in shards]).T  # [5, 11]
    scores, indices, lookup = search(q, shards, depth)
    k = min(depth, 11)
    assert scores.shape == indices.shape == (5, k)
    assert lookup == [f"a{i}" for i in range(7)] + [f"b{i}" for i in range(4)]
    expected = np.argsort(-exact, axis=1)[:, :k]  # random scores: no ties
    assert (indices == expected).all()
    assert np.allclose(scores, np.take_along_axis(exact, expected, axis=1), atol=1e-5)
    assert (np.diff(scores, axis=1) < 0).all()
    assert (indices >= 0).all()
