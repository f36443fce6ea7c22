"""Wall time of an XMRC recipe run, per stage, from the ``timings.json`` its folder holds.

    python benchmarks/xmrc_timings.py runs/xmrc [--budget_min 180]

The recipe times every step as it runs (``python -m mpcl_tevatron.driver.xmrc``); this prints them as one
table: train (steps/s), encode (candidates/s and queries/s, per model), search (queries/s), score, and the
total against the budget (the default recipe in under 3 hours on a 2-core CPU with native bf16), and the CPUs
the steps ran on. A resumed run's steps are each timed once, in the invocation that did them, so the total is
the sum of the work done. Query encoding rates count distinct texts (the recipe encodes each once).
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", help="an XMRC output folder (holds timings.json)")
    p.add_argument("--budget_min", type=float, default=180.0, help="budget for the whole run, minutes")
    args = p.parse_args(argv)
    path = os.path.join(args.run_dir, "timings.json")
    if not os.path.isfile(path):
        print(f"error: {path}: no such file (run the XMRC recipe into {args.run_dir} first)", file=sys.stderr)
        return 2
    with open(path) as f:
        timings = json.load(f)
    rows, per_stage = stage_table(timings)
    cpus = sorted({t["cpu"] for t in timings.values() if "cpu" in t})
    print("CPU: " + ("; ".join(cpus) if cpus else "not recorded") + "\n")
    print("| step | wall time | rate |\n|---|---|---|")
    for step, seconds, rate in rows:
        print(f"| {step} | {seconds:.1f} s | {rate} |")
    print("\n| stage | wall time |\n|---|---|")
    for stage, seconds in per_stage.items():
        print(f"| {stage} | {seconds / 60:.1f} min |")
    total = sum(per_stage.values()) / 60
    print(f"| **total** | **{total:.1f} min** ({total / args.budget_min:.0%} of the {args.budget_min:.0f}-minute "
          f"budget) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
