"""``python -m mpcl_tevatron.recipes.sweep``: choose the recipe's training settings on the dev split.

Trains ``infonce`` once per point of a grid over learning rate, steps and score temperature, each on the
English training articles (XQuAD-R 0-19) with every other recipe default, and scores it on the **dev**
articles (20-23) in every language: X->X MRR@10, clean and typo'd (w1), mean over languages. The test
articles (24-47) are never read. Each point is one resumable XMRC recipe run (``recipes/xmrc.py``, ``--split
dev``) under ``--out``; rerun the same command to resume. Prints the table (and writes ``sweep.md``/``sweep.json``)
with the point that maximises the mean of clean and typo'd dev MRR@10 marked; the recipe's defaults are that
point. The table holds every point run under ``--out`` so far, so a later, narrower grid (more steps at the
best learning rate, say) adds rows to it; ``--seeds`` trains a point once per seed (its row then shows the mean
over seeds and the spread across them).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from typing import List, Optional, Tuple

import numpy as np

from ..cli import command, finite_float, one_line_errors, output_lock, repeated
from ..io import atomic_open, read_json

GRID = {"learning_rate": [1e-5, 3e-5], "max_steps": [60, 120], "temperature": [0.01, 0.05]}


def point_name(point: dict) -> str:
    return "_".join(f"{k}{v:g}" for k, v in point.items())


def dev_scores(report_json: str, row: str, severity: str) -> dict:
    """Mean over languages of X->X MRR@10 (clean and ``severity``) of ``row`` in a recipe's report.json, and the
    sample sd across its seeds of the mean of the two (0 with one seed)."""
    report = read_json(report_json)
    figures = report["figures"][row]
    xx = [t for t in figures if t.split("->")[0] == t.split("->")[1]]
    clean = float(np.mean([figures[t]["clean"]["mrr@10"] for t in xx]))
    typo = float(np.mean([figures[t][severity]["mrr@10"] for t in xx]))
    seeds = report.get("seeds", {}).get(row, [row])
    sd = report.get("seed_sd", {}).get(row, {})
    spread = float(np.mean([(sd[t]["clean"]["mrr@10"] + sd[t][severity]["mrr@10"]) / 2 for t in xx])) if sd else 0.0
    return {"clean": clean, "typo": typo, "criterion": (clean + typo) / 2, "languages": len(xx),
            "seeds": len(seeds), "seed_sd": spread}


def collect(out: str, severity: str) -> Tuple[List[dict], dict]:
    """Every finished point under ``out`` (a recipe folder with report.json), ordered by its settings, and the
    zero-shot row's scores."""
    results, zero_shot = [], None
    for name in sorted(os.listdir(out)):
        folder = os.path.join(out, name)
        report = os.path.join(folder, "report.json")
        if not os.path.isfile(report):
            continue
        settings = read_json(os.path.join(folder, "settings.json"))
        point = {k: settings[k] for k in GRID}
        results.append({**point, **dev_scores(report, "infonce", severity)})
        zero_shot = zero_shot or dev_scores(report, "zero-shot", severity)
    results.sort(key=lambda r: tuple(r[k] for k in GRID))
    return results, zero_shot


def table(results: List[dict], zero_shot: dict, severity: str) -> str:
    best = max(range(len(results)), key=lambda i: results[i]["criterion"])
    lines = [f"| learning rate | steps | temperature | seeds | dev X->X MRR@10 clean | typo'd ({severity}) | mean |",
             "|---|---|---|---|---|---|---|",
             f"| e5 zero-shot | | | | {zero_shot['clean']:.3f} | {zero_shot['typo']:.3f} | "
             f"{zero_shot['criterion']:.3f} |"]
    for i, r in enumerate(results):
        mark = " **(chosen)**" if i == best else ""
        sd = f" ± {r['seed_sd']:.3f}" if r["seeds"] > 1 else ""
        lines.append(f"| {r['learning_rate']:g} | {r['max_steps']} | {r['temperature']:g} | {r['seeds']} | "
                     f"{r['clean']:.3f} | {r['typo']:.3f} | {r['criterion']:.3f}{sd}{mark} |")
    return "\n".join(lines) + "\n"


@command
def main(argv: Optional[List[str]] = None) -> int:
    from .xmrc import parse_args as recipe_args

    p = one_line_errors(argparse.ArgumentParser(prog="python -m mpcl_tevatron.recipes.sweep", description=__doc__,
                                                formatter_class=argparse.RawDescriptionHelpFormatter))
    p.add_argument("--out", default="runs/sweep", help="output folder, one recipe run per grid point")
    p.add_argument("--learning_rates", type=finite_float, nargs="+", default=GRID["learning_rate"])
    p.add_argument("--steps", type=int, nargs="+", default=GRID["max_steps"])
    p.add_argument("--temperatures", type=finite_float, nargs="+", default=GRID["temperature"])
    p.add_argument("--copies", type=int, default=2, help="typo'd (w1) copies of the dev questions (default 2)")
    p.add_argument("--seeds", type=int, nargs="+", default=[42], help="training seeds of each point (default 42)")
    args, recipe_flags = p.parse_known_args(argv)
    for name in ("learning_rates", "steps", "temperatures", "seeds"):
        if repeated(getattr(args, name)):
            p.error(f"--{name} lists {repeated(getattr(args, name))[0]} twice")
    points = list(itertools.product(args.learning_rates, args.steps, args.temperatures))
    # every point's settings are checked before the first one trains
    checked = [recipe_args(_point_flags(args, lr, steps, temperature, recipe_flags))
               for lr, steps, temperature in points]
    with output_lock(args.out):
        _sweep(args, checked, recipe_flags)
    return 0


def _point_flags(args, lr: float, steps: int, temperature: float, recipe_flags: List[str]) -> List[str]:
    point = {"learning_rate": lr, "max_steps": steps, "temperature": temperature}
    return ["--out", os.path.join(args.out, point_name(point)), "--split", "dev", "--objectives", "infonce",
            "--baselines", "--severities", "w1", "--copies", str(args.copies), "--learning_rate", str(lr),
            "--max_steps", str(steps), "--temperature", str(temperature), "--seeds", *map(str, args.seeds),
            *recipe_flags]


def _sweep(args, points: list, recipe_flags: List[str]) -> None:
    """Run each point's checked recipe arguments (resuming what is done), then write the table."""
    from .xmrc import Recipe

    for point in points:
        Recipe(point).run()
        print(f"[sweep] {os.path.basename(point.out)}: "
              f"{dev_scores(os.path.join(point.out, 'report.json'), 'infonce', 'w1')}", file=sys.stderr, flush=True)
    results, zero_shot = collect(args.out, "w1")
    text = table(results, zero_shot, "w1")
    print(text)
    with atomic_open(os.path.join(args.out, "sweep.md")) as f:
        f.write(text)
    with atomic_open(os.path.join(args.out, "sweep.json")) as f:
        json.dump({"zero_shot": zero_shot, "points": results, "recipe_flags": recipe_flags}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
