"""Score XMRC runs with ranx and write the comparison report: markdown, LaTeX, JSON and PNG plots.

Input: ``<out>/runs/<row>.pkl`` as the recipe's search step writes it (per task: query set name, question id,
top-100 docids and scores of every query). For each row, task and query set, ranx computes per-question
MRR@10, nDCG@10, Recall@100 and mAP@20 (LAReQA's measure). Typo'd figures are the per-question mean over a
severity's copies; the typo gap is the relative drop ``(clean - typo'd) / clean``.

Significance: every row is compared with the reference row (``infonce``) on the same questions, with ranx's
paired Student's t-test and Fisher's randomisation test (1,000 permutations, seed 0). ranx corrects for
nothing, so the p-values of one test and one metric, over all rows, tasks and conditions of the report, are
corrected together with Holm's step-down method (or Bonferroni's), and a figure is marked when the corrected
p-value is below 0.05 in *both* tests: ``▲`` above the reference, ``▼`` below.
"""

from __future__ import annotations

import json
import os
import pickle
from collections import defaultdict
from typing import Dict, List, Sequence

import numpy as np

from ..evaluation import read_qrels
from ..io import atomic_open

METRICS = ("mrr@10", "ndcg@10", "recall@100", "map@20")
ALPHA = 0.05


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


def _qrels_array(qrels: Dict[str, Dict[str, int]], questions: List[str], doc_index: Dict[str, int]) -> np.ndarray:
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
    """ranx's per-question MRR@10, nDCG@10, Recall@100 and mAP@20 from arrays: ``qrels`` as ``_qrels_array``,
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
    for row in rows:
        with open(os.path.join(out, "runs", f"{row}.pkl"), "rb") as f:
            runs = pickle.load(f)
        table[row] = {}
        for task, (_, _, path) in tasks.items():
            r = runs[task]
            questions = sorted(qrels[path])
            position = {q: i for i, q in enumerate(questions)}
            relevant = _qrels_array(qrels[path], questions, {d: i for i, d in enumerate(r["doc_ids"])})
            names = np.asarray(r["set"])
            rows_of = np.array([position.get(q, -1) for q in r["qid"]])
            by_condition = {}
            for condition in ["clean", *severities]:
                sets = ["clean"] if condition == "clean" else sorted({n for n in set(r["set"])
                                                                       if n.split(".")[0] == condition})
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


def significance(table, reference: str, correction: str, seed: int = 0):
    """{(row, task, condition, metric): (mark, p_student, p_fisher)} for every row but the reference."""
    from ranx.statistical_tests import fisher_randomization_test, paired_student_t_test
    keys, p_t, p_f, signs = [], [], [], []
    for row, tasks in table.items():
        if row == reference:
            continue
        for task, conditions in tasks.items():
            for condition, metrics in conditions.items():
                for metric, treatment in metrics.items():
                    control = table[reference][task][condition][metric]
                    diff = float(np.mean(treatment) - np.mean(control))
                    if np.allclose(treatment, control):
                        pt = pf = 1.0
                    else:
                        pt = float(paired_student_t_test(control, treatment, max_p=ALPHA)[0])
                        pf = float(fisher_randomization_test(control, treatment, n_permutations=1000,
                                                             max_p=ALPHA, random_seed=seed)[0])
                    keys.append((row, task, condition, metric))
                    p_t.append(pt if np.isfinite(pt) else 1.0)
                    p_f.append(pf)
                    signs.append(diff)
    out = {}
    by_metric = defaultdict(list)
    for i, k in enumerate(keys):
        by_metric[k[3]].append(i)
    for metric, idx in by_metric.items():
        ct, cf = corrected([p_t[i] for i in idx], correction), corrected([p_f[i] for i in idx], correction)
        for j, i in enumerate(idx):
            sig = ct[j] < ALPHA and cf[j] < ALPHA
            out[keys[i]] = ("▲" if signs[i] > 0 else "▼") if sig else "", float(ct[j]), float(cf[j])
    return out


def _mean(table, row, task, condition, metric):
    return float(np.mean(table[row][task][condition][metric]))


def write_report(out: str, rows: List[str], tasks: Dict[str, tuple], severities: Sequence[str],
                 reference: str = "infonce", correction: str = "holm") -> dict:
    table = score_runs(out, rows, tasks, severities)
    marks = significance(table, reference, correction)
    langs = [t.split("->")[0] for t in tasks if t.split("->")[0] == t.split("->")[1]]
    main_sev = severities[0] if severities else None
    settings = json.load(open(os.path.join(out, "settings.json")))
    n_runs = sum(len(c) for r in table.values() for c in r.values())

    figures = {row: {task: {cond: {m: _mean(table, row, task, cond, m) for m in METRICS}
                            for cond in table[row][task]} for task in tasks} for row in rows}
    data = {"settings": settings, "reference": reference, "correction": correction, "alpha": ALPHA,
            "metrics": list(METRICS), "rows": rows, "figures": figures,
            "significance": {" | ".join(k): {"mark": v[0], "p_student": v[1], "p_fisher": v[2]}
                             for k, v in marks.items()}, "n_runs": n_runs}

    def cell(row, task, cond, metric):
        mark = marks.get((row, task, cond, metric), ("",))[0]
        return f"{_mean(table, row, task, cond, metric):.3f}{mark}"

    md = ["# XMRC report\n", f"Reference row for significance: `{reference}`; paired Student's t and Fisher "
          f"randomisation tests, {correction.title()}-corrected per metric over the whole report; ▲/▼: "
          f"corrected p < {ALPHA} in both tests.\n", "Settings: `" + json.dumps(settings) + "`\n"]
    latex = []

    def add_table(title, metric, task_of, cond_pairs):
        header = ["row"] + [f"{lang} {label}" for lang in langs for label, _ in cond_pairs] + \
                 [f"mean {label}" for label, _ in cond_pairs]
        lines = [f"## {title}\n", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        tex = [f"% {title}", "\\begin{tabular}{l" + "r" * (len(header) - 1) + "}", "\\toprule",
               " & ".join(h.replace("->", "$\\to$") for h in header) + " \\\\", "\\midrule"]
        for row in rows:
            cells = [cell(row, task_of(lang), cond, metric) for lang in langs for _, cond in cond_pairs
                     if task_of(lang) in tasks]
            present = [lang for lang in langs if task_of(lang) in tasks]
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
    if pivot:
        add_table(f"X->{pivot} MRR@10", "mrr@10", lambda x: f"{x}->{pivot}", pairs)
        add_table(f"{pivot}->X MRR@10", "mrr@10", lambda x: f"{pivot}->{x}", pairs)
    # robustness over severity: X->X MRR@10 averaged over languages
    conds = ["clean", *severities]
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
    return data


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
