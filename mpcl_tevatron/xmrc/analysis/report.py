"""Render an XMRC run's ``Results`` (``results.py``: scores, means over copies and seeds, tests, intervals) as
the report: ``report.md``, ``report.tex``, ``report.json`` and PNG plots, each from one short function.
``python -m mpcl_tevatron.xmrc.analysis.report RUN`` prints the X->X table of a finished run.

How the figures, marks and intervals are computed, and why: ``results.py``'s docstring.
"""

from __future__ import annotations

import json
import math
import os
from typing import Dict, List, NamedTuple, Optional, Sequence

import numpy as np

from ...cli import command, one_line_errors
from ...io import InputError, atomic_open, read_json
from .records import RECORDS, Records
from .results import MEAN_FAMILIES, METRICS, PRIMARY, TWINS, Results
from .statistics import ALPHA
from ..data.tasks import Task


class TableSpec(NamedTuple):
    """One per-language table: rows x (language, condition) cells of ``metric`` on each language's ``kind``
    task, then the mean over the languages."""

    title: str
    metric: str
    kind: str  # X->X, X->pool, X->pivot, pivot->X
    langs: List[str]
    conditions: List[tuple]  # (label, condition)


def table_specs(results: Results) -> List[TableSpec]:
    """The per-language tables, for markdown and LaTeX alike. X->pivot and pivot->X leave out pivot->pivot,
    which is X->X's (the report page's tables agree)."""
    main = results.severities[0] if results.severities else None
    pairs = [("clean", "clean")] + ([(f"typo {main}", main)] if main else [])
    specs = [TableSpec("X->X MRR@10, clean and typo'd (main table)", "mrr@10", "X->X", results.langs, pairs),
             TableSpec("X->pool mAP@20", "map@20", "X->pool", results.langs, pairs)]
    pivot = results.pivot
    if pivot:
        others = [x for x in results.langs if x != pivot]
        specs += [TableSpec(f"X->{pivot} MRR@10 (X != {pivot})", "mrr@10", "X->pivot", others, pairs),
                  TableSpec(f"{pivot}->X MRR@10 (X != {pivot})", "mrr@10", "pivot->X", others, pairs)]
    return specs


def cell(results: Results, row: str, task: str, condition: str, metric: str) -> str:
    """``0.812±0.003▲``: the mean over seeds, the seed sd (with several seeds) and the mark."""
    sd = f"±{results.seed_sd(row, task, condition, metric):.3f}" if len(results.seeds[row]) > 1 else ""
    return f"{results.mean(row, task, condition, metric):.3f}{sd}{results.mark(row, task, condition, metric)}"


def table_cells(results: Results, spec: TableSpec, row: str) -> tuple:
    """(per-language cells, per-condition means over the languages) of one row of a table."""
    tasks = [t for t in (results.task(spec.kind, x) for x in spec.langs) if t is not None]
    cells = [cell(results, row, t, cond, spec.metric) for t in tasks for _, cond in spec.conditions]
    means = [f"{np.mean([results.mean(row, t, cond, spec.metric) for t in tasks]):.3f}"
             for _, cond in spec.conditions]
    return cells, means


def _header(spec: TableSpec) -> List[str]:
    return (["row"] + [f"{x} {label}" for x in spec.langs for label, _ in spec.conditions]
            + [f"mean {label}" for label, _ in spec.conditions])


def md_table(header: List[str], lines: List[List[str]]) -> List[str]:
    """A markdown table's lines (header, rule, a line per row) and a blank line after it."""
    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(line) + " |" for line in lines] + [""])


def interval_cell(entry: dict) -> str:
    """A difference and its 95% interval, ``{"diff", "low", "high"}``, as a table shows it."""
    return "{diff:+.4f} [{low:+.4f}, {high:+.4f}]".format(**entry)


def _gap(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1%}"


def markdown(results: Results) -> str:
    """The whole report as markdown: the primary comparison first, then every table."""
    r = results
    many_seeds = any(len(runs) > 1 for runs in r.seeds.values())
    seed_note = (" Figures are means over each row's training seeds (±: sample sd of the per-seed means); "
                 "a mark also needs the difference's sign in every seed.") if many_seeds else ""
    md = ["# XMRC report\n", f"Reference row for significance: `{r.reference}`; paired Student's t and Fisher "
          f"randomisation tests on per-question scores (averaged over typo'd copies and seeds), "
          f"{r.correction.title()}-corrected in one family per test and metric (every row, task and condition of "
          f"that metric); ▲/▼: corrected p < {ALPHA} in both tests.{seed_note}\n",
          "Runs per row: " + ", ".join(f"{row} {len(runs)}" for row, runs in r.seeds.items()) + "\n",
          "Settings: `" + json.dumps(r.settings) + "`\n"]
    for spec in table_specs(r):
        md += [f"## {spec.title}\n"] + md_table(_header(spec), [[row, *sum(table_cells(r, spec, row), [])]
                                                                 for row in r.rows])
    md = md[:4] + _primary_markdown(r) + md[4:]
    md += _twins_markdown(r) + _differences_markdown(r) + _robustness_markdown(r)
    return "\n".join(md)


def _primary_markdown(r: Results) -> List[str]:
    if not r.primary:
        return []
    row, control = PRIMARY
    lines = [[e["measure"], e["condition"], f"{e['diff']:+.4f}", f"[{e['low']:+.4f}, {e['high']:+.4f}]",
              f"{e['p']:.3g}", f"{e['p_holm']:.3g}"] for e in r.primary]
    return ([f"## The primary comparison: `{row}` minus `{control}`\n",
             f"Named before the run: the research question's comparison, one family, Holm-corrected on its own. "
             f"Mean over languages; 95% interval and t test with seeds ({len(r.seeds[row])} and "
             f"{len(r.seeds[control])}), typo'd copies and questions as crossed random samples. Every other "
             f"comparison below is secondary.\n"]
            + md_table(["measure", "condition", "difference", "95% interval", "p", "p (Holm)"], lines))


def _family(r: Results, family: str) -> str:
    """A language-averaged family's name in a table: the pivot spelled out (``X->en MRR@10``)."""
    return family.replace("pivot", r.pivot or "pivot")


def _twins_markdown(r: Results) -> List[str]:
    if not r.twins:
        return []
    header = ["multi-positive vs one-positive"] + [f"{_family(r, fam)} {c}" for fam in MEAN_FAMILIES
                                                   for c in r.conditions]
    lines = []
    for mp, one in r.twins:
        cells = []
        for family, (kind, metric) in MEAN_FAMILIES.items():
            for cond in r.conditions:
                tasks = r.family_tasks(kind)
                if not tasks:  # X->pivot in a run of the pivot alone
                    cells.append("n/a")
                    continue
                got = [r.twin_marks[(mp, t, cond, metric)][0] for t in tasks]
                found = (r.twin_mean_diffs or {}).get(mp, {}).get(f"{family} | {cond}")
                interval = "" if found is None else " [{low:+.4f}, {high:+.4f}]".format(**found)
                diff = np.mean([r.difference(mp, t, cond, metric, control=one) for t in tasks])
                cells.append(f"{diff:+.4f}{interval} ▲{got.count('▲')} ▼{got.count('▼')}")
        lines.append([f"{mp} vs {one}", *cells])
    return (["## Multi-positive vs its one-positive twin\n",
             f"Mean over languages of (multi-positive - one-positive), with its 95% interval "
             f"(seeds, typo'd copies and question ids as crossed random samples); ▲n/▼n: "
             f"languages where the multi-positive objective is above/below its twin, {r.correction.title()}-corrected "
             f"over these comparisons, p < {ALPHA} in both tests.\n"] + md_table(header, lines))


def _mean_differences_markdown(r: Results) -> List[str]:
    """Every row's mean over languages minus the reference's, a column per family and condition."""
    header = ["row"] + [f"{_family(r, fam)} {c}" for fam in MEAN_FAMILIES for c in r.conditions]
    lines = [[row] + ["n/a" if by_key.get(f"{fam} | {c}") is None else interval_cell(by_key[f"{fam} | {c}"])
                      for fam in MEAN_FAMILIES for c in r.conditions] for row, by_key in r.mean_diffs.items()]
    return [f"## Mean over languages: difference from `{r.reference}`, 95% interval\n",
            "The mean over languages of each language's mean; seeds, typo'd copies and question ids (a question "
            "in several languages is one unit) as crossed random samples.\n"] + md_table(header, lines)


def _differences_markdown(r: Results) -> List[str]:
    md = _mean_differences_markdown(r)
    lines = []
    for row in r.rows:
        if row == r.reference:
            continue
        got = []
        for x in r.langs:
            task = r.task("X->X", x)
            for c in r.conditions:
                lo, hi = r.intervals[(row, task, c)]
                got.append(f"{r.difference(row, task, c, 'mrr@10'):+.3f} [{lo:+.3f}, {hi:+.3f}]")
        lines.append([row, *got])
    return md + ["## Difference from the reference, X->X MRR@10, with 95% intervals\n"] + \
        md_table(["row"] + [f"{x} {c}" for x in r.langs for c in r.conditions], lines)


def _robustness_markdown(r: Results) -> List[str]:
    header = ["row", *r.conditions] + [f"gap {s}" for s in r.severities]
    lines = [[row] + [f"{r.language_mean(row, 'X->X', c, 'mrr@10'):.3f}" for c in r.conditions]
             + [_gap(r.typo_gap(row, s)) for s in r.severities] for row in r.rows]
    md = ["## Robustness curve: X->X MRR@10, mean over languages, by severity\n"] + md_table(header, lines)
    main = r.severities[0] if r.severities else None
    if main is None:
        return md
    lines = [[row] + [_gap(r.typo_gap(row, main, x)) for x in r.langs] for row in r.rows]
    return md + [f"## Typo gap per language (X->X MRR@10, relative drop clean -> {main})\n"] + \
        md_table(["row", *r.langs], lines)


def latex(results: Results) -> str:
    """The per-language tables as LaTeX tabulars (booktabs)."""
    tex = []
    for spec in table_specs(results):
        header = _header(spec)
        tex += [f"% {spec.title}", "\\begin{tabular}{l" + "r" * (len(header) - 1) + "}", "\\toprule",
                " & ".join(header) + " \\\\", "\\midrule"]
        for row in results.rows:
            cells, means = table_cells(results, spec, row)
            cells = [c.replace("▲", "$^\\blacktriangle$").replace("▼", "$^\\blacktriangledown$") for c in cells]
            tex.append(" & ".join([row.replace("_", "\\_"), *cells, *means]) + " \\\\")
        tex += ["\\bottomrule", "\\end{tabular}", ""]
    return "\n".join(tex)


def json_data(results: Results) -> dict:
    """report.json: settings, figures (means over seeds), seed sds, marks and p-values, intervals."""
    r = results

    def per_task(value):
        return {row: {t.name: {c: {m: value(row, t.name, c, m) for m in METRICS} for c in r.scores[row][t.name]}
                      for t in r.tasks} for row in r.rows}

    return {"settings": r.settings, "reference": r.reference, "correction": r.correction, "alpha": ALPHA,
            "metrics": list(METRICS), "rows": r.rows, "seeds": r.seeds, "figures": per_task(r.mean),
            "seed_sd": per_task(r.seed_sd),
            "significance": {" | ".join(k): {"mark": v[0], "p_student": v[1], "p_fisher": v[2]}
                             for k, v in r.marks.items()},
            "twins": {" | ".join(k): {"one_positive": TWINS[k[0]], "mark": v[0], "p_student": v[1],
                                      "p_fisher": v[2]} for k, v in r.twin_marks.items()},
            "intervals_vs_reference": {" | ".join((*k, "mrr@10")): {"low": lo, "high": hi}
                                       for k, (lo, hi) in r.intervals.items()},
            "mean_differences": r.mean_diffs, "twin_mean_differences": r.twin_mean_diffs, "n_runs": r.n_runs,
            "primary": {"row": PRIMARY[0], "control": PRIMARY[1], "comparisons": r.primary}}


def write_report(out: str, rows: List[str], tasks: Sequence[Task], severities: Sequence[str],
                 reference: str = "infonce", correction: str = "holm",
                 seeds: Optional[Dict[str, List[str]]] = None) -> dict:
    """Score and test the runs (``Results.build``), then write report.md, report.tex, report.json and the
    plots into ``out``. Returns report.json's content."""
    return render(out, Results.build(out, rows, tasks, severities, reference, correction, seeds))


def render(out: str, results: Results) -> dict:
    """Write report.md, report.tex, report.json and the plots of ``results`` into ``out``; returns
    report.json's content."""
    data = json_data(results)
    with atomic_open(os.path.join(out, "report.md")) as f:
        f.write(markdown(results))
    with atomic_open(os.path.join(out, "report.tex")) as f:
        f.write(latex(results))
    with atomic_open(os.path.join(out, "report.json")) as f:
        json.dump(data, f, indent=1, ensure_ascii=False)
    plot_xx(out, results)
    plot_gap(out, results)
    plot_differences(out, results)
    return data


def pyplot():
    """matplotlib's pyplot on the Agg backend (files only, no display)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_differences(out: str, r: Results):
    """report_diff.png: each row's X->X MRR@10 minus the reference's, per language, with its 95% interval;
    one panel per condition (clean, the first typo'd)."""
    others = [row for row in r.rows if row != r.reference]
    if not others:
        return
    plt = pyplot()
    conds = r.conditions[:2]
    fig, axes = plt.subplots(1, len(conds), figsize=(max(8, 1.1 * len(r.langs)) * len(conds) / 1.5, 4.5),
                             sharey=True, squeeze=False)
    width = 0.8 / len(others)
    x = np.arange(len(r.langs))
    for ax, cond in zip(axes[0], conds):
        for i, row in enumerate(others):
            diffs, low, high = [], [], []
            for lang in r.langs:
                task = r.task("X->X", lang)
                d = r.difference(row, task, cond, "mrr@10")
                lo, hi = r.intervals[(row, task, cond)]
                diffs.append(d), low.append(d - lo), high.append(hi - d)
            ax.errorbar(x + i * width - 0.4 + width / 2, diffs, yerr=[low, high], fmt="o", ms=3, capsize=2,
                        label=row)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xticks(x, r.langs)
        ax.set_title(f"{cond} queries")
    axes[0][0].set_ylabel(f"X->X MRR@10 minus {r.reference}")
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.suptitle(f"Difference from {r.reference} per language, 95% interval (seeds, copies, questions)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "report_diff.png"), dpi=120)
    plt.close(fig)


def _bars(out: str, r: Results, name: str, bars, ylabel: str, title: str, height: float = 4.0, **legend):
    """One bar group per language, one bar per (label, values, style) of ``bars``, saved as ``name``."""
    plt = pyplot()
    width, x = 0.8 / len(r.rows), np.arange(len(r.langs))
    fig, ax = plt.subplots(figsize=(max(8, 1.2 * len(r.langs)), height))
    for i, row in enumerate(r.rows):
        for label, values, style in bars(i, row):
            ax.bar(x + i * width, values, width * style.pop("share", 1.0), label=label, **style)
    ax.set_xticks(x + 0.4 - width / 2, r.langs)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7, **legend)
    fig.tight_layout()
    fig.savefig(os.path.join(out, name), dpi=120)
    plt.close(fig)


def plot_xx(out: str, r: Results):
    """report_xx.png: per language, clean and typo'd X->X MRR@10, one bar pair per row."""
    if not r.severities:
        return
    severity = r.severities[0]

    def bars(i, row):
        clean = [r.mean(row, r.task("X->X", lang), "clean", "mrr@10") for lang in r.langs]
        typo = [r.mean(row, r.task("X->X", lang), severity, "mrr@10") for lang in r.langs]
        return [(f"{row} clean", clean, {}),
                (f"typo'd ({severity})" if i == 0 else None, typo, dict(share=0.5, color="black", alpha=0.35))]

    _bars(out, r, "report_xx.png", bars, "MRR@10 (X->X)",
          f"XQuAD-R X->X: clean (bar) and typo'd {severity} (dark inner bar)", height=4.5, ncol=len(r.rows) + 1,
          loc="upper center", bbox_to_anchor=(0.5, -0.08))


def plot_gap(out: str, r: Results):
    """report_gap.png: the typo gap per language, one bar per row."""
    if not r.severities:
        return
    severity = r.severities[0]

    def bars(i, row):
        return [(row, np.nan_to_num([100 * r.typo_gap(row, severity, lang) for lang in r.langs]), {})]

    _bars(out, r, "report_gap.png", bars, f"typo gap, % of clean MRR@10 ({severity})",
          "Relative drop from clean to typo'd queries (lower is more robust)")


def xx_table(report: dict, severity: str = None) -> str:
    """A plain-text table of a report's X->X MRR@10 per language, clean and typo'd (``severity``, default the
    first), one column pair per row of the report (means over seeds), as the quickstart prints it."""
    rows = report["rows"]
    figures = report["figures"]
    first = figures[rows[0]]
    langs = [t.split("->")[0] for t in first if t.split("->")[0] == t.split("->")[1]]
    conditions = [c for c in first[f"{langs[0]}->{langs[0]}"] if c != "clean"]
    if not conditions:
        raise InputError("the run scored no typo'd condition (its --severities were none)")
    if severity is not None and severity not in conditions:
        raise InputError(f"--severity {severity}: the run has {', '.join(conditions)}")
    severity = severity or conditions[0]
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


#: the pool summary's measures and how its table names them
POOL_MEASURES = {"map@20": "mAP@20 (LAReQA's measure, XTREME's depth)",
                 "mrr@10": "MRR@10 (first relevant, any language)", "recall@100": "Recall@100"}


def pool_cell(results: Results, row: str, metric: str) -> str:
    """One row's X->pool figure on clean queries, mean over languages, 95% interval: ``0.275 [0.243, 0.308]``."""
    return "{:.3f} [{:.3f}, {:.3f}]".format(*results.language_mean_interval(row, "X->pool", "clean", metric))


def pool_summary(results: Results, dataset: str, rows: Sequence[str] = ("zero-shot",), published: str = "") -> str:
    """The ``rows``' X->pool figures on clean queries, a column a row: each the mean over languages with its 95%
    interval (``Results.language_mean_interval``: seeds, copies and question ids for a trained row, questions
    for one run), as a markdown table; then each row's mAP@20 per language. LAReQA's setting. ``published``
    fills the first measure's last column (the figures a paper reports)."""
    unknown = [row for row in rows if row not in results.rows]
    if unknown:
        raise InputError(f"no row {', '.join(unknown)} in this run (it has {', '.join(results.rows)})")
    lines = [f"| {dataset} X->pool, clean, mean over {len(results.langs)} languages [95% interval] | "
             + " | ".join(rows) + " | published (mAP) |", "|---|" + "---|" * (len(rows) + 1)]
    for i, (metric, label) in enumerate(POOL_MEASURES.items()):
        cells = [pool_cell(results, row, metric) for row in rows]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {published if i == 0 else ''} |")
    lines += ["", "mAP@20 per language:", "", "| row | " + " | ".join(results.langs) + " |",
              "|---|" + "---|" * len(results.langs)]
    lines += [f"| {row} | " + " | ".join(f"{results.mean(row, results.task('X->pool', x), 'clean', 'map@20'):.3f}"
                                        for x in results.langs) + " |" for row in rows]
    return "\n".join(lines)


#: the rows a summary sets beside LAReQA's published figures: zero-shot, the primary comparison's two rows and
#: ``mp_infonce``'s one-positive twin (those a run has)
SUMMARY_POOL_ROWS = ("zero-shot", "infonce", "mp_infonce", "dual_infonce")


def summary(results: Results, dataset: str, published: str = "") -> str:
    """A run's answer in short, for a page that shows several runs: the primary comparison, the multi-positive
    objectives against their one-positive twins, every row's mean difference from the reference (X->X,
    X->pool, X->pivot, pivot->X, with intervals), and LAReQA's measure of ``SUMMARY_POOL_ROWS`` beside the
    ``published`` figures (``pool_summary``); its headings one level below the report's."""
    md = _primary_markdown(results) + _twins_markdown(results) + _mean_differences_markdown(results)
    md = ["#" + line if line.startswith("## ") else line for line in md]
    rows = [row for row in SUMMARY_POOL_ROWS if row in results.rows]
    md += [f"### {dataset} X->pool against LAReQA's published mAP\n", pool_summary(results, dataset, rows, published)]
    return "\n".join(md) + "\n"


#: LAReQA's published mBERT baselines, mAP (Roy et al., EMNLP 2020; as ../shared/data/README.md quotes them)
LAREQA_PUBLISHED = {"XQuAD-R": "En-En 0.29, X-X 0.23, X-X-mono 0.52, X-Y 0.66",
                    "MLQA-R": "En-En 0.36, X-X 0.26, X-X-mono 0.49, X-Y 0.49"}


def readme_answer(by_benchmark: Dict[str, Results]) -> str:
    """README's answer in two plain-text tables, a column a benchmark (``by_benchmark``: {name: its Results}):
    the primary comparison (``mp_infonce`` minus ``infonce``, mean over languages, 95% interval, Holm-corrected
    p), then LAReQA's measure (X->pool mAP@20, clean) of zero-shot and the primary rows with intervals, and the
    published mAP of LAReQA's baselines below it. Fails in one line on a run without the primary comparison."""
    names = list(by_benchmark)
    lacking = [name for name, r in by_benchmark.items() if not r.primary]
    if lacking:
        raise InputError(f"{', '.join(lacking)}: the run has no primary comparison (it needs rows "
                         f"{' and '.join(PRIMARY)})")
    first = by_benchmark[names[0]]
    row, control = PRIMARY
    seeds = {name: f"{name} ({len(r.seeds[row])} v {len(r.seeds[control])} seeds)" for name, r in by_benchmark.items()}
    entries = {name: {(e["measure"], e["condition"]): e for e in r.primary} for name, r in by_benchmark.items()}
    primary = {}
    for measure, condition in entries[names[0]]:
        cells = []
        for name in names:
            e = entries[name].get((measure, condition))
            cells.append("n/a" if e is None else
                         f"{e['diff']:+.4f} [{e['low']:+.4f}, {e['high']:+.4f}] p {e['p_holm']:.3g}")
        primary[f"{measure} {condition}"] = cells
    # a column two spaces wider than its longest cell: "-0.0123 [-0.0456, -0.0001] p 0.00253" is 37 characters
    width = max(len(c) for c in [*seeds.values(), *sum(primary.values(), [])]) + 2
    lines = [f"{row} minus {control}: mean over languages, 95% interval, Holm-corrected p",
             f"{'':<22}" + "".join(f"{seeds[name]:<{width}}" for name in names).rstrip()]
    lines += [f"{label:<22}" + "".join(f"{c:<{width}}" for c in cells).rstrip() for label, cells in primary.items()]
    rows = [r for r in ("zero-shot", control, row) if r in first.rows]
    lines += ["", "X->pool mAP@20 (LAReQA's measure), clean queries: mean over languages [95% interval]",
              f"{'':<22}" + "".join(f"{name:<{width}}" for name in names).rstrip()]
    for r in rows:
        cells = [pool_cell(by_benchmark[name], r, "map@20") if r in by_benchmark[name].rows else "n/a"
                 for name in names]
        lines.append(f"{r:<22}" + "".join(f"{c:<{width}}" for c in cells).rstrip())
    lines += [f"LAReQA's mBERT, {name}: {LAREQA_PUBLISHED[name]}" for name in names if name in LAREQA_PUBLISHED]
    return "\n".join(lines)


#: what ``--from`` writes into its --out folder (and may replace there)
REPORT_FILES = ("report.md", "report.tex", "report.json", "report_xx.png", "report_gap.png", "report_diff.png")


@command
def main(argv=None) -> int:
    """``python -m mpcl_tevatron.xmrc.analysis.report``: print a run's table, or rebuild a report from records."""
    import argparse

    from ...cli import claim_folder, output_lock

    p = one_line_errors(argparse.ArgumentParser(
        prog="python -m mpcl_tevatron.xmrc.analysis.report",
        description="Print an XMRC run's X->X MRR@10 table (clean / typo'd) from its report.json (the full "
                    "report is report.md beside it); or, with --from, rebuild a report from a run's records "
                    "alone (records.npz: every per-question rank) into --out, and print the table."))
    p.add_argument("run_dir", nargs="?", help="an XMRC recipe output folder")
    p.add_argument("--from", dest="records", default=None,
                   help=f"a run's {RECORDS}: rebuild report.md, report.tex, report.json and the plots from it")
    p.add_argument("--out", default=None, help="with --from: the folder to write the report into (new, empty, or "
                   "holding only a report's files, which are replaced)")
    p.add_argument("--severity", default=None, help="typo'd condition to show (default: the first)")
    args = p.parse_args(argv)
    if args.records:
        if args.run_dir or not args.out:
            p.error("--from rebuilds into --out: give --out and no run folder")
        records = Records.load(args.records)
        with output_lock(args.out):
            claim_folder(args.out, REPORT_FILES, "an XMRC report's")
            data = render(args.out, Results.from_records(records))
        print(xx_table(data, args.severity))
        return 0
    if not args.run_dir:
        p.error("give a run folder, or --from <records.npz> --out <folder>")
    path = os.path.join(args.run_dir, "report.json")
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file (run the XMRC recipe into {args.run_dir} first)")
    print(xx_table(read_json(path), args.severity))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
