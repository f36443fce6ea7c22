"""Wall time of an XMRC recipe run, per stage, from the ``timings.json`` its folder holds.

    python benchmarks/xmrc_timings.py runs/xmrc [--budget_min 180]
    python benchmarks/xmrc_timings.py runs/xmrc --predict [--objectives ...] [--seeds 3] [--langs 11]
        [--copies 1] [--severities 2] [--steps 60]

The recipe times every step as it runs (``python -m mpcl_tevatron.driver.xmrc``); this prints them as one
table: train (steps/s), encode (candidates/s and queries/s, per model), search (queries/s), score, and the
total against the budget (the default recipe in under 3 hours on a 2-core CPU with native bf16), and the CPUs
the steps ran on. A resumed run's steps are each timed once, in the invocation that did them, so the total is
the sum of the work done. Query encoding rates count distinct texts (the recipe encodes each once).

``--predict`` instead predicts another run's time from the rates this run measured (same CPU, same model,
same precision): seconds per training step of an objective that reads typo'd variants and of one that does not
(infonce, dual_infonce: no variant is encoded), candidates/s and query texts/s, and the run's candidates and
questions per language (its ``data/manifest.json``; a language it lacks counts as their mean). Query texts are
counted before de-duplication, so the prediction errs long.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict


def stage_table(timings: dict):
    """([(step, seconds, rate text)] in recipe order, {stage: seconds summed over its steps})."""
    rows, per_stage = [], defaultdict(float)
    for step, t in timings.items():
        stage, _, rest = step.partition("/")
        per_stage[stage] += t["seconds"]
        if stage == "train":
            rate = f"{t['steps'] / t['seconds']:.2f} steps/s"
        elif stage == "encode":
            kind = rest.rsplit("/", 1)[1]
            rate = f"{t['texts'] / t['seconds']:.0f} {'candidates' if kind == 'corpus' else kind}/s"
        elif stage == "search":
            rate = f"{t['queries'] / t['seconds']:.0f} queries/s"
        elif stage == "score":
            rate = f"{t['runs']} figures (row x task x condition)"
        else:
            rate = ""
        rows.append((step, t["seconds"], rate))
    order = {"build": 0, "train": 1, "encode": 2, "search": 3, "score": 4}
    rows.sort(key=lambda r: order.get(r[0].split("/")[0], 5))
    return rows, dict(per_stage)


def print_stages(seconds_by_stage: dict, column: str, budget_min: float, note: str = "") -> None:
    print(f"| stage | {column} |\n|---|---|")
    for stage, seconds in seconds_by_stage.items():
        print(f"| {stage} | {seconds / 60:.1f} min |")
    total = sum(seconds_by_stage.values()) / 60
    print(f"| **total** | **{total:.1f} min** ({total / budget_min:.0%} of the {budget_min:.0f}-minute budget{note}) |")


def measured_rates(timings: dict) -> dict:
    """Seconds per training step by whether the objective reads typo'd variants, candidates/s and query texts/s
    (the step totals over the run)."""
    from mpcl_tevatron.losses import get_loss_class

    sums = defaultdict(lambda: [0.0, 0.0])  # name -> [seconds, units]
    for step, t in timings.items():
        stage, _, rest = step.partition("/")
        if stage == "train":
            objective = rest.rsplit(".seed", 1)[0]
            kind = "typos" if getattr(get_loss_class(objective), "uses_typos", True) else "plain"
            sums[f"train/{kind}"][0] += t["seconds"]
            sums[f"train/{kind}"][1] += t["steps"]
        elif stage == "encode":
            kind = rest.rsplit("/", 1)[1]
            sums[kind][0] += t["seconds"]
            sums[kind][1] += t["texts"]
    return {name: seconds / units for name, (seconds, units) in sums.items() if units}


def predict(rates: dict, manifest: dict, objectives, seeds: int, langs: int, copies: int, severities: int,
            steps: int) -> dict:
    """Predicted seconds per stage of a recipe run with these settings (see the module docstring)."""
    from mpcl_tevatron.losses import get_loss_class

    measured = manifest["languages"].values()
    candidates = sum(v["candidates"] for v in measured) / len(measured) * langs
    query_texts = sum(v["queries"] for v in measured) / len(measured) * langs * (1 + copies * severities)
    typo_step = rates.get("train/typos", rates.get("train/plain"))
    plain_step = rates.get("train/plain", typo_step)
    train = sum(steps * seeds * (typo_step if getattr(get_loss_class(o), "uses_typos", True) else plain_step)
                for o in objectives)
    models = 1 + len(objectives) * seeds
    return {"train": train, "encode candidates": models * candidates * rates["corpus"],
            "encode queries": models * query_texts * rates["queries"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", help="an XMRC output folder (holds timings.json)")
    p.add_argument("--budget_min", type=float, default=180.0, help="budget for the whole run, minutes")
    p.add_argument("--predict", action="store_true", help="predict a run with the settings below from this "
                   "run's measured rates")
    p.add_argument("--objectives", nargs="+", default=["infonce", "dual_infonce", "mp_infonce", "dst", "dst_mp",
                                                       "typo_cl", "typo_cl_mp"])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--langs", type=int, default=11)
    p.add_argument("--copies", type=int, default=1, help="typo'd copies per severity (default 1, the recipe's)")
    p.add_argument("--severities", type=int, default=2)
    p.add_argument("--steps", type=int, default=60)
    args = p.parse_args(argv)
    path = os.path.join(args.run_dir, "timings.json")
    if not os.path.isfile(path):
        print(f"error: {path}: no such file (run the XMRC recipe into {args.run_dir} first)", file=sys.stderr)
        return 2
    with open(path) as f:
        timings = json.load(f)
    if args.predict:
        with open(os.path.join(args.run_dir, "data", "manifest.json")) as f:
            manifest = json.load(f)
        rates = measured_rates(timings)
        missing = [k for k in ("corpus", "queries") if k not in rates] + \
            ([] if any(k.startswith("train/") for k in rates) else ["training"])
        if missing:
            print(f"error: {path}: no {', '.join(missing)} step timed in this run", file=sys.stderr)
            return 2
        stages = predict(rates, manifest, args.objectives, args.seeds, args.langs, args.copies, args.severities,
                         args.steps)
        print(f"rates measured in {args.run_dir}: " + ", ".join(f"{k} {v:.3g} s" for k, v in sorted(rates.items()))
              + " (per step, per text)")
        print(f"predicted: {len(args.objectives)} objectives x {args.seeds} seeds, {args.langs} languages, "
              f"{args.copies} copies x {args.severities} severities, {args.steps} steps\n")
        print_stages(stages, "predicted", args.budget_min, "; search, scoring and start-up add a few minutes")
        return 0
    rows, per_stage = stage_table(timings)
    cpus = sorted({t["cpu"] for t in timings.values() if "cpu" in t})
    print("CPU: " + ("; ".join(cpus) if cpus else "not recorded") + "\n")
    print("| step | wall time | rate |\n|---|---|---|")
    for step, seconds, rate in rows:
        print(f"| {step} | {seconds:.1f} s | {rate} |")
    print()
    print_stages(per_stage, "wall time", args.budget_min)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
