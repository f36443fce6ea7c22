"""The statistics of the XMRC report, on arrays of per-question scores: family-wise correction, Fisher's paired
randomisation test (many pairs at once, repeatably), and the hierarchical bootstrap over seeds and questions."""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence, Tuple

import numpy as np

ALPHA = 0.05
#: Fisher's test resolves p-values in steps of 1/N_PERMUTATIONS. Holm over a default report's ~1,000
#: comparisons per metric asks the smallest to be below 5e-5: with 1,000 permutations only a difference that
#: no permutation reached (p = 0) could be marked; 50,000 resolve 2e-5.
N_PERMUTATIONS = 50000


def corrected(p_values: Sequence[float], method: str = "holm") -> np.ndarray:
    """Family-wise corrected p-values: Holm's step-down or Bonferroni's."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    if m == 0:
        return p
    if method == "bonferroni":
        return np.minimum(1.0, p * m)
    if method != "holm":
        raise ValueError(f"unknown correction {method!r}")
    order = np.argsort(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (m - rank) * p[i])
        adjusted[i] = min(1.0, running)
    return adjusted


def randomization_p_values(pairs: Sequence[Tuple[np.ndarray, np.ndarray]], n_permutations: int = N_PERMUTATIONS,
                           seed: int = 0) -> np.ndarray:
    """Two-sided p-values of Fisher's paired randomisation test (Smucker et al., CIKM 2007) for many
    ``(control, treatment)`` pairs of per-question scores at once.

    Under the null hypothesis a question's two scores are exchangeable, so a permutation swaps each question's
    pair with probability 1/2, which flips the sign of its difference; p is the share of ``n_permutations``
    random permutations whose absolute mean difference reaches the observed one (ranx's statistic). The
    permutations are drawn once from ``seed`` and serve every pair of the same length, as one matrix product.
    Why not ranx's ``fisher_randomization_test``: it draws in parallel numba threads that its seed does not
    reach, so its p-values change from call to call (0.796-0.829 over six calls on one pair, seed 0), and it
    takes about 20 ms a pair at 1,000 permutations, 80 s for a default report's 4,000 comparisons."""
    out = np.empty(len(pairs))
    by_length = defaultdict(list)
    for i, (control, _) in enumerate(pairs):
        by_length[len(control)].append(i)
    for n, idx in by_length.items():
        signs = np.random.default_rng(seed).integers(0, 2, size=(n_permutations, n), dtype=np.int8) * 2 - 1
        diffs = np.stack([pairs[i][1] - pairs[i][0] for i in idx])
        observed = np.abs(diffs.mean(axis=1))[:, None] - 1e-12  # 1e-12: the same mean, summed in another order
        reached = np.zeros(len(idx))
        for start in range(0, n_permutations, 5000):  # blocks keep [pairs, permutations] in memory small
            block = signs[start:start + 5000].astype(np.float64)
            for rows in np.array_split(np.arange(len(idx)), max(1, len(idx) // 512)):
                reached[rows] += (np.abs(diffs[rows] @ block.T) / n >= observed[rows]).sum(axis=1)
        out[idx] = (reached + 1) / (n_permutations + 1)  # the observed assignment counts: p is never 0
    return out


def hierarchical_bootstrap_interval(diffs: np.ndarray, n_resamples: int = 2000, seed: int = 0,
                                    level: float = 0.95) -> Tuple[float, float]:
    """Percentile interval of the mean of ``diffs`` [seeds, questions] (paired per-question differences, one row
    per training seed) under a two-level bootstrap: seeds are resampled with replacement, then questions (the
    same draw of questions for every seed, since the questions are shared). With one seed it is the ordinary
    paired bootstrap over questions and says nothing about seed variation."""
    diffs = np.atleast_2d(np.asarray(diffs, dtype=float))
    n_seeds, n_questions = diffs.shape
    rng = np.random.default_rng(seed)
    question_counts = rng.multinomial(n_questions, np.full(n_questions, 1 / n_questions), size=n_resamples)
    per_seed = diffs @ question_counts.T / n_questions  # [seeds, resamples]
    seed_counts = rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), size=n_resamples)  # [resamples, seeds]
    means = (seed_counts * per_seed.T).sum(axis=1) / n_seeds
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)
