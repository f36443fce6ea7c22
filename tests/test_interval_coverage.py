"""The report's interval holds the true difference at least 93% of the time at nominal 95%, by simulation at
the answer run's design (seeds, typo'd copies, paired / zero-shot / unpaired control) under every regime of
where the variance comes from; and the tables README and the docs show (docs/interval_coverage.json) are this one."""

import json
import os

import pytest

from mpcl_tevatron.xmrc.analysis.statistics import COVERAGE_DESIGNS, COVERAGE_REGIMES, coverage_table

from .conftest import records_tables

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECORDED = os.path.join(ROOT, "docs", "interval_coverage.json")


@pytest.fixture(scope="module")
def table():
    recorded = json.load(open(RECORDED, encoding="utf-8"))
    return recorded, coverage_table(recorded["simulations"])


def table_lines(coverage: dict) -> list:
    """The markdown row of each design, as a page showing the coverage table must hold it."""
    return [f"| {design} | " + " | ".join(f"{row[r]:.1%}" for r in COVERAGE_REGIMES) + " |"
            for design, row in coverage.items()]


def test_the_interval_covers_at_least_93_percent_in_every_design_and_regime(table):
    _, got = table
    assert set(got) == set(COVERAGE_DESIGNS) and all(set(row) == set(COVERAGE_REGIMES) for row in got.values())
    low = {(design, regime): c for design, row in got.items() for regime, c in row.items() if c < 0.93}
    assert not low


def test_the_docs_show_the_recorded_simulation(table):
    """docs/interval_coverage.json is this simulation, and the XMRC page's table is generated from it."""
    recorded, got = table
    assert recorded["coverage"] == got
    page = records_tables().generated_pages(os.path.join(ROOT, "docs"))["coverage.md"]
    for line in table_lines(got):
        assert line in page, line
    assert "```{include} _generated/coverage.md" in open(os.path.join(ROOT, "docs", "xmrc.md"), encoding="utf-8").read()


def test_readme_shows_the_recorded_simulation(table):
    """README's coverage table is the recorded one, row for row, and the range its sentence quotes is the table's."""
    recorded, _ = table
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    for line in table_lines(recorded["coverage"]):
        assert line in readme, line
    cells = [c for row in recorded["coverage"].values() for c in row.values()]
    quoted = f"{100 * min(cells):.1f}-{100 * max(cells):.1f}% of {recorded['simulations']:,} simulations a cell"
    assert quoted in " ".join(readme.split()), quoted


def test_a_narrower_interval_fails_the_check():
    """The check can fail: an interval of nominal 80% covers about 80%, far below 93%."""
    from mpcl_tevatron.xmrc.analysis.statistics import interval_coverage

    regime = COVERAGE_REGIMES["in between"]
    assert interval_coverage(10, 3, 600, regime, n_simulations=300, level=0.8) < 0.88
