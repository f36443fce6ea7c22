"""The XMRC recipe end to end on a tiny model and two languages: train -> Tevatron encode -> search -> ranx
report, then resumption: a rerun redoes nothing finished and redoes an interrupted step."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mpcl_tevatron.io import InputError
from mpcl_tevatron.recipes.xmrc import Recipe, main, parse_args

from .conftest import MLQA_R, ROOT, SHARED, needs_mlqa, needs_xquad

try:  # the recipe runs under whichever Tevatron is installed (CI runs it under v1, then under v2)
    from mpcl_tevatron.adapters import detect
    TEVATRON = detect()
except RuntimeError:
    pytest.skip("no Tevatron installed", allow_module_level=True)


@pytest.mark.slow
@needs_xquad
def test_recipe_runs_and_resumes(tmp_path, tiny_model_dir):
    out = tmp_path / "xmrc"
    argv = ["--out", str(out), "--data_dir", SHARED, "--model", str(tiny_model_dir), "--langs", "en", "de",
            "--objectives", "infonce", "mp_infonce", "--baselines", "--copies", "1", "--severities", "w1", "r50",
            "--max_steps", "2", "--batch_size", "4", "--train_n_passages", "2", "--typo_variants", "2",
            "--q_max_len", "16", "--p_max_len", "32", "--seeds", "1", "2", "--encode_batch_size", "64"]
    assert main(argv) == 0
    report = json.load(open(out / "report.json"))
    assert report["rows"] == ["zero-shot", "infonce", "mp_infonce"]
    tasks = report["figures"]["mp_infonce"]
    assert set(tasks) == {"en->en", "de->de", "de->en", "en->de", "en->pool", "de->pool"}
    assert set(tasks["de->pool"]) == {"clean", "w1", "r50"}
    assert 0 < tasks["en->en"]["clean"]["recall@100"] <= 1
    assert "mp_infonce | en->en | clean | mrr@10" in report["significance"]
    assert report["seeds"]["mp_infonce"] == ["mp_infonce.seed1", "mp_infonce.seed2"]
    assert report["seeds"]["zero-shot"] == ["zero-shot"]
    assert report["reference"] == "infonce"  # the reference row is infonce when the run has it
    # each seed trains with its own --seed (training is otherwise deterministic: the same seed, the same bytes)
    weights = {k: (out / "models" / "infonce" / f"seed{k}" / "model.safetensors").read_bytes() for k in (1, 2)}
    assert weights[1] != weights[2]
    for name in ("report.md", "report.tex", "report_xx.png", "report_gap.png", "report_diff.png",
                 "runs/infonce.seed2/de->pool.clean.txt"):
        assert (out / name).exists(), name
    # X->pool searches every language's candidates: German questions retrieve English sentences too
    import pickle

    import numpy as np

    pool = pickle.load(open(out / "runs" / "infonce.seed1.pkl", "rb"))["de->pool"]
    langs_searched = {d.split("-")[0] for d in pool["doc_ids"]}
    langs_retrieved = {pool["doc_ids"][j].split("-")[0] for j in np.unique(pool["ranks"][pool["ranks"] >= 0])}
    assert langs_searched == langs_retrieved == {"en", "de"}
    assert {d.split("-")[0] for d in pickle.load(open(out / "runs" / "infonce.seed1.pkl", "rb"))["de->de"]
            ["doc_ids"]} == {"de"}
    md = open(out / "report.md").read()
    # X->en and en->X leave out en->en (X->X's own figure), as README's tables do
    assert "## X->en MRR@10 (X != en)\n\n| row | de clean | de typo w1 | mean clean | mean typo w1 |" in md
    # distinct query texts are encoded once, shortest first; every query of every set is mapped to one
    data = out / "data"
    index = json.load(open(data / "query_index.json"))
    texts = [json.loads(line)["text"] for line in open(data / "all_queries.jsonl", encoding="utf-8")]
    assert len(texts) == len(set(texts)) < len(index["keys"]) and sorted(texts, key=len) == texts
    de_clean = {json.loads(l)["text_id"]: json.loads(l)["text"] for l in open(data / "de" / "queries.jsonl")}
    for key, tid in zip(index["keys"], index["text_id"]):
        lang, name, qid = key.split("|")
        if lang == "de" and name == "clean":
            assert texts[[json.loads(line)["text_id"] for line in open(data / "all_queries.jsonl")].index(
                str(tid))] == de_clean[qid]
    # each query's vector in a run is its own text's encoding: the de->de ranking of every clean German question,
    # recomputed from the encoded texts looked up by the question's text, has the run's best score first
    with open(out / "reps" / "zero-shot" / "queries.pkl", "rb") as f:
        text_reps, text_ids = pickle.load(f)
    with open(out / "reps" / "zero-shot" / "corpus.pkl", "rb") as f:
        p_reps, p_ids = pickle.load(f)
    text_row = {str(t): i for i, t in enumerate(text_ids)}
    vector = {json.loads(line)["text"]: text_reps[text_row[str(json.loads(line)["text_id"])]]
              for line in open(data / "all_queries.jsonl", encoding="utf-8")}
    de = [i for i, d in enumerate(p_ids) if d.startswith("de-")]
    run = pickle.load(open(out / "runs" / "zero-shot.pkl", "rb"))["de->de"]
    clean = [i for i, name in enumerate(run["set"]) if name == "clean"]
    assert len(clean) == len(de_clean)
    for i in clean:
        scores = p_reps[de] @ vector[de_clean[run["qid"][i]]]
        assert run["scores"][i][0] == pytest.approx(float(scores.max()), rel=1e-5, abs=1e-5)
        best = run["doc_ids"][run["ranks"][i][0]]
        assert float(scores[de.index(list(p_ids).index(best))]) == pytest.approx(float(scores.max()), abs=1e-5)
    timings = json.load(open(out / "timings.json"))
    assert {"build", "train/infonce.seed1", "train/infonce.seed2", "encode/zero-shot/queries",
            "search/mp_infonce.seed2", "score"} <= set(timings)
    assert "bf16" in timings["build"]["cpu"]  # each timing names the CPU it ran on
    table = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "xmrc_timings.py"), str(out)],
                           capture_output=True, text=True, check=True).stdout
    total = sum(t["seconds"] for t in timings.values()) / 60
    assert f"| **total** | **{total:.1f} min**" in table and "| encode/infonce.seed1/queries |" in table

    # resume: nothing finished is redone; an interrupted search (its output and the run's records missing) is
    model_mtime = os.stat(out / "models" / "infonce" / "seed1" / "model.safetensors").st_mtime_ns
    os.remove(out / "runs" / "mp_infonce.seed1.pkl")
    os.remove(out / "records" / "mp_infonce.seed1.npz")
    (out / "runs" / "mp_infonce.seed1.pkl.partial").write_bytes(b"half-written")
    assert main(argv) == 0
    assert os.stat(out / "models" / "infonce" / "seed1" / "model.safetensors").st_mtime_ns == model_mtime
    assert json.load(open(out / "timings.json"))["train/infonce.seed1"] == timings["train/infonce.seed1"]
    assert (out / "runs" / "mp_infonce.seed1.pkl").exists()
    assert json.load(open(out / "report.json"))["figures"] == report["figures"]

    # other settings in the same folder are refused rather than mixed
    assert main(argv[:-2] + ["--encode_batch_size", "64", "--max_steps", "3"]) == 2


def _figures(out):
    return json.load(open(out / "report.json"))["figures"]


@pytest.mark.slow
@needs_xquad
def test_recipe_interrupted_at_every_step_boundary_resumes_to_the_same_report(tmp_path, tiny_model_dir, monkeypatch):
    """One uninterrupted run, and one interrupted right after each step (build, train, encode, search: the
    exception stands for a kill between steps) and rerun each time: the final report is the same. A model folder
    without its config (a crash mid-save) is cleared and retrained."""
    from mpcl_tevatron.recipes import xmrc as recipe

    def argv(out):
        return ["--out", str(out), "--data_dir", SHARED, "--model", str(tiny_model_dir), "--langs", "en", "de",
                "--objectives", "infonce", "--baselines", "--copies", "1", "--severities", "w1", "--max_steps", "2",
                "--batch_size", "4", "--train_n_passages", "2", "--q_max_len", "16", "--p_max_len", "32",
                "--seeds", "1"]

    assert main(argv(tmp_path / "straight")) == 0
    out = tmp_path / "interrupted"
    for step in ("build_data", "train", "encode", "search", "record"):
        original = getattr(recipe.Recipe, step)

        def interrupted(self, *a, _original=original, **kw):
            _original(self, *a, **kw)
            raise KeyboardInterrupt  # a kill right after the step
        monkeypatch.setattr(recipe.Recipe, step, interrupted)
        assert main(argv(out)) == 130  # Ctrl-C's exit code
        monkeypatch.setattr(recipe.Recipe, step, original)
        if step == "train":  # a model saved but for its config: the next rerun clears it and trains again
            (out / "models" / "infonce" / "seed1" / "mpcl_config.json").unlink()
    assert main(argv(out)) == 0
    assert (out / "models" / "infonce" / "seed1" / "mpcl_config.json").exists()
    straight, resumed = _figures(tmp_path / "straight"), _figures(out)
    assert straight.keys() == resumed.keys()
    for row in straight:
        for task in straight[row]:
            for cond in straight[row][task]:
                for metric, value in straight[row][task][cond].items():
                    assert resumed[row][task][cond][metric] == pytest.approx(value, abs=1e-6), (row, task, metric)
    for task in ("de->de", "en->pool"):
        assert (out / "runs" / "infonce.seed1" / f"{task}.clean.txt").read_text() == \
            (tmp_path / "straight" / "runs" / "infonce.seed1" / f"{task}.clean.txt").read_text()


@pytest.mark.slow
@needs_xquad
def test_killing_the_recipe_kills_its_training_child(tmp_path, tiny_model_dir):
    import signal
    import time

    out = tmp_path / "xmrc"
    proc = subprocess.Popen([sys.executable, "-m", "mpcl_tevatron.driver.xmrc", "--out", str(out), "--data_dir",
                             SHARED, "--model", str(tiny_model_dir), "--langs", "en", "--objectives", "infonce",
                             "--baselines", "--copies", "1", "--severities", "w1", "--max_steps", "1000000",
                             "--batch_size", "4", "--train_n_passages", "2", "--q_max_len", "16", "--p_max_len",
                             "32", "--seeds", "1"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    partial = str(out / "models" / "infonce" / "seed1.partial")

    def children():
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmdline = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
            except OSError:
                continue
            if partial in cmdline:
                found.append(int(pid))
        return found

    deadline = time.time() + 120
    while not children() and time.time() < deadline:
        time.sleep(0.5)
    assert children(), "the training child never started"
    time.sleep(2)
    assert children(), "the training child ended by itself: the test would prove nothing"
    proc.send_signal(signal.SIGKILL)  # the parent only
    proc.wait()
    deadline = time.time() + 15
    while children() and time.time() < deadline:
        time.sleep(0.5)
    left = children()
    for pid in left:  # never leave a stray trainer behind, whatever the outcome
        os.kill(pid, signal.SIGKILL)
    assert not left


@pytest.mark.slow
@needs_xquad
@needs_mlqa
def test_a_run_resumed_in_another_sitting_from_its_small_files_gives_the_uninterrupted_report(
        tmp_path, tiny_model_dir, monkeypatch):
    """A run longer than a sitting: the first sitting is cut short after its first trained run; only its small
    files are kept (settings.json, timings.json, records/ and mlqa-r/records/), and a second sitting in a new
    folder carries them in with --resume_from: it makes only the runs not carried (no model of a carried run),
    keeps the carried runs' timings, and its reports (XQuAD-R and MLQA-R) equal an uninterrupted run's."""
    import shutil

    from mpcl_tevatron.recipes import xmrc as recipe

    def argv(out, *more):
        return ["--out", str(out), "--data_dir", SHARED, "--model", str(tiny_model_dir), "--langs", "en", "de",
                "--mlqa_r", MLQA_R, "--mlqa_langs", "en", "de", "--objectives", "infonce", "--copies", "1",
                "--severities", "w1", "--max_steps", "1", "--batch_size", "4", "--typo_variants", "1",
                "--q_max_len", "16", "--p_max_len", "16", "--seeds", "1", "2", "--encode_batch_size", "128",
                "--corpus_batch_size", "128", *more]

    assert main(argv(tmp_path / "straight")) == 0
    recorded = []
    original = recipe.Recipe.record

    def record(self, bench, run):
        original(self, bench, run)
        recorded.append((bench.name, run))
        if recorded[-1] == ("mlqa-r", "infonce.seed1"):
            raise KeyboardInterrupt  # the sitting ends
    monkeypatch.setattr(recipe.Recipe, "record", record)
    assert main(argv(tmp_path / "first")) == 130
    monkeypatch.setattr(recipe.Recipe, "record", original)
    kept = tmp_path / "kept"
    for name in ("settings.json", "timings.json", "records", "mlqa-r/records"):
        source = tmp_path / "first" / name
        (kept / name).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy)(source, kept / name)
    assert sorted(p.name for p in (kept / "mlqa-r" / "records").iterdir()) == ["infonce.seed1.npz", "zero-shot.npz"]

    second = tmp_path / "second"
    assert main(argv(second, "--resume_from", str(kept))) == 0
    assert not (second / "models" / "infonce" / "seed1").exists() and not (second / "reps" / "zero-shot").exists()
    assert (second / "models" / "infonce" / "seed2").exists()
    first_timings = json.load(open(kept / "timings.json"))
    timings = json.load(open(second / "timings.json"))
    for step in ("train/infonce.seed1", "encode/infonce.seed1/corpus", "search/mlqa-r/zero-shot"):
        assert timings[step] == first_timings[step]
    for folder in ("", "mlqa-r"):
        assert (json.load(open(second / folder / "report.json"))["figures"]
                == json.load(open(tmp_path / "straight" / folder / "report.json"))["figures"])
        assert (second / folder / "report.md").read_text() == (tmp_path / "straight" / folder / "report.md").read_text()


@needs_xquad
def test_resume_from_refuses_other_settings_its_own_folder_and_a_folder_not_a_recipes(tmp_path, capsys):
    """--resume_from is checked before anything runs: a folder without settings.json, one made with other
    settings, and --out itself are refused in one line each."""
    kept, out = tmp_path / "kept", tmp_path / "out"
    common = ["--data_dir", SHARED, "--langs", "en", "--objectives", "infonce"]
    Recipe(parse_args(["--out", str(kept), *common])).pin_settings()
    with pytest.raises(SystemExit):
        parse_args(["--out", str(out), *common, "--resume_from", str(tmp_path / "nowhere")])
    assert "--resume_from " + str(tmp_path / "nowhere") + ": no settings.json there" in capsys.readouterr().err
    assert main(["--out", str(out), *common, "--resume_from", str(kept), "--max_steps", "2"]) == 2
    assert "was made with other settings {'max_steps': (60, 2)}" in capsys.readouterr().err
    assert main(["--out", str(kept), *common, "--resume_from", str(kept)]) == 2
    assert "is --out itself" in capsys.readouterr().err


def test_merged_records_refuse_a_run_made_on_other_data():
    """records.merge: a run's records whose questions differ from this build's, or whose query sets differ
    from the first run's, are refused, naming the file; the merged records hold exactly the rows' runs."""
    import numpy as np

    from mpcl_tevatron.xmrc.analysis.records import Records, merge

    tasks = [{"name": "en->en", "query": "en", "target": "en", "searched": ["en"], "qrels": "here/qrels.txt",
              "questions": ["q1", "q2"]}]

    def part(run, questions=("q1", "q2"), sets=("clean",)):
        meta = {"seeds": {run: [run]}, "sets": {"clean": list(sets)}, "severities": [], "depth": 100,
                "tasks": [{**tasks[0], "qrels": "elsewhere/qrels.txt", "questions": list(questions)}]}
        return Records(meta, {f"{run}|en->en|{name}": np.array([[1], [0]], dtype=np.uint8) for name in sets})

    seeds = {"infonce": ["a", "b"]}
    merged = merge({"a.npz": part("a"), "b.npz": part("b"), "c.npz": part("c")}, seeds, tasks, {"reference": "x"})
    assert sorted(merged.ranks) == ["a|en->en|clean", "b|en->en|clean"] and merged.meta["tasks"] == tasks
    assert merged.meta["reference"] == "x" and merged.meta["seeds"] == seeds
    with pytest.raises(InputError, match="b.npz: made on other data"):
        merge({"a.npz": part("a"), "b.npz": part("b", questions=("q1", "q3"))}, seeds, tasks, {})
    with pytest.raises(InputError, match=r"b.npz: made with other settings \(sets differ"):
        merge({"a.npz": part("a"), "b.npz": part("b", sets=("clean", "clean.1"))}, seeds, tasks, {})
    with pytest.raises(InputError, match="1 records missing"):
        merge({"a.npz": part("a")}, seeds, tasks, {})


def test_a_folder_made_before_a_setting_existed_resumes_at_its_default(tmp_path, capsys):
    """settings.json written before --positives_per_query existed: a rerun at the default is the same run; one
    asking for P = 2 is refused."""
    from mpcl_tevatron.recipes.xmrc import LATER_SETTINGS, Recipe, parse_args

    out = tmp_path / "run"
    Recipe(parse_args(["--out", str(out)])).pin_settings()
    settings = json.load(open(out / "settings.json"))
    assert settings["positives_per_query"] == 1 and settings["mask_false_negatives"] is None
    for key in LATER_SETTINGS:
        del settings[key]
    (out / "settings.json").write_text(json.dumps(settings))
    Recipe(parse_args(["--out", str(out)])).pin_settings()  # no error
    with pytest.raises(InputError, match="positives_per_query"):
        Recipe(parse_args(["--out", str(out), "--positives_per_query", "2"])).pin_settings()
    with pytest.raises(SystemExit):
        parse_args(["--out", str(out), "--positives_per_query", "3"])  # more than --train_n_passages (2)
    assert "--positives_per_query must be between 1 and --train_n_passages (2)" in capsys.readouterr().err


@pytest.mark.parametrize("argv, recorded, passed", [
    ([], None, None), (["--mask_false_negatives"], "on", "True"), (["--mask_false_negatives", "false"], "off", "False"),
    (["--mask_false_negatives", "true"], "on", "True"), (["--mask_false_negatives", "off"], "off", "False")])
@needs_xquad
def test_mask_false_negatives_is_spelled_as_the_train_driver_spells_it(tmp_path, monkeypatch, argv, recorded, passed):
    """The bare flag and true/false (the train driver's spellings; on/off as before), recorded as on/off, and
    handed to the train driver as it reads them."""
    from mpcl_tevatron.recipes import xmrc as recipe

    args = recipe.parse_args(["--out", str(tmp_path / "out"), "--data_dir", SHARED, "--objectives", "infonce",
                              "--seeds", "1", *argv])
    assert args.mask_false_negatives == recorded
    commands = []
    monkeypatch.setattr(recipe, "_run", lambda module, *a: commands.append([str(x) for x in a]))
    monkeypatch.setattr(recipe.os, "replace", lambda *a: None)
    monkeypatch.setattr(recipe.Recipe, "timed", lambda *a, **k: None)
    recipe.Recipe(args).train("infonce", 1)
    (flags,) = commands
    if passed is None:
        assert "--mask_false_negatives" not in flags
    else:
        assert flags[flags.index("--mask_false_negatives") + 1] == passed


@needs_xquad
def test_seeds_for_trains_an_objective_with_the_first_n_seeds_and_the_report_says_so(tmp_path, monkeypatch):
    """--seeds 1 2 3 --seeds_for dual_infonce=2: infonce trains seeds 1-3, dual_infonce 1-2, and the report's
    rows list exactly those runs."""
    from mpcl_tevatron.recipes import xmrc as recipe

    args = recipe.parse_args(["--out", str(tmp_path / "out"), "--data_dir", SHARED, "--langs", "en",
                              "--objectives", "infonce", "dual_infonce", "--seeds", "1", "2", "3",
                              "--seeds_for", "dual_infonce=2"])
    trained, reported = [], {}
    monkeypatch.setattr(recipe.Recipe, "build_data", lambda self, bench: None)
    monkeypatch.setattr(recipe.Recipe, "base_model", lambda self, name: name)
    monkeypatch.setattr(recipe.Recipe, "train", lambda self, objective, seed: trained.append((objective, seed)) or "m")
    monkeypatch.setattr(recipe.Recipe, "encode", lambda *a: None)
    monkeypatch.setattr(recipe.Recipe, "search", lambda *a: None)
    monkeypatch.setattr(recipe.Recipe, "record", lambda *a: None)
    monkeypatch.setattr(recipe.Recipe, "report", lambda self, bench, seeds: reported.update(seeds))
    recipe.Recipe(args).run()
    # seed by seed: a run cut short holds the objectives at equal seeds
    assert trained == [("infonce", 1), ("dual_infonce", 1), ("infonce", 2), ("dual_infonce", 2), ("infonce", 3)]
    assert reported["dual_infonce"] == ["dual_infonce.seed1", "dual_infonce.seed2"]
    assert reported["infonce"] == ["infonce.seed1", "infonce.seed2", "infonce.seed3"]


@pytest.mark.slow
@needs_xquad
@needs_mlqa
def test_recipe_scores_mlqa_r_beside_xquad_r_and_its_records_rebuild_the_report(tmp_path, tiny_model_dir, capsys):
    """--mlqa_r: MLQA-R is built evaluation-only (every article; training stays XQuAD-R's) into <out>/mlqa-r/,
    scored by every model, and reported there. X->Y scores only the questions both languages hold; X->pool has
    2-4 relevant sentences per question (here, 2 languages: 1 or 2). Each report's records rebuild it exactly
    (``report --from``)."""
    from mpcl_tevatron.xmrc.analysis.records import Records
    from mpcl_tevatron.xmrc.analysis.report import main as report_main

    out = tmp_path / "xmrc"
    argv = ["--out", str(out), "--data_dir", SHARED, "--model", str(tiny_model_dir), "--langs", "en", "de",
            "--mlqa_r", MLQA_R, "--mlqa_langs", "en", "de", "--objectives", "infonce", "--copies", "1",
            "--severities", "w1", "--max_steps", "1", "--batch_size", "4", "--typo_variants", "1",
            "--q_max_len", "16", "--p_max_len", "16", "--seeds", "1", "--encode_batch_size", "128",
            "--corpus_batch_size", "128"]
    assert main(argv) == 0
    mlqa = out / "mlqa-r"
    assert not (mlqa / "data" / "train").exists()
    manifest = json.load(open(mlqa / "data" / "manifest.json"))
    assert {k: v["queries"] for k, v in manifest["languages"].items()} == {"en": 1148, "de": 512}
    records = Records.load(str(mlqa / "records.npz"))
    assert len(records.questions("en->en")) == 1148 and len(records.questions("de->de")) == 512
    assert records.questions("de->en") == records.questions("de->de")  # every German question is in English
    assert len(records.questions("en->de")) == 512  # English questions that German holds
    pool = records.ranks["infonce.seed1|en->pool|clean"]
    assert sorted({int((row != 255).sum()) for row in pool}) == [1, 2]
    for folder in (out, mlqa):
        rebuilt = tmp_path / ("rebuilt-" + folder.name)
        assert report_main(["--from", str(folder / "records.npz"), "--out", str(rebuilt)]) == 0
        assert json.load(open(rebuilt / "report.json")) == json.load(open(folder / "report.json"))
        assert (rebuilt / "report.md").read_text() == (folder / "report.md").read_text()
    assert "zero-shot" in capsys.readouterr().out
    assert report_main(["--from", str(mlqa / "records.npz"), "--out", str(mlqa)]) == 2  # not a report's folder


@needs_xquad
def test_an_objective_row_with_hyperparameters_trains_with_them_under_its_own_name(tmp_path, monkeypatch):
    """--objectives mp_infonce mp_infonce:form=log_sum: two rows; the second trains with --loss mp_infonce
    --loss_kwargs '{"form": "log_sum"}' into a folder of its own, and --seeds_for names it whole."""
    from mpcl_tevatron.recipes import xmrc as recipe

    args = recipe.parse_args(["--out", str(tmp_path / "out"), "--data_dir", SHARED, "--langs", "en",
                              "--objectives", "mp_infonce", "mp_infonce:form=log_sum,gamma=1", "--seeds", "1", "2",
                              "--seeds_for", "mp_infonce:form=log_sum,gamma=1=1"])
    assert dict(args.seeds_for) == {"mp_infonce:form=log_sum,gamma=1": 1}
    commands = []
    monkeypatch.setattr(recipe, "_run", lambda module, *a: commands.append([str(x) for x in a]))
    monkeypatch.setattr(recipe.os, "replace", lambda *a: None)
    monkeypatch.setattr(recipe.Recipe, "timed", lambda *a, **k: None)
    model = recipe.Recipe(args).train("mp_infonce:form=log_sum,gamma=1", 1)
    assert model == os.path.join(str(tmp_path / "out"), "models", "mp_infonce:form=log_sum,gamma=1", "seed1")
    recipe.Recipe(args).train("mp_infonce", 1)
    with_kwargs, plain = commands
    assert with_kwargs[with_kwargs.index("--loss") + 1] == "mp_infonce"
    assert json.loads(with_kwargs[with_kwargs.index("--loss_kwargs") + 1]) == {"form": "log_sum", "gamma": 1}
    assert plain[plain.index("--loss") + 1] == "mp_infonce" and "--loss_kwargs" not in plain


@pytest.mark.parametrize("objective, message", [
    ("mp_infonce:form=nope", "--objectives mp_infonce:form=nope: form must be one of eq4"),
    ("infonce:form=log_sum", "--objectives infonce:form=log_sum: infonce takes no form"),
    ("mp_infonce:gamma=high", "--objectives mp_infonce:gamma=high: gamma must be a finite number"),
    ("mp_infonce:form", "--objectives mp_infonce:form: give NAME:key=value"),
    ("mp_infonse", "unknown objectives ['mp_infonse']"),
])
@needs_xquad
def test_an_objective_row_that_would_not_train_is_refused_before_anything_runs(tmp_path, capsys, objective, message):
    with pytest.raises(SystemExit) as exit_:
        main(["--out", str(tmp_path / "out"), "--data_dir", SHARED, "--objectives", objective])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
