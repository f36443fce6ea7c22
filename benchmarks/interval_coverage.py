"""Coverage of the report's 95% interval, by simulation at the answer run's design and the scale curve's.

    python benchmarks/interval_coverage.py [--simulations 1000] [--json docs/interval_coverage.json]

For every design of ``statistics.COVERAGE_DESIGNS`` (seeds, typo'd copies, paired / zero-shot / unpaired
control) and every regime of ``statistics.COVERAGE_REGIMES`` (where the variance comes from: seeds, questions,
both, typo'd copies, or discrete reciprocal-rank flips), it draws differences whose true mean is 0 and counts
how often ``statistics.difference_interval`` holds 0. Prints a markdown table (the report page shows the
committed one); ``--json`` writes the figures, which ``tests/test_interval_coverage.py`` recomputes and checks (each at least 93%).
Seeded: a rerun prints the same table. About 20 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys

from mpcl_tevatron.xmrc.analysis.statistics import COVERAGE_DESIGNS, coverage_markdown, coverage_table


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--simulations", type=int, default=1000)
    p.add_argument("--json", default=None, help="also write {design: {regime: coverage}} here")
    a = p.parse_args(argv)
    table = coverage_table(a.simulations)
    print(coverage_markdown(table, a.simulations))
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump({"simulations": a.simulations, "designs": COVERAGE_DESIGNS, "coverage": table}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
