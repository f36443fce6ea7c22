"""Score XMRC runs with ranx and write the comparison report: markdown, LaTeX, JSON and PNG plots.

Input: ``<out>/runs/<run>.pkl`` as the recipe's search step writes it (per task: query set name and question id
of every query, the searched candidates' ids, and each query's top 100 as positions in them, with scores). For
each run, task and query set, ranx's metric kernels compute per-question MRR@10, nDCG@10, Recall@100 and
mAP@20 (LAReQA's measure) on those arrays. Typo'd figures are the per-question mean over a severity's copies;
the typo gap is the relative drop ``(clean - typo'd) / clean``.

Seeds: a row (an objective) may have several runs, one per training seed. Its figures are the mean over seeds
(tables show ``mean±sd``, the sample standard deviation of the per-seed means), and its per-question scores,
which the tests compare, are averaged over seeds (and typo'd copies) first.

Significance: every row is compared with the reference row (``infonce``) on the same questions, with ranx's
paired Student's t-test and Fisher's paired randomisation test (50,000 permutations, seed 0, p = (reached + 1)
/ (permutations + 1), never 0; computed here, repeatably: see ``randomization_p_values``). ranx corrects for
nothing, so p-values are corrected with Holm's step-down method (or Bonferroni's) in families: **one family per
test and metric**, holding every (row, task, condition) comparison of that metric in the report. A figure is
marked ``▲`` (above the reference) or ``▼`` (below) when the corrected p-value is below 0.05 in *both* tests
**and** the difference has the same sign in every seed (seed k of the row against seed k of the reference).

Why this rule and not the tests alone: the tests treat questions as the only source of variation, so with one
seed a difference that comes from the training seed (data order, initialisation of nothing but the order, the
typo'd variants drawn) looks as sure as one that comes from the objective. Averaging over seeds before testing
shrinks the seed noise, and requiring the sign in every seed refuses a difference that one seed carries alone
(``tests/test_segmenter_report.py`` builds such a case). Each multi-positive objective is also compared with its
one-positive twin (``TWINS``), a second set of families corrected on its own: the research question's
comparison. The differences from the reference are also given with 95% hierarchical-bootstrap intervals
(seeds, then questions: ``hierarchical_bootstrap_interval``) in report.json and ``report_diff.png``.
"""

from __future__ import annotations

import json
import os
import pickle
from collections import defaultdict
from typing import Dict, List, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from ..evaluation import read_qrels
from ..io import atomic_open

#: map@20 is the report's X->pool measure; map@100 (the whole depth-100 run) is the closest to LAReQA's mAP over
#: the full ranking (a relevant candidate below 100 adds less than 1/100 of its share).
METRICS = ("mrr@10", "ndcg@10", "recall@100", "map@20", "map@100")
ALPHA = 0.05
#: Fisher's test resolves p-values in steps of 1/N_PERMUTATIONS. Holm over a default report's ~1,000
#: comparisons per metric asks the smallest to be below 5e-5: with 1,000 permutations only a difference that
#: no permutation reached (p = 0) could be marked; 50,000 resolve 2e-5.
N_PERMUTATIONS = 50000
#: Each multi-positive objective and the objective it extends with the typo'd variants as extra positives
#: (Sidiropoulos & Kanoulas, ECIR 2024: DR+DLM vs DR+DL, DR+DLM+ST vs DR+DL+ST; SIGIR 2022's CL with K positives).
TWINS = {"mp_infonce": "dual_infonce", "dst_mp": "dst", "typo_cl_mp": "typo_cl"}


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


def qrels_array(qrels: Dict[str, Dict[str, int]], questions: List[str], doc_index: Dict[str, int]) -> np.ndarray:
    """ranx's array form of qrels, ``[question, relevant, (candidate code, relevance)]``: codes are positions in
    the run's candidate list (a relevant candidate the search never saw gets a code of its own below -1, so it
    still counts in recall and AP); short rows are padded with relevance 0, which ranx drops."""
    width = max(len(qrels[q]) for q in questions)
    out = np.zeros((len(questions), width, 2))
    out[:, :, 0] = -1
    unseen = -2
    for i, q in enumerate(questions):
        for j, (doc, rel) in enumerate(sorted(qrels[q].items(), key=lambda x: -x[1])):  # ranx's idcg wants this
            code = doc_index.get(doc)
            if code is None:
                code, unseen = unseen, unseen - 1
            out[i, j] = code, rel
    return out


def per_query_scores(qrels: np.ndarray, ranks: np.ndarray, scores: np.ndarray) -> Dict[str, np.ndarray]:
    """ranx's per-question MRR@10, nDCG@10, Recall@100 and mAP@20 from arrays: ``qrels`` as ``qrels_array``,
    ``ranks`` [question, depth] candidate codes best first (-1: nothing), ``scores`` beside them. ranx's own
    metric kernels run on the arrays directly: no ``Run`` of dicts, which cost 0.1-0.2 s a query set."""
    from ranx import evaluate
    run = np.stack([ranks.astype(np.float64), scores.astype(np.float64)], axis=-1)
    out = evaluate(qrels, run, list(METRICS), return_mean=False)
    return {m: np.asarray(out[m], dtype=float) for m in METRICS}


def score_runs(out: str, rows: List[str], tasks: Dict[str, tuple], severities: Sequence[str]):
    """{row: {task: {condition: {metric: per-question array}}}}; condition: clean or a severity. Questions are
    those of the task's qrels, sorted; a question missing from a query set's run scores 0."""
    qrels = {path: read_qrels(path).to_dict() for _, _, path in tasks.values()}
    table = {}
    for row in tqdm(rows, desc="score", unit="row"):
        with open(os.path.join(out, "runs", f"{row}.pkl"), "rb") as f:
            runs = pickle.load(f)
        table[row] = {}
        for task, (_, _, path) in tasks.items():
            r = runs[task]
            questions = sorted(qrels[path])
            position = {q: i for i, q in enumerate(questions)}
            relevant = qrels_array(qrels[path], questions, {d: i for i, d in enumerate(r["doc_ids"])})
            names = np.asarray(r["set"])
            set_names = set(r["set"])
            rows_of = np.array([position.get(q, -1) for q in r["qid"]])
            by_condition = {}
            for condition in ["clean", *severities]:
                sets = ["clean"] if condition == "clean" else sorted(n for n in set_names
                                                                      if n.split(".")[0] == condition)
                copies = []
                for name in sets:
                    take = np.flatnonzero((names == name) & (rows_of >= 0))
                    ranks = np.full((len(questions), r["ranks"].shape[1]), -1, dtype=np.int64)
                    scores = np.zeros(ranks.shape)
                    ranks[rows_of[take]], scores[rows_of[take]] = r["ranks"][take], r["scores"][take]
                    copies.append(per_query_scores(relevant, ranks, scores))
                if copies:
                    by_condition[condition] = {m: np.mean([c[m] for c in copies], axis=0) for m in METRICS}
            table[row][task] = by_condition
    return table


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


def seed_differences(per_seed, row: str, control: str, task: str, condition: str, metric: str) -> np.ndarray:
    """[seeds, questions]: ``row`` minus ``control``, seed k against seed k when both have the same number of
    seeds, else against the control's mean over its seeds (a zero-shot control has one run)."""
    treatment = per_seed[row][task][condition][metric]
    control_runs = per_seed[control][task][condition][metric]
    if len(control_runs) != len(treatment):
        control_runs = control_runs.mean(axis=0, keepdims=True)
    return treatment - control_runs


def significance(table, comparisons: Sequence[Tuple[str, str]], correction: str, seed: int = 0,
                 per_seed=None):
    """{(row, task, condition, metric): (mark, p_student, p_fisher)} for each ``(row, control)`` of
    ``comparisons``, on the per-question scores of ``table`` (averaged over seeds). The comparisons of one
    metric are one family per test, corrected together. With ``per_seed`` ({row: ... [seeds, questions]}), a
    mark also needs the difference's sign in every seed (``seed_differences``)."""
    from ranx.statistical_tests import paired_student_t_test
    comparison_of = dict(comparisons)
    keys, pairs = [], []
    for row, control in comparisons:
        for task, conditions in table[row].items():
            for condition, metrics in conditions.items():
                for metric, treatment in metrics.items():
                    keys.append((row, task, condition, metric))
                    pairs.append((table[control][task][condition][metric], treatment))
    same = np.array([np.allclose(t, c) for c, t in pairs], dtype=bool)
    p_t = np.array([1.0 if equal else float(paired_student_t_test(c, t, max_p=ALPHA)[0])
                    for equal, (c, t) in zip(same, pairs)])
    p_t[~np.isfinite(p_t)] = 1.0
    p_f = np.where(same, 1.0, randomization_p_values(pairs, seed=seed)) if pairs else np.empty(0)
    out = {}
    by_metric = defaultdict(list)
    for i, k in enumerate(keys):
        by_metric[k[3]].append(i)
    for metric, idx in by_metric.items():
        ct, cf = corrected(p_t[idx], correction), corrected(p_f[idx], correction)
        for j, i in enumerate(idx):
            sig = ct[j] < ALPHA and cf[j] < ALPHA
            higher = np.mean(pairs[i][1]) > np.mean(pairs[i][0])
            if sig and per_seed is not None:
                row, task, condition, _ = keys[i]
                by_seed = seed_differences(per_seed, row, comparison_of[row], task, condition, metric).mean(axis=1)
                sig = bool(np.all(by_seed > 0) if higher else np.all(by_seed < 0))
            out[keys[i]] = ("▲" if higher else "▼") if sig else "", float(ct[j]), float(cf[j])
    return out


def _mean(table, row, task, condition, metric):
    return float(np.mean(table[row][task][condition][metric]))


def by_seed(run_table, seeds: Dict[str, List[str]]):
    """({row: {task: {condition: {metric: [seeds, questions]}}}}, the same averaged over seeds) from the scores
    of the runs (``score_runs``) and each row's runs, one per training seed."""
    per_seed = {}
    for row, runs in seeds.items():
        first = run_table[runs[0]]
        per_seed[row] = {task: {cond: {m: np.stack([run_table[r][task][cond][m] for r in runs])
                                       for m in METRICS} for cond in first[task]} for task in first}
    mean = {row: {task: {cond: {m: a.mean(axis=0) for m, a in metrics.items()} for cond, metrics in conds.items()}
                  for task, conds in tasks.items()} for row, tasks in per_seed.items()}
    return per_seed, mean


#: The language-averaged comparisons of ``mean_differences``: task pattern and metric.
MEAN_FAMILIES = {"X->X MRR@10": ("{x}->{x}", "mrr@10"), "X->pool mAP@20": ("{x}->pool", "map@20")}


def mean_differences(per_seed, rows, reference, langs, conds) -> dict:
    """{row: {"<family> | <condition>": {"diff", "low", "high"}}}: each row minus ``reference`` on the score
    averaged over languages, per question (XQuAD-R's questions are parallel: the same ids in every language),
    with its 95% hierarchical-bootstrap interval over seeds and questions. None where the languages do not
    share their questions (a language lost some)."""
    out = {}
    for row in rows:
        if row == reference:
            continue
        out[row] = {}
        for family, (pattern, metric) in MEAN_FAMILIES.items():
            for cond in conds:
                diffs = [seed_differences(per_seed, row, reference, pattern.format(x=x), cond, metric)
                         for x in langs if pattern.format(x=x) in per_seed[row]]
                if not diffs or len({d.shape for d in diffs}) != 1:
                    out[row][f"{family} | {cond}"] = None
                    continue
                mean = np.mean(diffs, axis=0)  # [seeds, questions]
                low, high = hierarchical_bootstrap_interval(mean)
                out[row][f"{family} | {cond}"] = {"diff": float(mean.mean()), "low": low, "high": high}
    return out


def _seed_sd(per_seed, row, task, cond, metric) -> float:
    """Sample standard deviation of the per-seed means (0 with one seed)."""
    means = per_seed[row][task][cond][metric].mean(axis=1)
    return float(np.std(means, ddof=1)) if len(means) > 1 else 0.0


def write_report(out: str, rows: List[str], tasks: Dict[str, tuple], severities: Sequence[str],
                 reference: str = "infonce", correction: str = "holm",
                 seeds: Dict[str, List[str]] = None) -> dict:
    """Score, test and write the report. ``seeds`` maps a row to its runs (``runs/<run>.pkl``), one per
    training seed; by default each row is one run of its own name."""
    seeds = {row: list((seeds or {}).get(row, [row])) for row in rows}
    run_table = score_runs(out, [r for runs in seeds.values() for r in runs], tasks, severities)
    per_seed, table = by_seed(run_table, seeds)
    marks = significance(table, [(row, reference) for row in rows if row != reference], correction,
                         per_seed=per_seed)
    twins = [(mp, one) for mp, one in TWINS.items() if mp in rows and one in rows]
    twin_marks = significance(table, twins, correction, per_seed=per_seed)
    langs = [t.split("->")[0] for t in tasks if t.split("->")[0] == t.split("->")[1]]
    main_sev = severities[0] if severities else None
    settings = json.load(open(os.path.join(out, "settings.json")))
    n_runs = sum(len(c) for r in run_table.values() for c in r.values())
    many_seeds = any(len(runs) > 1 for runs in seeds.values())

    figures = {row: {task: {cond: {m: _mean(table, row, task, cond, m) for m in METRICS}
                            for cond in table[row][task]} for task in tasks} for row in rows}
    spread = {row: {task: {cond: {m: _seed_sd(per_seed, row, task, cond, m) for m in METRICS}
                           for cond in table[row][task]} for task in tasks} for row in rows}
    conds = ["clean", *severities]
    intervals = {" | ".join((row, f"{x}->{x}", cond, "mrr@10")): hierarchical_bootstrap_interval(
        seed_differences(per_seed, row, reference, f"{x}->{x}", cond, "mrr@10"))
        for row in rows if row != reference for x in langs for cond in conds}
    data = {"settings": settings, "reference": reference, "correction": correction, "alpha": ALPHA,
            "metrics": list(METRICS), "rows": rows, "seeds": seeds, "figures": figures, "seed_sd": spread,
            "significance": {" | ".join(k): {"mark": v[0], "p_student": v[1], "p_fisher": v[2]}
                             for k, v in marks.items()},
            "twins": {" | ".join(k): {"one_positive": TWINS[k[0]], "mark": v[0], "p_student": v[1],
                                      "p_fisher": v[2]} for k, v in twin_marks.items()},
            "intervals_vs_reference": {k: {"low": lo, "high": hi} for k, (lo, hi) in intervals.items()},
            "mean_differences": mean_differences(per_seed, rows, reference, langs, conds),
            "n_runs": n_runs}

    def cell(row, task, cond, metric):
        mark = marks.get((row, task, cond, metric), ("",))[0]
        sd = f"±{spread[row][task][cond][metric]:.3f}" if len(seeds[row]) > 1 else ""
        return f"{_mean(table, row, task, cond, metric):.3f}{sd}{mark}"

    seed_note = (" Figures are means over each row's training seeds (±: sample sd of the per-seed means); "
                 "a mark also needs the difference's sign in every seed.") if many_seeds else ""
    md = ["# XMRC report\n", f"Reference row for significance: `{reference}`; paired Student's t and Fisher "
          f"randomisation tests on per-question scores (averaged over typo'd copies and seeds), "
          f"{correction.title()}-corrected in one family per test and metric (every row, task and condition of "
          f"that metric); ▲/▼: corrected p < {ALPHA} in both tests.{seed_note}\n",
          "Runs per row: " + ", ".join(f"{row} {len(runs)}" for row, runs in seeds.items()) + "\n",
          "Settings: `" + json.dumps(settings) + "`\n"]
    latex = []

    def add_table(title, metric, task_of, cond_pairs, table_langs=None):
        table_langs = langs if table_langs is None else table_langs
        header = ["row"] + [f"{lang} {label}" for lang in table_langs for label, _ in cond_pairs] + \
                 [f"mean {label}" for label, _ in cond_pairs]
        lines = [f"## {title}\n", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        tex = [f"% {title}", "\\begin{tabular}{l" + "r" * (len(header) - 1) + "}", "\\toprule",
               " & ".join(h.replace("->", "$\\to$") for h in header) + " \\\\", "\\midrule"]
        for row in rows:
            cells = [cell(row, task_of(lang), cond, metric) for lang in table_langs for _, cond in cond_pairs
                     if task_of(lang) in tasks]
            present = [lang for lang in table_langs if task_of(lang) in tasks]
            means = [f"{np.mean([_mean(table, row, task_of(lang), cond, metric) for lang in present]):.3f}"
                     for _, cond in cond_pairs]
            lines.append("| " + " | ".join([row] + cells + means) + " |")
            tex.append(" & ".join([row.replace("_", "\\_")] + [c.replace("▲", "$^\\blacktriangle$")
                                                               .replace("▼", "$^\\blacktriangledown$") for c in cells]
                                  + means) + " \\\\")
        tex += ["\\bottomrule", "\\end{tabular}", ""]
        md.extend(lines + [""])
        latex.extend(tex)

    pairs = [("clean", "clean")] + ([(f"typo {main_sev}", main_sev)] if main_sev else [])
    add_table("X->X MRR@10, clean and typo'd (main table)", "mrr@10", lambda x: f"{x}->{x}", pairs)
    add_table("X->pool mAP@20", "map@20", lambda x: f"{x}->pool", pairs)
    pivot = next((t.split("->")[1] for t in tasks if "->" in t and t.split("->")[0] != t.split("->")[1]
                  and t.split("->")[1] != "pool"), None)
    if pivot:  # X->pivot and pivot->X without pivot->pivot, which is X->X's (README's tables agree)
        others = [x for x in langs if x != pivot]
        add_table(f"X->{pivot} MRR@10 (X != {pivot})", "mrr@10", lambda x: f"{x}->{pivot}", pairs, others)
        add_table(f"{pivot}->X MRR@10 (X != {pivot})", "mrr@10", lambda x: f"{pivot}->{x}", pairs, others)
    if twins:
        conds = ["clean", *severities]
        families = [("X->X", "mrr@10", lambda x: f"{x}->{x}"), ("X->pool", "map@20", lambda x: f"{x}->pool")]
        header = [f"{name} {cond}" for name, _, _ in families for cond in conds]
        md += ["## Multi-positive vs its one-positive twin\n",
               f"Mean over languages of (multi-positive - one-positive), X->X MRR@10 and X->pool mAP@20; ▲n/▼n: "
               f"languages where the multi-positive objective is above/below its twin, {correction.title()}-corrected "
               f"over these comparisons, p < {ALPHA} in both tests.\n",
               "| multi-positive vs one-positive | " + " | ".join(header) + " |", "|" + "---|" * (1 + len(header))]
        for mp, one in twins:
            cells = []
            for _, metric, task_of in families:
                for cond in conds:
                    diff = np.mean([_mean(table, mp, task_of(x), cond, metric) - _mean(table, one, task_of(x), cond,
                                                                                        metric) for x in langs])
                    got = [twin_marks[(mp, task_of(x), cond, metric)][0] for x in langs]
                    cells.append(f"{diff:+.3f} ▲{got.count('▲')} ▼{got.count('▼')}")
            md.append(f"| {mp} vs {one} | " + " | ".join(cells) + " |")
        md.append("")
    # robustness over severity: X->X MRR@10 averaged over languages
    conds = ["clean", *severities]
    md += [f"## Mean over languages: difference from `{reference}`, 95% hierarchical-bootstrap interval\n",
           "Per question, the score averaged over the languages (questions are parallel), then seeds and questions "
           "resampled.\n", "| row | " + " | ".join(f"{fam} {c}" for fam in MEAN_FAMILIES for c in conds) + " |",
           "|" + "---|" * (1 + len(MEAN_FAMILIES) * len(conds))]
    for row, by_key in data["mean_differences"].items():
        md.append("| " + " | ".join([row] + [
            "n/a" if by_key.get(f"{fam} | {c}") is None else
            "{diff:+.4f} [{low:+.4f}, {high:+.4f}]".format(**by_key[f"{fam} | {c}"])
            for fam in MEAN_FAMILIES for c in conds]) + " |")
    md.append("")
    md += ["## Difference from the reference, X->X MRR@10, with 95% hierarchical-bootstrap intervals\n",
           "| row | " + " | ".join(f"{x} {c}" for x in langs for c in conds) + " |",
           "|" + "---|" * (1 + len(langs) * len(conds))]
    for row in rows:
        if row == reference:
            continue
        got = []
        for x in langs:
            for c in conds:
                lo, hi = intervals[" | ".join((row, f"{x}->{x}", c, "mrr@10"))]
                diff = _mean(table, row, f"{x}->{x}", c, "mrr@10") - _mean(table, reference, f"{x}->{x}", c,
                                                                           "mrr@10")
                got.append(f"{diff:+.3f} [{lo:+.3f}, {hi:+.3f}]")
        md.append("| " + " | ".join([row] + got) + " |")
    md.append("")
    md += ["## Robustness curve: X->X MRR@10, mean over languages, by severity\n",
           "| row | " + " | ".join(conds) + " | gap " + " | gap ".join(severities) + " |",
           "|" + "---|" * (1 + 2 * len(conds) - 1)]
    for row in rows:
        vals = [np.mean([_mean(table, row, f"{x}->{x}", c, "mrr@10") for x in langs]) for c in conds]
        gaps = [(vals[0] - v) / vals[0] if vals[0] else float("nan") for v in vals[1:]]
        md.append("| " + " | ".join([row] + [f"{v:.3f}" for v in vals] + [f"{g:.1%}" for g in gaps]) + " |")
    md.append("")
    md += ["## Typo gap per language (X->X MRR@10, relative drop clean -> " + str(main_sev) + ")\n",
           "| row | " + " | ".join(langs) + " |", "|" + "---|" * (1 + len(langs))]
    for row in rows:
        gaps = []
        for x in langs:
            c = _mean(table, row, f"{x}->{x}", "clean", "mrr@10")
            t = _mean(table, row, f"{x}->{x}", main_sev, "mrr@10")
            gaps.append(f"{(c - t) / c:.1%}" if c else "n/a")
        md.append("| " + " | ".join([row] + gaps) + " |")
    md.append("")

    with atomic_open(os.path.join(out, "report.md")) as f:
        f.write("\n".join(md))
    with atomic_open(os.path.join(out, "report.tex")) as f:
        f.write("\n".join(latex))
    with atomic_open(os.path.join(out, "report.json")) as f:
        json.dump(data, f, indent=1, ensure_ascii=False)
    plot(out, table, rows, langs, main_sev)
    plot_differences(out, table, intervals, rows, reference, langs, ["clean", main_sev] if main_sev else ["clean"])
    return data


def plot_differences(out: str, table, intervals, rows, reference, langs, conds):
    """report_diff.png: each row's X->X MRR@10 minus the reference's, per language, with its 95% interval;
    one panel per condition (clean, typo'd)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    others = [r for r in rows if r != reference]
    if not others:
        return
    fig, axes = plt.subplots(1, len(conds), figsize=(max(8, 1.1 * len(langs)) * len(conds) / 1.5, 4.5),
                             sharey=True, squeeze=False)
    width = 0.8 / len(others)
    x = np.arange(len(langs))
    for ax, cond in zip(axes[0], conds):
        for i, row in enumerate(others):
            diffs, low, high = [], [], []
            for lang in langs:
                task = f"{lang}->{lang}"
                d = _mean(table, row, task, cond, "mrr@10") - _mean(table, reference, task, cond, "mrr@10")
                lo, hi = intervals[" | ".join((row, task, cond, "mrr@10"))]
                diffs.append(d), low.append(d - lo), high.append(hi - d)
            ax.errorbar(x + i * width - 0.4 + width / 2, diffs, yerr=[low, high], fmt="o", ms=3, capsize=2,
                        label=row)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xticks(x, langs)
        ax.set_title(f"{cond} queries")
    axes[0][0].set_ylabel(f"X->X MRR@10 minus {reference}")
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.suptitle(f"Difference from {reference} per language, 95% hierarchical-bootstrap interval (seeds, questions)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "report_diff.png"), dpi=120)
    plt.close(fig)


def plot(out: str, table, rows, langs, severity):
    """report_xx.png: per language, clean and typo'd X->X MRR@10, one bar pair per row;
    report_gap.png: the typo gap per language, one bar per row."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = 0.8 / len(rows)
    x = np.arange(len(langs))
    fig, ax = plt.subplots(figsize=(max(8, 1.2 * len(langs)), 4.5))
    for i, row in enumerate(rows):
        clean = [_mean(table, row, f"{lang}->{lang}", "clean", "mrr@10") for lang in langs]
        typo = [_mean(table, row, f"{lang}->{lang}", severity, "mrr@10") for lang in langs]
        ax.bar(x + i * width, clean, width, label=f"{row} clean")
        ax.bar(x + i * width, typo, width * 0.5, color="black", alpha=0.35,
               label=f"typo'd ({severity})" if i == 0 else None)
    ax.set_xticks(x + 0.4 - width / 2, langs)
    ax.set_ylabel("MRR@10 (X->X)")
    ax.set_title(f"XQuAD-R X->X: clean (bar) and typo'd {severity} (dark inner bar)")
    ax.legend(fontsize=7, ncol=len(rows) + 1, loc="upper center", bbox_to_anchor=(0.5, -0.08))
    fig.tight_layout()
    fig.savefig(os.path.join(out, "report_xx.png"), dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(max(8, 1.2 * len(langs)), 4))
    for i, row in enumerate(rows):
        gaps = []
        for lang in langs:
            c = _mean(table, row, f"{lang}->{lang}", "clean", "mrr@10")
            t = _mean(table, row, f"{lang}->{lang}", severity, "mrr@10")
            gaps.append(100 * (c - t) / c if c else 0.0)
        ax.bar(x + i * width, gaps, width, label=row)
    ax.set_xticks(x + 0.4 - width / 2, langs)
    ax.set_ylabel(f"typo gap, % of clean MRR@10 ({severity})")
    ax.set_title("Relative drop from clean to typo'd queries (lower is more robust)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "report_gap.png"), dpi=120)
    plt.close(fig)


def xx_table(report: dict, severity: str = None) -> str:
    """A plain-text table of a report's X->X MRR@10 per language, clean and typo'd (``severity``, default the
    first), one column pair per row of the report (means over seeds), as the quickstart prints it."""
    rows = report["rows"]
    figures = report["figures"]
    first = figures[rows[0]]
    langs = [t.split("->")[0] for t in first if t.split("->")[0] == t.split("->")[1]]
    severity = severity or next(c for c in first[f"{langs[0]}->{langs[0]}"] if c != "clean")
    width = max(15, *(len(r) + 2 for r in rows))  # a cell, "0.812 / 0.790", is 13 characters
    lines = [f"X->X MRR@10, clean / typo'd ({severity})", "lang  " + "".join(f"{r:>{width}}" for r in rows)]
    for lang in langs + ["mean"]:
        cells = []
        for row in rows:
            tasks = [f"{x}->{x}" for x in langs] if lang == "mean" else [f"{lang}->{lang}"]
            clean = np.mean([figures[row][t]["clean"]["mrr@10"] for t in tasks])
            typo = np.mean([figures[row][t][severity]["mrr@10"] for t in tasks])
            cells.append(f"{clean:.3f} / {typo:.3f}".rjust(width))
        lines.append(f"{lang:<6}" + "".join(cells))
    return "\n".join(lines)


def main(argv=None) -> int:
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="python -m mpcl_tevatron.xmrc.report",
                                description="Print an XMRC run's X->X MRR@10 table (clean / typo'd) from its "
                                            "report.json; the full report is report.md beside it.")
    p.add_argument("run_dir", help="an XMRC recipe output folder")
    p.add_argument("--severity", default=None, help="typo'd condition to show (default: the first)")
    args = p.parse_args(argv)
    path = os.path.join(args.run_dir, "report.json")
    if not os.path.isfile(path):
        print(f"error: {path}: no such file (run the XMRC recipe into {args.run_dir} first)", file=sys.stderr)
        return 2
    with open(path, encoding="utf-8") as f:
        print(xx_table(json.load(f), args.severity))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
