"""README against what it stands for: its quickstart table is rebuilt from that run's records alone
(``Results.from_records``) and must match character for character; its examples are excerpts of blocks the
tests run; its links resolve; and every records file under docs/ rebuilds the report beside it."""

import functools
import os
import re

import pytest

from mpcl_tevatron.xmrc.analysis.records import Records
from mpcl_tevatron.xmrc.analysis.report import json_data, xx_table
from mpcl_tevatron.xmrc.analysis.results import Results

from .conftest import MLQA_R, ROOT, SHARED, needs_mlqa, needs_xquad, records_tables

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


def test_readmes_answer_is_the_dev_base_points_records():
    """README's dev-split differences (three points of the curve), figure and interval, from the records under
    docs/scale/; and the smallest p-value of the curve's 24 comparisons after Holm's correction over all of them."""
    from mpcl_tevatron.recipes import scale

    data = scale.tables(scale.finished_points(os.path.join(ROOT, "docs", "scale")))
    base = next(c for c in data["curve"] if c["point"] == "base")["differences"]
    readme = " ".join(open(README, encoding="utf-8").read().split())
    for key in ("X->X MRR@10 | clean", "X->pool mAP@20 | r50"):
        entry = base[key]
        assert f"{entry['diff']:+.4f} [{entry['low']:+.4f}, {entry['high']:+.4f}]" in readme, key
    quoted = {"steps240": ("X->X MRR@10 | r50",), "k40": ("X->pool mAP@20 | r50",)}
    for point, keys in quoted.items():
        differences = next(c for c in data["curve"] if c["point"] == point)["differences"]
        for key in keys:
            entry = differences[key]
            assert f"{entry['diff']:+.4f} [{entry['low']:+.4f}, {entry['high']:+.4f}]" in readme, (point, key)
    from mpcl_tevatron.xmrc.analysis.statistics import corrected

    curve = [entry["p"] for c in data["curve"] for entry in c["differences"].values()]
    assert len(curve) == 24 and f"(smallest p {min(corrected(curve, 'holm')):.2f})" in readme


#: the answer run's command (docs/report.md), its data where the tests find them
ANSWER_ARGV = ["--data_dir", SHARED, "--mlqa_r", MLQA_R, "--copies", "3", "--seeds", *map(str, range(42, 52)),
               "--seeds_for", "dual_infonce=5", "dst=3", "dst_mp=3", "typo_cl=3", "typo_cl_mp=3"]


@needs_xquad
@needs_mlqa
def test_readme_counts_the_answer_runs_finished_runs():
    """While the answer run runs in sittings, README's count of its finished runs is the number whose records are
    committed under docs/answer-run/records/ (on both benchmarks), out of the runs its command makes; once its last
    sitting has merged them (records.npz on both benchmarks), the merged records hold every run the command makes
    and README counts no more."""
    from mpcl_tevatron.recipes.xmrc import Recipe, parse_args

    folder = os.path.join(ROOT, "docs", "answer-run")
    _, order = Recipe(parse_args(ANSWER_ARGV)).runs()
    readme = " ".join(open(README, encoding="utf-8").read().split())
    merged = [os.path.join(folder, "records.npz"), os.path.join(folder, "mlqa-r", "records.npz")]
    if all(os.path.isfile(path) for path in merged):
        for path in merged:
            seeds = Records.load(path).meta["seeds"]
            assert sorted(run for runs in seeds.values() for run in runs) == sorted(run for run, _ in order), path
        assert "has finished" not in readme
        return
    done = {name for name in os.listdir(os.path.join(folder, "records"))}
    assert done == set(os.listdir(os.path.join(folder, "mlqa-r", "records")))
    assert done <= {f"{run}.npz" for run, _ in order}
    assert f"has finished {len(done)} of its {len(order)} runs" in readme


@needs_xquad
@needs_mlqa
def test_readme_says_which_seeds_and_copies_the_default_and_the_answer_run_have():
    """README's account of the XMRC recipe's default (seeds, copies, one benchmark) is what the recipe does with
    no argument, and its account of the answer run (seeds per objective, copies) is what the answer run's
    command makes."""
    from mpcl_tevatron.recipes.xmrc import Recipe, parse_args

    readme = " ".join(open(README, encoding="utf-8").read().split())
    default = parse_args([])
    assert default.mlqa_r is None and default.copies == 1
    assert (f"every objective with seeds {' '.join(map(str, default.seeds))}, 1 typo'd copy a severity, XQuAD-R "
            "alone") in readme
    answer = parse_args(ANSWER_ARGV)
    seeds, _ = Recipe(answer).runs()
    counts = {row: len(runs) for row, runs in seeds.items() if row != "zero-shot"}
    assert counts == {"infonce": 10, "mp_infonce": 10, "dual_infonce": 5, "dst": 3, "dst_mp": 3, "typo_cl": 3,
                      "typo_cl_mp": 3}
    assert answer.copies == 3 and answer.mlqa_r
    assert ("`infonce` and `mp_infonce` with 10 seeds each, `dual_infonce` with 5, the other four objectives with 3; "
            "3 typo'd copies a severity; XQuAD-R and MLQA-R") in readme


def answer_tables():
    """``report.readme_answer`` of the answer run's merged records (XQuAD-R, MLQA-R), or None before its last
    sitting has written them."""
    from mpcl_tevatron.xmrc.analysis.report import readme_answer

    folder = os.path.join(ROOT, "docs", "answer-run")
    folders = {"XQuAD-R": folder, "MLQA-R": os.path.join(folder, "mlqa-r")}
    if not all(os.path.isfile(os.path.join(path, "records.npz")) for path in folders.values()):
        return None
    return readme_answer({name: records_tables().folder_results(path) for name, path in folders.items()})


def test_readmes_answer_tables_are_the_answer_runs_records():
    """README's answer tables (``report.readme_answer``: the primary comparison on XQuAD-R and MLQA-R, LAReQA's
    measure beside the published baselines) are rebuilt from the answer run's merged records, character for
    character; before its last sitting writes them, README shows no such table."""
    heading = "mp_infonce minus infonce: mean over languages, 95% interval, Holm-corrected p"
    tables = answer_tables()
    if tables is None:
        assert heading not in open(README, encoding="utf-8").read()
        return
    assert tables.startswith(heading)
    for table in tables.split("\n\n"):
        assert readme_block(table.splitlines()[0]) == table


#: an interval as README and the generated tables print it: +0.0022 [-0.0036, +0.0079], 0.272 [0.247, 0.296]
INTERVAL = re.compile(r"[+-]?\d\.\d+ \[[+-]?\d\.\d+, [+-]?\d\.\d+\]")


def readme_answer_section() -> str:
    """README's answer section (its heading to the next), whitespace joined so that wrapped figures read whole."""
    text = open(README, encoding="utf-8").read()
    start = text.index("\n## The answer")
    return " ".join(text[start:text.index("\n## ", start + 1)].split())


@functools.lru_cache(maxsize=1)
def generated_tables() -> str:
    """Every table the report page generates from the records under docs/ (docs/_ext/records_tables.py), and
    README's answer tables generated from the answer run's records (checked above)."""
    pages = list(records_tables().generated_pages(os.path.join(ROOT, "docs")).values())
    return " ".join(" ".join(pages + [answer_tables() or ""]).split())


def typed_by_hand(section: str) -> list:
    """The intervals ``section`` quotes that no generated table prints."""
    tables = generated_tables()
    return [figure for figure in INTERVAL.findall(section) if figure not in tables]


def test_every_interval_readmes_answer_quotes_is_in_a_generated_table():
    """No interval in README's answer is typed by hand: each "figure [low, high]" its answer section quotes is
    printed, exactly so, by a table generated from the committed records (the dev curve and form ablation; the
    answer run on both benchmarks once it has finished)."""
    section = readme_answer_section()
    assert INTERVAL.findall(section), "README's answer quotes no interval"
    assert typed_by_hand(section) == []


def test_an_interval_typed_by_hand_is_found():
    """The check above can fail: README's first quoted interval with its last digit changed is reported."""
    section = readme_answer_section()
    figure = INTERVAL.findall(section)[0]
    typo = figure[:-2] + str((int(figure[-2]) + 1) % 10) + "]"
    assert typed_by_hand(section.replace(figure, typo, 1)) == [typo]


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


def readme_blocks():
    """(language, code) of README's fenced blocks."""
    text = open(README, encoding="utf-8").read()
    return re.findall(r"```(bash|python)\n(.*?)```", text, re.S)


def test_readme_is_short_and_its_links_resolve():
    """At most about 150 lines, and every relative link names a file of the checkout."""
    text = open(README, encoding="utf-8").read()
    assert len(text.splitlines()) <= 150
    links = re.findall(r"\]\(([^)]+)\)", text)
    local = [link for link in links if not link.startswith(("http://", "https://"))]
    assert len(local) >= 10
    missing = [link for link in local if not os.path.exists(os.path.join(ROOT, link.split("#")[0]))]
    assert not missing


def test_readmes_examples_are_excerpts_of_blocks_the_tests_run():
    """Each README example is a run of consecutive lines of one block in a documentation page that
    tests/test_docs.py runs (or, for the docs command, installs nothing it does not test)."""
    from .test_docs import PAGES, blocks

    run_blocks = [code for page in PAGES for mark, _, _, code in blocks(page) if mark is None]
    examples = [code for _, code in readme_blocks() if "sphinx-autobuild" not in code]
    assert len(examples) >= 4
    for code in examples:
        assert any(code in block for block in run_blocks), code


def test_the_coverage_benchmark_prints_what_its_json_records(tmp_path):
    """The benchmark's table (the docs' format) and its --json figures are the same simulation."""
    import json
    import subprocess
    import sys

    from mpcl_tevatron.xmrc.analysis.statistics import coverage_markdown

    out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "interval_coverage.py"), "--simulations",
                          "20", "--json", str(tmp_path / "c.json")], capture_output=True, text=True, check=True).stdout
    header = "| design | seed dominates | question dominates | in between | copies matter | discrete |"
    assert out.splitlines()[2] == header
    recorded = json.load(open(tmp_path / "c.json"))
    from mpcl_tevatron.xmrc.analysis.statistics import COVERAGE_DESIGNS

    assert recorded["simulations"] == 20 and list(recorded["coverage"]) == list(COVERAGE_DESIGNS)
    assert out.rstrip("\n") == coverage_markdown(recorded["coverage"], 20)
