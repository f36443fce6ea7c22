"""The scale curve and form ablation (``recipes.scale``): its points are recipe runs on the dev split, its tables
come from their records alone, and what it is given is used or refused."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest

from mpcl_tevatron.recipes import scale
from mpcl_tevatron.xmrc.analysis.records import Records
from mpcl_tevatron.xmrc.analysis.results import Results

from .conftest import ROOT, SHARED, needs_xquad


def test_a_point_is_a_dev_split_recipe_run_changing_one_setting(tmp_path):
    """Every point trains infonce and mp_infonce on the same seeds and evaluation; the base point adds the
    other forms, and the other points differ from it by their own flags only."""
    from mpcl_tevatron.recipes.xmrc import parse_args

    base = parse_args(scale.point_flags("base", str(tmp_path), [1, 2], True, ["--data_dir", SHARED]))
    assert base.split == "dev" and base.objectives == ["infonce", "mp_infonce", "mp_infonce:form=supcon_out",
                                                       "mp_infonce:form=log_sum", "mp_infonce:form=sample_one"]
    assert base.out == os.path.join(str(tmp_path), "base")
    for point in ("steps240", "k40", "embeddings"):
        other = parse_args(scale.point_flags(point, str(tmp_path), [1, 2], True, ["--data_dir", SHARED]))
        assert other.objectives == ["infonce", "mp_infonce"]
        changed = {k for k, v in vars(other).items() if vars(base)[k] != v} - {"out", "objectives"}
        assert changed == {{"steps240": "max_steps", "k40": "typo_variants",
                            "embeddings": "train_word_embeddings"}[point]}


@pytest.mark.parametrize("flag", ["--max_steps", "--objectives", "--split", "--typo_variants=8"])
def test_a_flag_the_points_set_is_refused(tmp_path, capsys, flag):
    with pytest.raises(SystemExit) as exit_:
        scale.main(["--out", str(tmp_path / "out"), flag, "3"])
    assert exit_.value.code == 2
    assert f"{flag.split('=')[0]} is set by the points" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@needs_xquad
def test_scale_runs_its_points_and_its_tables_come_from_their_records(tmp_path, tiny_model_dir, monkeypatch, capsys):
    """Two points on a tiny model: the curve's differences are each point's primary comparison, the
    ablation's are each form minus eq4 over language means, and --from rebuilds the same tables."""
    monkeypatch.setattr(scale, "POINTS", {"base": ["--max_steps", "2"], "steps240": ["--max_steps", "4"]})
    out = tmp_path / "scale"
    assert scale.main(["--out", str(out), "--seeds", "1", "--data_dir", SHARED, "--model", str(tiny_model_dir),
                       "--langs", "en", "de", "--batch_size", "4", "--q_max_len", "16",
                       "--p_max_len", "32"]) == 0
    data = json.load(open(out / "scale.json"))
    assert [c["point"] for c in data["curve"]] == ["base", "steps240"]
    for c in data["curve"]:
        r = Results.from_records(Records.load(str(out / c["point"] / "records.npz")))
        assert c["seeds"] == {"mp_infonce": 1, "infonce": 1}
        assert r.settings["max_steps"] == {"base": 2, "steps240": 4}[c["point"]]
        for e in r.primary:
            got = c["differences"][f"{e['measure']} | {e['condition']}"]
            assert got["diff"] == pytest.approx(e["diff"]) and got["low"] == pytest.approx(e["low"])
        xx = [r.mean("mp_infonce", f"{x}->{x}", "r50", "mrr@10") - r.mean("infonce", f"{x}->{x}", "r50", "mrr@10")
              for x in ("en", "de")]
        assert c["differences"]["X->X MRR@10 | r50"]["diff"] == pytest.approx(np.mean(xx))
    assert [f["form"] for f in data["forms"]] == ["supcon_out", "log_sum", "sample_one"]
    r = Results.from_records(Records.load(str(out / "base" / "records.npz")))
    log_sum = next(f for f in data["forms"] if f["form"] == "log_sum")["minus_eq4"]["X->pool mAP@20 | clean"]
    pool = [r.mean("mp_infonce:form=log_sum", f"{x}->pool", "clean", "map@20")
            - r.mean("mp_infonce", f"{x}->pool", "clean", "map@20") for x in ("en", "de")]
    assert log_sum["diff"] == pytest.approx(np.mean(pool))
    assert log_sum["low"] <= log_sum["diff"] <= log_sum["high"]
    gaps = {(f["point"], f["row"]): f["typo_gap"]["w1"] for f in data["figures"]}
    assert set(gaps) == {("base", row) for row in r.rows} | {("steps240", row) for row in
                                                              ("zero-shot", "infonce", "mp_infonce")}
    assert gaps[("base", "infonce")] == pytest.approx(r.typo_gap("infonce", "w1"))
    text = (out / "scale.md").read_text()
    assert "| steps240 | K = 4, 4 steps, embeddings frozen | 1/1 |" in text
    assert (out / "scale.png").stat().st_size > 0
    # the tables from the records alone
    assert scale.main(["--from", str(out), "--out", str(tmp_path / "tables")]) == 0
    assert (tmp_path / "tables" / "scale.md").read_text() == text
    # a folder holding anything else is not written into
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert scale.main(["--from", str(out), "--out", str(tmp_path / "other")]) == 2
    assert "notes.txt" in capsys.readouterr().err and os.listdir(tmp_path / "other") == ["notes.txt"]


def test_the_committed_scale_tables_are_their_records(tmp_path):
    """docs/scale/scale.md is what its points' records give, byte for byte."""
    folder = os.path.join(ROOT, "docs", "scale")
    if not os.path.isdir(folder):
        pytest.skip("no scale curve recorded yet")
    assert scale.main(["--from", folder, "--out", str(tmp_path / "tables")]) == 0
    committed = open(os.path.join(folder, "scale.md"), encoding="utf-8").read()
    assert (tmp_path / "tables" / "scale.md").read_text() == committed
    for table in re.findall(r"(?:^\|.*\|\n)+", committed, re.M):  # every row has its header's columns
        assert len({line.count("|") for line in table.splitlines()}) == 1, table


def test_the_reports_quoted_intervals_are_in_the_generated_tables():
    """Every difference and interval that docs/report.md quotes about the scale curve is one of the tables'."""
    folder = os.path.join(ROOT, "docs", "scale")
    if not os.path.isdir(folder):
        pytest.skip("no scale curve recorded yet")
    text = scale.markdown(scale.tables(scale.finished_points(folder)))
    page = open(os.path.join(ROOT, "docs", "report.md"), encoding="utf-8").read()
    section = page[page.index("**What the finished points say**"):page.index("## The main job")]
    quoted = re.findall(r"[+-]\d\.\d{4} \[[+-]\d\.\d{4}, [+-]\d\.\d{4}\]", section)
    assert len(quoted) >= 6
    assert [q for q in quoted if q not in text] == []

