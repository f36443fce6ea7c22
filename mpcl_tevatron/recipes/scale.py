"""``python -m mpcl_tevatron.recipes.scale``: does the answer depend on training scale, or on the multi-positive
loss's form? A dev-split curve of ``mp_infonce`` minus ``infonce``, and an ablation of ``mp_infonce``'s form.

Each point is one resumable XMRC recipe run (``recipes/xmrc.py``) under ``<out>/<point>``, on the **dev**
articles of XQuAD-R (20-23, every language; the test articles are never read), with ``infonce`` and
``mp_infonce`` trained once per seed. One setting changes at a time from the recipe's defaults, so that each
point's difference from ``base`` is that setting's::

  base        K = 4 typo'd variants, 60 steps, word embeddings frozen (the recipe's defaults); it also trains
              mp_infonce in every other form (supcon_out, log_sum, sample_one): the form ablation
  steps240    240 steps (4x; about 7 epochs of the 536 English training questions)
  k40         K = 40 typo'd variants per query (the paper's)
  embeddings  the word-embedding table trained too

Why these and not a grid: estimated before the run from the base point's rates on 2 cores with native bf16
(about 2.5 s a training step at K = 4, a minute to encode a model's dev texts), a model costs about 3.5 min at
the base point, 11 at K = 40 (a step's queries grow from 5 to 41 per question), 11 at 240 steps and about 5
with trained embeddings; one factor at a time with 3 seeds is 33 models and about 4 hours, a full 2x2x2 grid
twice that. Each point's timings.json records what it took.

Each point is scored on clean queries and two typo'd copies at w1 and r50 (copies are a random sample in the
intervals). ``--from <folder>`` (a folder of finished points, e.g. ``docs/scale``) only writes the tables:
``scale.md`` (the curve: difference and 95% interval per point on X->X MRR@10 and X->pool mAP@20, mean over
languages; every row's figures and typo gap; the forms against eq4), ``scale.json`` and ``scale.png`` (the
difference against the point). A run writes them after every point, over the points finished so far.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Dict, List, Optional

from ..cli import claim_folder, command, one_line_errors, output_lock
from ..io import InputError, atomic_open
from ..losses.functional import MULTI_POSITIVE_FORMS
from ..xmrc.analysis.records import RECORDS, Records
from ..xmrc.analysis.report import interval_cell, md_table, pyplot
from ..xmrc.analysis.results import MEAN_FAMILIES, PRIMARY, PRIMARY_FAMILIES, Results

#: point -> the recipe flags that change it from the recipe's defaults (the tables read each point's setting
#: from its recorded settings.json)
POINTS: Dict[str, List[str]] = {
    "base": [],
    "steps240": ["--max_steps", "240"],
    "k40": ["--typo_variants", "40"],
    "embeddings": ["--train_word_embeddings"],
}
#: the form ablation's rows, trained at the base point beside mp_infonce (eq4)
FORM_ROWS = [f"mp_infonce:form={form}" for form in MULTI_POSITIVE_FORMS if form != "eq4"]
#: every point's evaluation: the dev split, clean and two typo'd copies at w1 and r50
EVALUATION = ["--split", "dev", "--baselines", "--copies", "2", "--severities", "w1", "r50"]
#: recipe flags a point or the evaluation sets, refused when given through
OWNED = {"--out", "--objectives", "--split", "--baselines", "--copies", "--severities", "--max_steps",
         "--typo_variants", "--train_word_embeddings"}
TABLE_FILES = ("scale.md", "scale.json", "scale.png")
#: what a scale folder holds: the tables and a recipe folder per point
SCALE_FILES = TABLE_FILES + tuple(POINTS)


def point_flags(point: str, out: str, seeds: List[int], forms: bool, recipe_flags: List[str]) -> List[str]:
    """The recipe's arguments for one point."""
    objectives = list(PRIMARY[::-1]) + (FORM_ROWS if forms and point == "base" else [])
    return ["--out", os.path.join(out, point), *EVALUATION, "--objectives", *objectives,
            "--seeds", *map(str, seeds), *POINTS[point], *recipe_flags]


def finished_points(folder: str) -> Dict[str, Results]:
    """Every point of ``POINTS`` under ``folder`` that has its records, in ``POINTS``' order."""
    return {point: Results.from_records(Records.load(os.path.join(folder, point, RECORDS)))
            for point in POINTS if os.path.isfile(os.path.join(folder, point, RECORDS))}


def _setting(r: Results) -> str:
    s = r.settings
    return (f"K = {s['typo_variants']}, {s['max_steps']} steps, embeddings "
            f"{'trained' if s['train_word_embeddings'] else 'frozen'}")


def tables(points: Dict[str, Results]) -> dict:
    """The curve, every row's figures and the form ablation, as data: what ``markdown`` formats."""
    curve, figures, forms = [], [], []
    kinds = {family: MEAN_FAMILIES[family] for family in PRIMARY_FAMILIES}
    for point, r in points.items():
        if r.primary is None:
            continue
        seeds = {row: len(r.seeds[row]) for row in PRIMARY}
        curve.append({"point": point, "setting": _setting(r), "seeds": seeds,
                      "differences": {f"{e['measure']} | {e['condition']}": {k: e[k] for k in ("diff", "low", "high",
                                                                                                "p", "p_holm")}
                                      for e in r.primary}})
        for row in r.rows:
            figures.append({"point": point, "row": row, "seeds": len(r.seeds[row]),
                            "figures": {f"{family} | {cond}": r.language_mean(row, kind, cond, metric)
                                        for family, (kind, metric) in kinds.items() for cond in r.conditions},
                            "typo_gap": {cond: r.typo_gap(row, cond) for cond in r.severities}})
        if point == "base":
            eq4 = PRIMARY[0]
            rows = [row for row in FORM_ROWS if row in r.rows]
            diffs = r.mean_differences([(row, eq4) for row in rows]) if rows else {}
            for row in rows:
                forms.append({"form": row.split("=", 1)[1], "seeds": len(r.seeds[row]),
                              "minus_eq4": {key: diffs[row][key] for key in _primary_keys(r)}})
    return {"curve": curve, "figures": figures, "forms": forms}


def _primary_keys(r: Results) -> List[str]:
    return [f"{family} | {cond}" for family in PRIMARY_FAMILIES for cond in r.conditions]


def _headers(keys: List[str]) -> List[str]:
    """``"X->X MRR@10 | clean"`` keys as table headers (their ``|`` would split a markdown column)."""
    return [key.replace(" | ", " ") for key in keys]


def markdown(data: dict) -> str:
    """``tables``' data as the markdown of ``scale.md``: the curve, every row's figures, the form ablation."""
    row, control = PRIMARY
    lines = ["# Does the answer depend on scale or on the loss's form? (XQuAD-R dev articles 20-23)", ""]
    if data["curve"]:
        keys = list(data["curve"][0]["differences"])
        lines += [f"## The curve: {row} minus {control}, mean over languages, 95% interval (seeds, copies, "
                  "questions)", ""]
        lines += md_table(["point", "setting", "seeds", *_headers(keys)],
                          [[c["point"], c["setting"], "/".join(str(c["seeds"][r]) for r in PRIMARY),
                            *(interval_cell(c["differences"][k]) for k in keys)] for c in data["curve"]])
        lines += ["Holm-corrected p over each point's 6 comparisons, in the same order: "
                  + "; ".join(f"{c['point']} " + ", ".join(f"{c['differences'][k]['p_holm']:.2f}" for k in keys)
                              for c in data["curve"]), ""]
    if data["figures"]:
        keys = list(data["figures"][0]["figures"])
        gaps = list(data["figures"][0]["typo_gap"])
        lines += ["## Every row's figures (mean over languages) and typo gap of X->X MRR@10 ((clean - typo'd) / "
                  "clean)", ""]
        lines += md_table(["point", "row", "seeds", *_headers(keys), *(f"gap {g}" for g in gaps)],
                          [[f["point"], f["row"], str(f["seeds"]), *(f"{f['figures'][k]:.4f}" for k in keys),
                            *(f"{100 * f['typo_gap'][g]:.2f}%" for g in gaps)] for f in data["figures"]])
    if data["forms"]:
        keys = list(data["forms"][0]["minus_eq4"])
        lines += ["## The form ablation at the base point: each form minus eq4 (mp_infonce), 95% interval", ""]
        lines += md_table(["form", "seeds", *_headers(keys)],
                          [[f["form"], str(f["seeds"]), *(interval_cell(f["minus_eq4"][k]) for k in keys)]
                           for f in data["forms"]])
    return "\n".join(lines)


def plot(path: str, data: dict) -> None:
    """The difference against the point, one panel per measure, one series per condition, with intervals."""
    if not data["curve"]:
        return
    plt = pyplot()
    keys = list(data["curve"][0]["differences"])
    fig, axes = plt.subplots(1, len(PRIMARY_FAMILIES), figsize=(11, 4), squeeze=False)
    x = list(range(len(data["curve"])))
    for ax, family in zip(axes[0], PRIMARY_FAMILIES):
        conditions = [k.split(" | ")[1] for k in keys if k.startswith(family)]
        for i, cond in enumerate(conditions):
            entries = [c["differences"][f"{family} | {cond}"] for c in data["curve"]]
            shift = [v + (i - (len(conditions) - 1) / 2) * 0.08 for v in x]
            ax.errorbar(shift, [e["diff"] for e in entries],
                        yerr=[[e["diff"] - e["low"] for e in entries], [e["high"] - e["diff"] for e in entries]],
                        fmt="o", ms=4, capsize=3, label=cond)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xticks(x, [c["point"] for c in data["curve"]])
        ax.set_xlim(-0.5, len(x) - 0.5)
        ax.set_title(family)
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel(f"{PRIMARY[0]} minus {PRIMARY[1]} (dev)")
    fig.suptitle("Difference against the training setting, 95% interval (seeds, copies, questions)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_tables(points_folder: str, out: str) -> str:
    """Write scale.md, scale.json and scale.png into ``out`` from the finished points under ``points_folder``;
    returns the markdown."""
    data = tables(finished_points(points_folder))
    text = markdown(data)
    os.makedirs(out, exist_ok=True)
    with atomic_open(os.path.join(out, "scale.md")) as f:
        f.write(text)
    with atomic_open(os.path.join(out, "scale.json")) as f:
        json.dump(data, f, indent=1)
    plot(os.path.join(out, "scale.png"), data)
    return text


def parse_args(argv: Optional[List[str]] = None):
    """The command's arguments, and with them (unless ``--from``) every point's recipe arguments, each checked
    by the recipe before the first point trains: (args, [recipe args per point])."""
    from .xmrc import parse_args as recipe_args

    p = one_line_errors(argparse.ArgumentParser(prog="python -m mpcl_tevatron.recipes.scale", description=__doc__,
                                                formatter_class=argparse.RawDescriptionHelpFormatter))
    p.add_argument("--out", default="runs/scale", help="output folder: one recipe run per point, and the tables")
    p.add_argument("--points", nargs="+", choices=list(POINTS), default=list(POINTS),
                   help="the points to run, in this order (default: all)")
    p.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44], help="training seeds (default 42 43 44)")
    p.add_argument("--no_forms", dest="forms", action="store_false",
                   help="leave the form ablation's rows out of the base point")
    p.add_argument("--from", dest="points_folder", default=None,
                   help="only write the tables into --out, from the finished points under this folder")
    args, recipe_flags = p.parse_known_args(argv)
    owned = sorted(OWNED & {flag.split("=")[0] for flag in recipe_flags})
    if owned:
        p.error(f"{owned[0]} is set by the points; each point sets it (see --help)")
    if args.points_folder is not None:
        return args, []
    return args, [recipe_args(point_flags(point, args.out, args.seeds, args.forms, recipe_flags))
                  for point in args.points]


@command
def main(argv: Optional[List[str]] = None) -> int:
    """``python -m mpcl_tevatron.recipes.scale``: run the points (resuming), or only write the tables (``--from``)."""
    from .xmrc import Recipe

    args, checked = parse_args(argv)
    if args.points_folder is not None:
        if not os.path.isdir(args.points_folder):
            raise InputError(f"--from {args.points_folder}: no such folder")
        with output_lock(args.out):
            claim_folder(args.out, SCALE_FILES, "the scale curve's")
            print(write_tables(args.points_folder, args.out))
        return 0
    with output_lock(args.out):
        claim_folder(args.out, SCALE_FILES, "the scale curve's")
        for point, recipe in zip(args.points, checked):
            Recipe(recipe).run()
            print(f"[scale] {point} done; tables over the points so far: {os.path.join(args.out, 'scale.md')}",
                  file=sys.stderr, flush=True)
            write_tables(args.out, args.out)
    print(open(os.path.join(args.out, "scale.md"), encoding="utf-8").read())
    return 0

if __name__ == "__main__":
    sys.exit(main())
