"""Compare one row across two XMRC recipe folders: the same objective under two training settings (for example
``--mask_false_negatives`` off in A and on in B), evaluated on the same queries.

    python -m mpcl_tevatron.xmrc.analysis.compare RUN_A RUN_B [--row mp_infonce] [--metric mrr@10]

For every task and condition (clean, each typo severity): both means over seeds, the difference B - A (seed k
of B against seed k of A, question against question), its 95% interval (seeds, typo'd copies and questions as
crossed random samples: ``statistics.difference_interval``) and in how many seeds B is above A. Scores come from
each folder's records (``records.npz``; a folder made before records existed is recorded from its runs). Both
folders must have been built from the same evaluation data (languages, split, typo'd copies, severities, typo
seed, candidate text); their training settings may differ. Prints a
markdown table; ``--json`` writes the figures too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional

from ...cli import command, one_line_errors
from ...io import InputError, atomic_open, read_json
from .records import METRICS, RECORDS, Records, collect
from .results import by_seed, seed_mean_differences
from .statistics import difference_interval
from ..data.tasks import xmrc_tasks

#: settings that decide the evaluation data: two folders compared must agree on them
EVALUATION_SETTINGS = ("langs", "pivot", "split", "candidate_text", "copies", "severities", "typo_seed")


def _read(folder: str, name: str) -> dict:
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        raise InputError(f"{path}: missing (is {folder} a finished XMRC recipe folder?)")
    return read_json(path)


def compare(run_a: str, run_b: str, row: str, metric: str = "mrr@10") -> List[dict]:
    """One record per (task, condition): ``mean_a``, ``mean_b``, ``difference``, ``interval`` (95%),
    ``seeds_b_above`` and ``seeds``."""
    settings = [_read(folder, "settings.json") for folder in (run_a, run_b)]
    differ = {k: (settings[0].get(k), settings[1].get(k)) for k in EVALUATION_SETTINGS
              if settings[0].get(k) != settings[1].get(k)}
    if differ:
        raise InputError(f"{run_a} and {run_b} evaluate on different data: {differ}")
    if metric not in METRICS:
        raise InputError(f"--metric {metric!r}: use one of {', '.join(METRICS)}")
    runs = []
    for folder in (run_a, run_b):
        seeds = _read(folder, "report.json")["seeds"]
        if row not in seeds:
            raise InputError(f"{folder} has no row {row!r}; its rows: {', '.join(seeds)}")
        runs.append(seeds[row])
    if len(runs[0]) != len(runs[1]):
        raise InputError(f"{row}: {len(runs[0])} seeds in {run_a}, {len(runs[1])} in {run_b}; pair them by seed")
    for folder, row_runs in zip((run_a, run_b), runs):  # all present before any is read
        if not os.path.isfile(os.path.join(folder, RECORDS)):
            for run in row_runs:
                path = os.path.join(folder, "runs", f"{run}.pkl")
                if not os.path.isfile(path):
                    raise InputError(f"{path}: missing (is {folder} a finished XMRC recipe folder?)")
    s = settings[0]
    per_seed = {}
    for name, folder, row_runs in (("A", run_a, runs[0]), ("B", run_b, runs[1])):
        records = _records(folder, row, row_runs, s)
        per_seed[name] = by_seed(records)[0][row]
    out = []
    for task in per_seed["A"]:
        for condition in per_seed["A"][task]:
            a, b = per_seed["A"][task][condition][metric], per_seed["B"][task][condition][metric]
            low, high = difference_interval(b, a)
            by_seed_diff = seed_mean_differences(b, a)
            out.append({"task": task, "condition": condition, "mean_a": float(a.mean()), "mean_b": float(b.mean()),
                        "difference": float(b.mean() - a.mean()), "interval": [low, high],
                        "seeds_b_above": int((by_seed_diff > 0).sum()), "seeds": int(len(by_seed_diff))})
    return out


def _records(folder: str, row: str, row_runs: List[str], settings: dict) -> Records:
    """The row's records: from the folder's records.npz, or (a folder made before records) from its runs."""
    path = os.path.join(folder, RECORDS)
    if os.path.isfile(path):
        records = Records.load(path)
        records.meta["seeds"] = {row: row_runs}
        return records
    tasks = xmrc_tasks(os.path.join(folder, "data"), settings["langs"], settings["pivot"])
    return collect(folder, {row: row_runs}, tasks, settings["severities"], {"settings": settings})


def markdown(records: List[dict], metric: str) -> str:
    lines = [f"| task | condition | A {metric} | B {metric} | B - A | 95% interval | seeds B > A |",
             "|---|---|---|---|---|---|---|"]
    for r in records:
        low, high = r["interval"]
        lines.append(f"| {r['task']} | {r['condition']} | {r['mean_a']:.4f} | {r['mean_b']:.4f} | "
                     f"{r['difference']:+.4f} | [{low:+.4f}, {high:+.4f}] | {r['seeds_b_above']}/{r['seeds']} |")
    return "\n".join(lines)


@command
def main(argv: Optional[List[str]] = None) -> int:
    p = one_line_errors(argparse.ArgumentParser(prog="python -m mpcl_tevatron.xmrc.analysis.compare",
                                                description=__doc__,
                                                formatter_class=argparse.RawDescriptionHelpFormatter))
    p.add_argument("run_a", help="recipe folder A (the control)")
    p.add_argument("run_b", help="recipe folder B (the treatment)")
    p.add_argument("--row", default="mp_infonce", help="the objective (report row) to compare")
    p.add_argument("--metric", default="mrr@10", help=f"one of {', '.join(METRICS)}")
    p.add_argument("--json", default=None, help="also write the records to this file")
    a = p.parse_args(argv)
    if a.json and not os.path.isdir(os.path.dirname(os.path.abspath(a.json))):
        raise InputError(f"--json {a.json}: its folder does not exist")
    records = compare(a.run_a, a.run_b, a.row, a.metric)
    print(markdown(records, a.metric))
    if a.json:
        with atomic_open(a.json) as f:
            json.dump(records, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
