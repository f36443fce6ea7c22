"""The statistics of the XMRC report, on arrays of per-question scores: family-wise correction, Fisher's paired
randomisation test (many pairs at once, repeatably), and the interval of a difference over training seeds, typo'd
copies and questions (a crossed random-effects model), with the simulation that checks its coverage."""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from typing import Optional, Sequence, Tuple

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


def crossed_variance(d: np.ndarray) -> Tuple[float, float]:
    """(variance of the grand mean, Satterthwaite degrees of freedom) of ``d`` [seeds, copies, questions] (or
    any number of axes) under a fully crossed random-effects model: every axis is a random sample (training
    seeds, typo'd copies, questions), each main effect and interaction a random term of its own.

    The method of moments of the crossed ANOVA. With N cells and MS_A the mean square of effect A (a main
    effect or an interaction of the axes in A), component B's share of Var(mean) is
    ``sum over A containing B of (-1)^(|A|-|B|) MS_A / N``; all shares together give the unbiased
    ``sum over A of (-1)^(|A|+1) MS_A / N`` (two axes: (MS_seeds + MS_questions - MS_residual) / N). A share
    estimated below 0 is set to 0 (the usual rule for a negative variance component: without it, the noise
    of a main effect with few degrees of freedom, the copies' 2, drives the degrees of freedom of the whole
    down to about 1 when that effect is nil). Satterthwaite's degrees of freedom are those of the resulting
    linear combination of mean squares. An axis of size 1 carries no variance the data can show and drops
    out."""
    d = np.asarray(d, dtype=float)
    axes = [i for i, n in enumerate(d.shape) if n > 1]
    if not axes:
        raise ValueError("one cell: no variance to estimate")
    d = d.reshape([d.shape[i] for i in axes])
    k, n = d.ndim, d.size
    effects = [subset for size in range(1, k + 1) for subset in combinations(range(k), size)]
    mean_square, df_of = {}, {}
    for subset in effects:
        effect = np.zeros(d.shape)
        for kept_size in range(len(subset) + 1):
            for kept in combinations(subset, kept_size):
                dropped = tuple(i for i in range(k) if i not in kept)
                effect = effect + (-1) ** (len(subset) - kept_size) * d.mean(axis=dropped, keepdims=True)
        df_of[subset] = int(np.prod([d.shape[i] - 1 for i in subset]))
        mean_square[subset] = float((effect ** 2).sum()) / df_of[subset]
    weight = dict.fromkeys(effects, 0.0)  # of each mean square in the variance
    for component in effects:
        above = [a for a in effects if set(component) <= set(a)]
        share = sum((-1) ** (len(a) - len(component)) * mean_square[a] for a in above) / n
        if share > 0:
            for a in above:
                weight[a] += (-1) ** (len(a) - len(component)) / n
    variance = sum(weight[a] * mean_square[a] for a in effects)
    spread = sum((weight[a] * mean_square[a]) ** 2 / df_of[a] for a in effects)
    df = variance ** 2 / spread if spread > 0 else float("inf")  # no spread at all: the interval is a point
    return float(variance), float(df)


def difference_estimate(treatment: np.ndarray, control: np.ndarray) -> Tuple[float, float, float]:
    """(difference, standard error, degrees of freedom) of mean(treatment) - mean(control), both [seeds,
    copies, questions] on the same copies and questions (in the same order).

    - The same number of seeds: seed k against seed k (the same data order and typo'd variants), the crossed
      variance (``crossed_variance``) of the paired differences.
    - One run on either side (a zero-shot row): it is a constant of every seed of the other, so the
      difference is hierarchical on the trained side: the crossed variance of the trained seeds minus it.
    - Different numbers of seeds (10 against 5): unpaired in seeds. The variance is the sum of each row's
      seed share (the variance of its per-seed means over its seeds) and the crossed variance of the
      seed-averaged difference over copies and questions; the second also holds the seed x question noise
      that the first holds, so the interval errs wide. Satterthwaite's degrees of freedom over the parts."""
    treatment, control = np.asarray(treatment, dtype=float), np.asarray(control, dtype=float)
    diff = float(treatment.mean() - control.mean())
    if len(treatment) == len(control) or 1 in (len(treatment), len(control)):
        variance, df = crossed_variance(treatment - control)
        return diff, float(np.sqrt(variance)), df
    parts = []  # (variance, df)
    for runs in (treatment, control):
        means = runs.reshape(len(runs), -1).mean(axis=1)
        parts.append((float(np.var(means, ddof=1)) / len(means), len(means) - 1))
    pooled = treatment.mean(axis=0, keepdims=True) - control.mean(axis=0, keepdims=True)
    if pooled.size > 1:
        parts.append(crossed_variance(pooled))
    variance = sum(v for v, _ in parts)
    df = variance ** 2 / sum(v ** 2 / df for v, df in parts if v > 0) if variance > 0 else 1.0
    return diff, float(np.sqrt(variance)), float(df)


def difference_interval(treatment: np.ndarray, control: np.ndarray, level: float = 0.95) -> Tuple[float, float]:
    """Student-t interval of mean(treatment) - mean(control): the difference -/+ t(level, df) x its standard
    error (``difference_estimate``). Its coverage at the answer run's design is checked by simulation
    (``interval_coverage``; ``tests/test_interval_coverage.py``)."""
    from scipy.stats import t

    diff, se, df = difference_estimate(treatment, control)
    half = float(t.ppf(0.5 + level / 2, df)) * se
    return diff - half, diff + half


def difference_p_value(treatment: np.ndarray, control: np.ndarray) -> float:
    """Two-sided p-value of "no difference" from the same t statistic (``difference_estimate``)."""
    from scipy.stats import t

    diff, se, df = difference_estimate(treatment, control)
    if se == 0:
        return 1.0 if diff == 0 else 0.0
    return float(2 * t.sf(abs(diff) / se, df))


#: The simulation's regimes: standard deviations of the difference's random terms (seed, copy, question,
#: their interactions), each scaled so that the regime's name holds: which share of the standard error of the
#: mean comes from where. ``discrete``: per-question differences of reciprocal ranks (mostly 0, sometimes
#: +-0.5 or +-1), as MRR@10 gives them, on top of a seed effect.
COVERAGE_REGIMES = {
    "seed dominates": dict(seed=0.01, copy=0.0, question=0.05, seed_question=0.05, copy_question=0.02),
    "question dominates": dict(seed=0.0005, copy=0.0, question=0.25, seed_question=0.05, copy_question=0.02),
    "in between": dict(seed=0.003, copy=0.0, question=0.08, seed_question=0.08, copy_question=0.04),
    "copies matter": dict(seed=0.002, copy=0.003, question=0.05, seed_question=0.05, copy_question=0.05),
    "discrete": dict(seed=0.004, copy=0.0, question=0.0, seed_question=0.0, copy_question=0.0, flips=0.15),
}


def simulate_differences(rng: np.random.Generator, n: int, seeds: int, copies: int, questions: int,
                         regime: dict) -> np.ndarray:
    """``n`` draws of a [seeds, copies, questions] array of paired differences with true mean 0 under
    ``regime`` (``COVERAGE_REGIMES``)."""
    shape = (n, seeds, copies, questions)

    def term(sd, *axes):  # a normal random effect over the named axes (1: seeds, 2: copies, 3: questions)
        size = [n] + [shape[i] if i in axes else 1 for i in (1, 2, 3)]
        return rng.normal(0.0, sd, size=size) if sd else 0.0

    d = (term(regime["seed"], 1) + term(regime["copy"], 2) + term(regime["question"], 3)
         + term(regime["seed_question"], 1, 3) + term(regime["copy_question"], 2, 3)
         + np.zeros(shape))
    flips = regime.get("flips", 0.0)
    if flips:  # a question's rank moves between 1 and 2 (+-0.5) or between 1 and beyond 10 (+-1)
        moved = rng.random(shape) < flips
        size = np.where(rng.random(shape) < 0.7, 0.5, 1.0) * np.where(rng.random(shape) < 0.5, -1.0, 1.0)
        d = d + moved * size
    return d


def interval_coverage(seeds: int, copies: int, questions: int, regime: dict, n_simulations: int = 1000,
                      level: float = 0.95, seed: int = 0, control_seeds: Optional[int] = None) -> float:
    """The share of ``n_simulations`` simulated designs whose interval (``difference_interval``) holds the
    true difference, 0. ``control_seeds``: None, a paired comparison (as many seeds on both sides); 1, a
    zero-shot control (one deterministic run: all the randomness is the trained side's); more, an unpaired
    comparison with the control's own, independent draws."""
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, n_simulations, 100):
        n = min(100, n_simulations - start)
        treatment = simulate_differences(rng, n, seeds, copies, questions, regime)
        if control_seeds is None or control_seeds == 1:
            control = np.zeros((n, control_seeds or seeds, copies, questions))
        else:
            control = simulate_differences(rng, n, control_seeds, copies, questions, regime)
        for t_draw, c_draw in zip(treatment, control):
            low, high = difference_interval(t_draw, c_draw, level)
            hits += low <= 0.0 <= high
    return hits / n_simulations


#: The designs whose coverage is simulated. The answer run's (docs/report.md, "The answer run"): 10 seeds of
#: infonce and mp_infonce, 5 of dual_infonce, 3 typo'd copies per severity, about 600 questions per language
#: (XQuAD-R's test articles); and the dev-split scale curve's (``recipes.scale``): 3 seeds a side, 2 copies,
#: 96 questions. Each entry: (seeds, copies, control seeds: None paired, 1 zero-shot, else unpaired,
#: questions). Clean queries have one "copy" and no copy terms.
COVERAGE_DESIGNS = {
    "paired 10 v 10, typo'd (3 copies)": (10, 3, None, 600),
    "paired 10 v 10, clean": (10, 1, None, 600),
    "10 v zero-shot, typo'd (3 copies)": (10, 3, 1, 600),
    "unpaired 10 v 5, typo'd (3 copies)": (10, 3, 5, 600),
    "scale curve: paired 3 v 3, typo'd (2 copies), 96 questions": (3, 2, None, 96),
    "scale curve: paired 3 v 3, clean, 96 questions": (3, 1, None, 96),
}


def coverage_table(n_simulations: int = 1000, seed: int = 0) -> dict:
    """{design: {regime: coverage}} of the 95% interval over ``COVERAGE_DESIGNS`` x ``COVERAGE_REGIMES``
    (``interval_coverage``; a clean design drops the regime's copy terms). Repeatable: one seed per cell."""
    out = {}
    for d, (design, (seeds, copies, control, questions)) in enumerate(COVERAGE_DESIGNS.items()):
        out[design] = {}
        for r, (name, regime) in enumerate(COVERAGE_REGIMES.items()):
            if copies == 1:
                regime = {**regime, "copy": 0.0, "copy_question": 0.0}
            out[design][name] = interval_coverage(seeds, copies, questions, regime, n_simulations,
                                                  seed=seed + 100 * d + r, control_seeds=control)
    return out


def coverage_markdown(table: dict, n_simulations: int) -> str:
    """``coverage_table``'s figures as a markdown table, a design a row and a regime a column."""
    regimes = list(COVERAGE_REGIMES)
    lines = [f"Coverage of the nominal 95% interval, {n_simulations} simulations a cell, 600 questions unless the "
             "design says", "", "| design | " + " | ".join(regimes) + " |", "|---|" + "---|" * len(regimes)]
    lines += [f"| {design} | " + " | ".join(f"{row[r]:.1%}" for r in regimes) + " |" for design, row in table.items()]
    return "\n".join(lines)
