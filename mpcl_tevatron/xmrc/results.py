"""The XMRC report's data, computed once from the recipe's runs: per-question scores (ranx), their means over
typo'd copies and seeds, the significance tests, the intervals. ``report.py`` only renders a ``Results``.

Input: ``<out>/runs/<run>.pkl`` as the recipe's search step writes it (per task: query set name and question id
of every query, the searched candidates' ids, and each query's top 100 as positions in them, with scores). For
each run, task and query set, ranx's metric kernels compute per-question MRR@10, nDCG@10, Recall@100 and
mAP@20 (LAReQA's measure) on those arrays. Typo'd figures are the per-question mean over a severity's copies;
the typo gap is the relative drop ``(clean - typo'd) / clean`` (``Results.typo_gap``).

Seeds: a row (an objective) may have several runs, one per training seed. Its figures are the mean over seeds
(tables show ``mean±sd``, the sample standard deviation of the per-seed means), and its per-question scores,
which the tests compare, are averaged over seeds (and typo'd copies) first.

Significance: every row is compared with the reference row (``infonce``) on the same questions, with ranx's
paired Student's t-test and Fisher's paired randomisation test (50,000 permutations, seed 0, p = (reached + 1)
/ (permutations + 1), never 0; ``statistics.randomization_p_values``). ranx corrects for nothing, so p-values
are corrected with Holm's step-down method (or Bonferroni's) in families: **one family per test and metric**,
holding every (row, task, condition) comparison of that metric in the report. A figure is marked ``▲`` (above
the reference) or ``▼`` (below) when the corrected p-value is below 0.05 in *both* tests **and** the difference
has the same sign in every seed (seed k of the row against seed k of the reference).

Why this rule and not the tests alone: the tests treat questions as the only source of variation, so with one
seed a difference that comes from the training seed (data order, the typo'd variants drawn) looks as sure as
one that comes from the objective. Averaging over seeds before testing shrinks the seed noise, and requiring the
sign in every seed refuses a difference that one seed carries alone (``tests/test_segmenter_report.py`` builds
such a case). Each multi-positive objective is also compared with its one-positive twin (``TWINS``), a second
set of families corrected on its own: the research question's comparison. The differences from the reference
are also given with 95% hierarchical-bootstrap intervals (seeds, then questions:
``statistics.hierarchical_bootstrap_interval``).
"""

from __future__ import annotations

import json
import os
import pickle
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from ..evaluation import read_qrels
from .statistics import ALPHA, corrected, hierarchical_bootstrap_interval, randomization_p_values
from .tasks import Task

#: map@20 is the report's X->pool measure; map@100 (the whole depth-100 run) is the closest to LAReQA's mAP over
#: the full ranking (a relevant candidate below 100 adds less than 1/100 of its share).
METRICS = ("mrr@10", "ndcg@10", "recall@100", "map@20", "map@100")
#: Each multi-positive objective and the objective it extends with the typo'd variants as extra positives
#: (Sidiropoulos & Kanoulas, ECIR 2024: DR+DLM vs DR+DL, DR+DLM+ST vs DR+DL+ST; SIGIR 2022's CL with K positives).
TWINS = {"mp_infonce": "dual_infonce", "dst_mp": "dst", "typo_cl_mp": "typo_cl"}
#: The language-averaged comparisons (``mean_differences``): the task kind and its metric.
MEAN_FAMILIES = {"X->X MRR@10": ("X->X", "mrr@10"), "X->pool mAP@20": ("X->pool", "map@20")}

#: {row: {task name: {condition: {metric: array}}}}: per-question scores ([questions], or [seeds, questions])
Scores = Dict[str, Dict[str, Dict[str, Dict[str, np.ndarray]]]]


def typo_gap(clean: float, typo: float) -> float:
    """The relative drop from clean to typo'd, ``(clean - typo) / clean`` (nan when clean is 0)."""
    return (clean - typo) / clean if clean else float("nan")


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


def score_runs(out: str, runs: List[str], tasks: Sequence[Task], severities: Sequence[str]) -> Scores:
    """{run: {task: {condition: {metric: per-question array}}}}; condition: clean or a severity. Questions are
    those of the task's qrels, sorted; a question missing from a query set's run scores 0."""
    qrels = {task.qrels: read_qrels(task.qrels).to_dict() for task in tasks}
    table = {}
    for run in tqdm(runs, desc="score", unit="run"):
        with open(os.path.join(out, "runs", f"{run}.pkl"), "rb") as f:
            ranked = pickle.load(f)
        table[run] = {task.name: _score_task(ranked[task.name], qrels[task.qrels], severities) for task in tasks}
    return table


def _score_task(r: dict, qrels: Dict[str, Dict[str, int]], severities: Sequence[str]):
    questions = sorted(qrels)
    position = {q: i for i, q in enumerate(questions)}
    relevant = qrels_array(qrels, questions, {d: i for i, d in enumerate(r["doc_ids"])})
    names = np.asarray(r["set"])
    rows_of = np.array([position.get(q, -1) for q in r["qid"]])
    set_names = set(r["set"])
    by_condition = {}
    for condition in ["clean", *severities]:
        sets = ["clean"] if condition == "clean" else sorted(n for n in set_names if n.split(".")[0] == condition)
        copies = []
        for name in sets:
            take = np.flatnonzero((names == name) & (rows_of >= 0))
            ranks = np.full((len(questions), r["ranks"].shape[1]), -1, dtype=np.int64)
            scores = np.zeros(ranks.shape)
            ranks[rows_of[take]], scores[rows_of[take]] = r["ranks"][take], r["scores"][take]
            copies.append(per_query_scores(relevant, ranks, scores))
        if copies:
            by_condition[condition] = {m: np.mean([c[m] for c in copies], axis=0) for m in METRICS}
    return by_condition


def by_seed(run_table: Scores, seeds: Dict[str, List[str]]) -> Tuple[Scores, Scores]:
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


def seed_differences(per_seed: Scores, row: str, control: str, task: str, condition: str,
                     metric: str) -> np.ndarray:
    """[seeds, questions]: ``row`` minus ``control``, seed k against seed k when both have the same number of
    seeds, else against the control's mean over its seeds (a zero-shot control has one run)."""
    treatment = per_seed[row][task][condition][metric]
    control_runs = per_seed[control][task][condition][metric]
    if len(control_runs) != len(treatment):
        control_runs = control_runs.mean(axis=0, keepdims=True)
    return treatment - control_runs


def significance(table: Scores, comparisons: Sequence[Tuple[str, str]], correction: str, seed: int = 0,
                 per_seed: Optional[Scores] = None):
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
                seed_means = seed_differences(per_seed, row, comparison_of[row], task, condition, metric).mean(axis=1)
                sig = bool(np.all(seed_means > 0) if higher else np.all(seed_means < 0))
            out[keys[i]] = ("▲" if higher else "▼") if sig else "", float(ct[j]), float(cf[j])
    return out


@dataclass
class Results:
    """Everything the report states, computed once (``Results.build``); renderers only format it."""

    rows: List[str]
    seeds: Dict[str, List[str]]  # row -> its runs, one per training seed
    tasks: List[Task]
    severities: List[str]
    reference: str
    correction: str
    settings: dict
    per_seed: Scores  # [seeds, questions]
    scores: Scores  # averaged over seeds: [questions]
    marks: dict  # {(row, task, condition, metric): (mark, p_student, p_fisher)} against the reference
    twin_marks: dict  # the same, multi-positive against its one-positive twin
    n_runs: int
    #: {(row, X->X task, condition): (low, high)}: 95% hierarchical-bootstrap interval of MRR@10 minus the
    #: reference's (filled by ``build``)
    intervals: Optional[dict] = None
    #: ``mean_differences()``, filled by ``build``
    mean_diffs: Optional[dict] = None
    #: ``mean_differences(self.twins)``: each multi-positive row minus its one-positive twin, filled by ``build``
    twin_mean_diffs: Optional[dict] = None

    @classmethod
    def build(cls, out: str, rows: List[str], tasks: Sequence[Task], severities: Sequence[str],
              reference: str = "infonce", correction: str = "holm",
              seeds: Optional[Dict[str, List[str]]] = None) -> "Results":
        """Score every run of ``out``, average over seeds and test. ``seeds`` maps a row to its runs
        (``runs/<run>.pkl``); by default each row is one run of its own name."""
        seeds = {row: list((seeds or {}).get(row, [row])) for row in rows}
        run_table = score_runs(out, [r for runs in seeds.values() for r in runs], tasks, severities)
        per_seed, scores = by_seed(run_table, seeds)
        marks = significance(scores, [(row, reference) for row in rows if row != reference], correction,
                             per_seed=per_seed)
        twins = [(mp, one) for mp, one in TWINS.items() if mp in rows and one in rows]
        with open(os.path.join(out, "settings.json"), encoding="utf-8") as f:
            settings = json.load(f)
        results = cls(list(rows), seeds, list(tasks), list(severities), reference, correction, settings,
                      per_seed, scores, marks, significance(scores, twins, correction, per_seed=per_seed),
                      sum(len(c) for r in run_table.values() for c in r.values()))
        results.intervals = {(row, results.task("X->X", x), cond): hierarchical_bootstrap_interval(
            seed_differences(per_seed, row, reference, results.task("X->X", x), cond, "mrr@10"))
            for row in rows if row != reference for x in results.langs for cond in results.conditions}
        results.mean_diffs = results.mean_differences()
        results.twin_mean_diffs = results.mean_differences(results.twins)
        return results

    # --- what the tables are over ------------------------------------------------------------------------
    @property
    def conditions(self) -> List[str]:
        return ["clean", *self.severities]

    @property
    def langs(self) -> List[str]:
        """The languages with an X->X task, in task order."""
        return [t.query for t in self.tasks if t.monolingual]

    @property
    def pivot(self) -> Optional[str]:
        """Y of the X->Y tasks (``tasks.xmrc_tasks`` lists X->pivot first), or None."""
        return next((t.target for t in self.tasks if t.kind == "X->Y"), None)

    @property
    def twins(self) -> List[Tuple[str, str]]:
        return [(mp, one) for mp, one in TWINS.items() if mp in self.rows and one in self.rows]

    def task(self, kind: str, lang: str) -> Optional[str]:
        """The name of ``lang``'s task of a kind: ``X->X``, ``X->pool``, ``X->pivot`` or ``pivot->X``."""
        query, target = {"X->X": (lang, lang), "X->pool": (lang, "pool"), "X->pivot": (lang, self.pivot),
                         "pivot->X": (self.pivot, lang)}[kind]
        return next((t.name for t in self.tasks if (t.query, t.target) == (query, target)), None)

    # --- figures -------------------------------------------------------------------------------------------
    def mean(self, row: str, task: str, condition: str, metric: str) -> float:
        """The row's figure: mean over questions of the seed-averaged per-question score."""
        return float(np.mean(self.scores[row][task][condition][metric]))

    def seed_sd(self, row: str, task: str, condition: str, metric: str) -> float:
        """Sample standard deviation of the per-seed means (0 with one seed)."""
        means = self.per_seed[row][task][condition][metric].mean(axis=1)
        return float(np.std(means, ddof=1)) if len(means) > 1 else 0.0

    def language_mean(self, row: str, kind: str, condition: str, metric: str, langs=None) -> float:
        tasks = [self.task(kind, x) for x in (self.langs if langs is None else langs)]
        return float(np.mean([self.mean(row, t, condition, metric) for t in tasks if t is not None]))

    def mark(self, row: str, task: str, condition: str, metric: str) -> str:
        return self.marks.get((row, task, condition, metric), ("",))[0]

    def difference(self, row: str, task: str, condition: str, metric: str, control: Optional[str] = None) -> float:
        """``row``'s figure minus ``control``'s (default: the reference's)."""
        return (self.mean(row, task, condition, metric)
                - self.mean(control or self.reference, task, condition, metric))

    def typo_gap(self, row: str, condition: str, lang: Optional[str] = None) -> float:
        """The typo gap of X->X MRR@10 from clean to ``condition``: of ``lang``, or of the mean over languages."""
        langs = None if lang is None else [lang]
        return typo_gap(self.language_mean(row, "X->X", "clean", "mrr@10", langs),
                        self.language_mean(row, "X->X", condition, "mrr@10", langs))

    def mean_differences(self, pairs: Optional[Sequence[Tuple[str, str]]] = None) -> dict:
        """{row: {"<family> | <condition>": {"diff", "low", "high"}}}: each row minus its control (``pairs`` of
        (row, control); default every row against the reference) on the score averaged over languages, per
        question (XQuAD-R's questions are parallel: the same ids in every language), with its 95%
        hierarchical-bootstrap interval over seeds and questions. None where the languages do not share their
        questions (a language lost some)."""
        if pairs is None:
            pairs = [(row, self.reference) for row in self.rows if row != self.reference]
        out = {}
        for row, control in pairs:
            out[row] = {}
            for family, (kind, metric) in MEAN_FAMILIES.items():
                for cond in self.conditions:
                    diffs = [seed_differences(self.per_seed, row, control, self.task(kind, x), cond, metric)
                             for x in self.langs if self.task(kind, x) in self.per_seed[row]]
                    if not diffs or len({d.shape for d in diffs}) != 1:
                        out[row][f"{family} | {cond}"] = None
                        continue
                    mean = np.mean(diffs, axis=0)  # [seeds, questions]
                    low, high = hierarchical_bootstrap_interval(mean)
                    out[row][f"{family} | {cond}"] = {"diff": float(mean.mean()), "low": low, "high": high}
        return out
