"""README's figures against the records committed beside them: each table README prints from a recorded run
is rebuilt from that run's records alone (``Results.from_records``) and must match README character for
character. A README figure that drifts from its records fails here."""

import os

import pytest

from mpcl_tevatron.xmrc.analysis.records import Records
from mpcl_tevatron.xmrc.analysis.report import json_data, xx_table
from mpcl_tevatron.xmrc.analysis.results import Results

from .conftest import ROOT, needs_mlqa, needs_xquad

README = os.path.join(ROOT, "README.md")


def readme_block(first_line: str) -> str:
    """The indented block of README that starts with ``first_line``, unindented."""
    lines = open(README, encoding="utf-8").read().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == first_line)
    block = []
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        block.append(line[4:])
    return "\n".join(block)


def rebuilt(folder: str) -> dict:
    return json_data(Results.from_records(Records.load(os.path.join(ROOT, "docs", folder, "records.npz"))))


def test_the_quickstart_table_is_its_records():
    table = xx_table(rebuilt("quickstart"))
    assert readme_block(table.splitlines()[0]) == table


def test_a_changed_figure_fails(monkeypatch):
    """The check can fail: one figure off by 0.001 no longer matches README."""
    report = rebuilt("quickstart")
    row = report["rows"][-1]
    task = next(iter(report["figures"][row]))
    report["figures"][row][task]["clean"]["mrr@10"] += 0.001
    table = xx_table(report)
    with pytest.raises(AssertionError):
        assert readme_block(table.splitlines()[0]) == table


@pytest.mark.parametrize("folder", [("lareqa",), ("lareqa", "mlqa-r")], ids=["xquad-r", "mlqa-r"])
def test_the_lareqa_tables_are_their_records(folder):
    """README's LAReQA-setting tables (zero-shot e5, X->pool, clean: XQuAD-R and MLQA-R), figure and interval."""
    from mpcl_tevatron.xmrc.analysis.records import Records

    results = Results.from_records(Records.load(os.path.join(ROOT, "docs", *folder, "records.npz")))
    readme = open(README, encoding="utf-8").read()
    labels = {"map@20": "mAP@20 (LAReQA's measure, XTREME's depth)", "mrr@10": "MRR@10 (first relevant, any language)",
              "recall@100": "Recall@100"}
    for metric, label in labels.items():
        mean, low, high = results.language_mean_interval("zero-shot", "X->pool", "clean", metric)
        assert f"| {label} | {mean:.3f} [{low:.3f}, {high:.3f}] |" in readme, metric
    per_language = ", ".join(f"{x} {results.mean('zero-shot', results.task('X->pool', x), 'clean', 'map@20'):.3f}"
                             for x in results.langs)
    assert f"mAP@20 per language: {per_language}." in " ".join(readme.split())


def committed_records():
    for folder, _, files in os.walk(os.path.join(ROOT, "docs")):
        if "records.npz" in files:
            yield folder


@pytest.mark.parametrize("folder", sorted(committed_records()), ids=lambda f: os.path.relpath(f, ROOT))
def test_committed_records_rebuild_their_report_exactly(folder, tmp_path, capsys):
    """Every records file under docs/ rebuilds the report beside it, byte for byte (report --from)."""
    from mpcl_tevatron.xmrc.analysis.report import main

    assert main(["--from", os.path.join(folder, "records.npz"), "--out", str(tmp_path / "rebuilt")]) == 0
    for name in ("report.md", "report.json"):
        with open(os.path.join(folder, name), encoding="utf-8") as committed:
            assert (tmp_path / "rebuilt" / name).read_text(encoding="utf-8") == committed.read(), name


def readme_commands(prefix: str):
    """README's indented commands that start with ``prefix`` (backslash continuations joined), as argv."""
    import shlex

    text = open(README, encoding="utf-8").read().replace("\\\n", " ")
    for line in text.splitlines():
        if line.startswith("    " + prefix):
            yield shlex.split(line.strip().split("#")[0])[len(shlex.split(prefix)):]


@needs_xquad
@needs_mlqa
def test_readmes_recipe_commands_parse_and_pass_the_recipes_checks(monkeypatch):
    """Every `python -m mpcl_tevatron.driver.xmrc ...` line of README (the answer run's among them, which no
    test runs in full) is accepted as written, from the project's root."""
    from mpcl_tevatron.recipes.xmrc import check_args, parse_args

    monkeypatch.chdir(ROOT)
    commands = list(readme_commands("python -m mpcl_tevatron.driver.xmrc"))
    assert any("--seeds_for" in argv for argv in commands) and any("--mlqa_r" in argv for argv in commands)
    for argv in commands:
        assert check_args(parse_args(argv)) is None, argv


def test_the_coverage_benchmark_prints_readmes_table_format(tmp_path):
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "interval_coverage.py"), "--simulations",
                          "20", "--json", str(tmp_path / "c.json")], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[2] == "| design | seed dominates | question dominates | in between | copies matter | discrete |"
    assert out.splitlines()[2] in open(README, encoding="utf-8").read()
    recorded = json.load(open(tmp_path / "c.json"))
    assert recorded["simulations"] == 20 and len(recorded["coverage"]) == 4
