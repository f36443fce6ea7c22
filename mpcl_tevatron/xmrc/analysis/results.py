"""The XMRC report's data, computed once from the recipe's runs: per-question scores (ranx), their means over
typo'd copies and seeds, the significance tests, the intervals. ``report.py`` only renders a ``Results``.

Input: the run's records (``records.py``: the rank of every relevant candidate, per run, task, query set and
question), from which ranx's metric kernels compute per-question MRR@10, nDCG@10, Recall@100, mAP@20
(LAReQA's measure as XTREME computes it) and mAP@100. Typo'd figures average a severity's copies; the typo gap
is the relative drop ``(clean - typo'd) / clean`` (``Results.typo_gap``).

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
set of families corrected on its own.

The primary comparison (``PRIMARY``, named before the run: ``mp_infonce`` minus ``infonce`` on X->X MRR@10 and
X->pool mAP@20, mean over languages, every condition) is one family of its own, Holm-corrected, with 95%
intervals that model seeds, typo'd copies and questions as crossed random samples
(``statistics.difference_estimate``; coverage checked by simulation at the run's design). The same interval
bounds every other difference (per language, and averaged over languages).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from .records import METRICS, RECORDS, Records, collect
from .statistics import ALPHA, corrected, difference_interval, difference_p_value, randomization_p_values
from ..data.tasks import Task

#: Each multi-positive objective and the objective it extends with the typo'd variants as extra positives
#: (Sidiropoulos & Kanoulas, ECIR 2024: DR+DLM vs DR+DL, DR+DLM+ST vs DR+DL+ST; SIGIR 2022's CL with K positives).
TWINS = {"mp_infonce": "dual_infonce", "dst_mp": "dst", "typo_cl_mp": "typo_cl"}
#: The language-averaged comparisons (``mean_differences``): the task kind and its metric. X->pivot and
#: pivot->X (X->en and en->X by default) average over the languages other than the pivot.
MEAN_FAMILIES = {"X->X MRR@10": ("X->X", "mrr@10"), "X->pool mAP@20": ("X->pool", "map@20"),
                 "X->pivot MRR@10": ("X->pivot", "mrr@10"), "pivot->X MRR@10": ("pivot->X", "mrr@10")}
#: The research question's comparison, named before any run: multi-positive InfoNCE minus standard InfoNCE on
#: the language-averaged X->X MRR@10 and X->pool mAP@20 (``PRIMARY_FAMILIES``) under every condition. One
#: family, Holm-corrected on its own; every other comparison in the report is secondary.
PRIMARY = ("mp_infonce", "infonce")
PRIMARY_FAMILIES = ("X->X MRR@10", "X->pool mAP@20")

#: {row: {task name: {condition: {metric: array}}}}: per-question scores ([questions], or [seeds, copies, questions])
Scores = Dict[str, Dict[str, Dict[str, Dict[str, np.ndarray]]]]


def typo_gap(clean: float, typo: float) -> float:
    """The relative drop from clean to typo'd, ``(clean - typo) / clean`` (nan when clean is 0)."""
    return (clean - typo) / clean if clean else float("nan")


def by_seed(records: Records) -> Tuple[Scores, Scores]:
    """({row: {task: {condition: {metric: [seeds, copies, questions]}}}}, the same averaged over seeds and
    copies: [questions]) from the records (clean has one "copy")."""
    per_seed = {}
    for row, runs in records.meta["seeds"].items():
        per_seed[row] = {}
        for task in records.tasks:
            per_seed[row][task.name] = {}
            for cond in records.meta["sets"]:
                by_run = [records.scores(run, task.name, cond) for run in runs]
                per_seed[row][task.name][cond] = {m: np.stack([s[m] for s in by_run]) for m in METRICS}
    mean = {row: {task: {cond: {m: a.mean(axis=(0, 1)) for m, a in metrics.items()} for cond, metrics in conds.items()}
                  for task, conds in tasks.items()} for row, tasks in per_seed.items()}
    return per_seed, mean


def seed_mean_differences(treatment: np.ndarray, control: np.ndarray) -> np.ndarray:
    """Per seed of ``treatment`` [seeds, copies, questions]: its mean minus ``control``'s, seed k against seed
    k when both have as many seeds, else against the control's mean over its seeds (a zero-shot control has
    one run)."""
    t = treatment.reshape(len(treatment), -1).mean(axis=1)
    c = control.reshape(len(control), -1).mean(axis=1)
    return t - c if len(t) == len(c) else t - c.mean()


def significance(table: Scores, comparisons: Sequence[Tuple[str, str]], correction: str, seed: int = 0,
                 per_seed: Optional[Scores] = None):
    """{(row, task, condition, metric): (mark, p_student, p_fisher)} for each ``(row, control)`` of
    ``comparisons``, on the per-question scores of ``table`` (averaged over seeds). The comparisons of one
    metric are one family per test, corrected together. With ``per_seed`` ({row: ... [seeds, questions]}), a
    mark also needs the difference's sign in every seed (``seed_mean_differences``)."""
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
                seed_means = seed_mean_differences(per_seed[row][task][condition][metric],
                                                   per_seed[comparison_of[row]][task][condition][metric])
                sig = bool(np.all(seed_means > 0) if higher else np.all(seed_means < 0))
            out[keys[i]] = ("▲" if higher else "▼") if sig else "", float(ct[j]), float(cf[j])
    return out


@dataclass
class Results:
    """Everything the report states, computed once from the records (``Results.from_records``); renderers
    only format it."""

    rows: List[str]
    seeds: Dict[str, List[str]]  # row -> its runs, one per training seed
    tasks: List[Task]
    severities: List[str]
    reference: str
    correction: str
    settings: dict
    per_seed: Scores  # [seeds, copies, questions]
    scores: Scores  # averaged over seeds and copies: [questions]
    marks: dict  # {(row, task, condition, metric): (mark, p_student, p_fisher)} against the reference
    twin_marks: dict  # the same, multi-positive against its one-positive twin
    n_runs: int
    #: {task: its question ids, in the order of the score arrays}
    questions: Optional[Dict[str, List[str]]] = None
    #: {(row, X->X task, condition): (low, high)}: 95% interval of MRR@10 minus the reference's
    #: (``statistics.difference_interval``; filled by ``from_records``)
    intervals: Optional[dict] = None
    #: ``mean_differences()``, filled by ``from_records``
    mean_diffs: Optional[dict] = None
    #: ``mean_differences(self.twins)``: each multi-positive row minus its one-positive twin
    twin_mean_diffs: Optional[dict] = None
    #: ``primary_comparison()``: None when the run lacks either row of ``PRIMARY``
    primary: Optional[List[dict]] = None

    @classmethod
    def build(cls, out: str, rows: List[str], tasks: Sequence[Task], severities: Sequence[str],
              reference: str = "infonce", correction: str = "holm",
              seeds: Optional[Dict[str, List[str]]] = None) -> "Results":
        """Record every run of ``out`` (``records.collect``), write the records to ``<out>/records.npz``, and
        compute the results from them. ``seeds`` maps a row to its runs (``runs/<run>.pkl``); by default each
        row is one run of its own name."""
        seeds = {row: list((seeds or {}).get(row, [row])) for row in rows}
        with open(os.path.join(out, "settings.json"), encoding="utf-8") as f:
            settings = json.load(f)
        records = collect(out, seeds, tasks, severities,
                          {"reference": reference, "correction": correction, "settings": settings})
        records.save(os.path.join(out, RECORDS))
        return cls.from_records(records)

    @classmethod
    def from_records(cls, records: Records) -> "Results":
        """Average over seeds and copies, test and bound the differences: everything from the records alone."""
        meta = records.meta
        seeds, rows, reference = meta["seeds"], list(meta["seeds"]), meta["reference"]
        correction = meta["correction"]
        per_seed, scores = by_seed(records)
        marks = significance(scores, [(row, reference) for row in rows if row != reference], correction,
                             per_seed=per_seed)
        twins = [(mp, one) for mp, one in TWINS.items() if mp in rows and one in rows]
        n_runs = sum(len(runs) for runs in seeds.values()) * len(records.tasks) * len(meta["sets"])
        results = cls(rows, seeds, records.tasks, list(meta["severities"]), reference, correction,
                      meta["settings"], per_seed, scores, marks,
                      significance(scores, twins, correction, per_seed=per_seed), n_runs,
                      questions={t.name: records.questions(t.name) for t in records.tasks})
        results.intervals = {(row, results.task("X->X", x), cond): results.interval(
            row, reference, results.task("X->X", x), cond, "mrr@10")
            for row in rows if row != reference for x in results.langs for cond in results.conditions}
        results.mean_diffs = results.mean_differences()
        results.twin_mean_diffs = results.mean_differences(results.twins)
        results.primary = results.primary_comparison()
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

    def family_tasks(self, kind: str) -> List[str]:
        """The tasks a language-averaged family averages: ``kind``'s task of every language (X->pivot and
        pivot->X leave the pivot out: its own is X->X's)."""
        langs = [x for x in self.langs if x != self.pivot or kind not in ("X->pivot", "pivot->X")]
        return [t for t in (self.task(kind, x) for x in langs) if t is not None]

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
        runs = self.per_seed[row][task][condition][metric]
        means = runs.reshape(len(runs), -1).mean(axis=1)
        return float(np.std(means, ddof=1)) if len(means) > 1 else 0.0

    def interval(self, row: str, control: str, task: str, condition: str, metric: str) -> Tuple[float, float]:
        """95% interval of ``row`` minus ``control`` on one task (``statistics.difference_interval``: seeds,
        copies and questions)."""
        return difference_interval(self.per_seed[row][task][condition][metric],
                                   self.per_seed[control][task][condition][metric])

    def language_mean(self, row: str, kind: str, condition: str, metric: str, langs=None) -> float:
        """The mean over languages (``langs``, default all) of ``row``'s figure on ``kind``'s task of each."""
        tasks = [self.task(kind, x) for x in (self.langs if langs is None else langs)]
        return float(np.mean([self.mean(row, t, condition, metric) for t in tasks if t is not None]))

    def mark(self, row: str, task: str, condition: str, metric: str) -> str:
        """▲, ▼ or nothing: ``row`` against the reference on one task, condition and metric (both tests, corrected,
        the sign in every seed)."""
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
        (row, control); default every row against the reference) on the mean over languages of each
        language's mean, with its 95% interval (``statistics.difference_interval``).

        The languages' questions are one sample: a question id names the same question in every language
        that holds it (XQuAD-R: all 11; MLQA-R: 2-4). So the interval treats each question id as one unit:
        the mean over languages is written as a mean over the union of question ids of
        ``n_ids / n_langs * sum over the languages holding the id of score / n_questions(language)``, and
        seeds, copies and these units are the crossed axes."""
        if pairs is None:
            pairs = [(row, self.reference) for row in self.rows if row != self.reference]
        out = {}
        for row, control in pairs:
            out[row] = {}
            for family, (kind, metric) in MEAN_FAMILIES.items():
                tasks = self.family_tasks(kind)
                for cond in self.conditions:
                    if not tasks:  # a run without this kind of task
                        out[row][f"{family} | {cond}"] = None
                        continue
                    treatment = self._language_units(row, tasks, cond, metric)
                    control_units = self._language_units(control, tasks, cond, metric)
                    low, high = difference_interval(treatment, control_units)
                    out[row][f"{family} | {cond}"] = {"diff": float(treatment.mean() - control_units.mean()),
                                                      "low": low, "high": high}
        return out

    def language_mean_interval(self, row: str, kind: str, condition: str, metric: str) -> Tuple[float, float, float]:
        """(mean over languages, 95% low, high) of one row's figure: the interval of its own mean, with seeds,
        copies and question ids as crossed random samples (``mean_differences`` for the units); for a single
        run, questions alone."""
        units = self._language_units(row, self.family_tasks(kind), condition, metric)
        low, high = difference_interval(units, np.zeros((1,) + units.shape[1:]))
        return float(units.mean()), low, high

    def primary_comparison(self) -> Optional[List[dict]]:
        """``PRIMARY``'s family: per language-averaged measure and condition, the difference, its 95%
        interval, the t test's p (``statistics.difference_p_value``) and that p Holm-corrected over the
        family. None when the run lacks either row."""
        row, control = PRIMARY
        if row not in self.rows or control not in self.rows:
            return None
        out = []
        for family in PRIMARY_FAMILIES:
            kind, metric = MEAN_FAMILIES[family]
            tasks = self.family_tasks(kind)
            for cond in self.conditions if tasks else []:
                treatment = self._language_units(row, tasks, cond, metric)
                reference = self._language_units(control, tasks, cond, metric)
                low, high = difference_interval(treatment, reference)
                out.append({"measure": family, "condition": cond, "diff": float(treatment.mean() - reference.mean()),
                            "low": low, "high": high, "p": difference_p_value(treatment, reference)})
        for entry, p_holm in zip(out, corrected([e["p"] for e in out], "holm")):
            entry["p_holm"] = float(p_holm)
        return out

    def _language_units(self, row: str, tasks: List[str], condition: str, metric: str) -> np.ndarray:
        """[seeds, copies, question ids]: the per-id contributions whose mean is the mean over ``tasks``
        (languages) of each task's mean (``mean_differences``)."""
        ids = sorted({q for t in tasks for q in self.questions[t]})
        column = {q: i for i, q in enumerate(ids)}
        first = self.per_seed[row][tasks[0]][condition][metric]
        units = np.zeros((first.shape[0], first.shape[1], len(ids)))
        for t in tasks:
            where = [column[q] for q in self.questions[t]]
            units[:, :, where] += self.per_seed[row][t][condition][metric] * len(ids) / (len(tasks) * len(where))
        return units
