"""The promises every command keeps (CONTRIBUTING, "Promises every command keeps"), tried as a careless or hostile
user would: one line and exit code 2 for bad input (130 for Ctrl-C), nothing deleted that the command did not
write, one writer per output folder, finite settings, no number silently wrong."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from mpcl_tevatron.cli import LOCK_NAME, FolderInUse, command, output_lock
from mpcl_tevatron.io import InputError

from .conftest import MLQA_R, ROOT, SHARED, needs_xquad, run_module
from .test_xmrc import _tiny_xquad


def one_line(proc, rc=2):
    """The one stderr line of a finished command that was to end with ``rc``."""
    assert proc.returncode == rc, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return lines[0]


def in_process(main, argv, capsys, rc=2):
    """``main(argv)`` run here: its exit code must be ``rc`` and its stderr one line, which is returned."""
    try:
        got = main([str(a) for a in argv])
    except SystemExit as e:  # argparse's errors exit
        got = e.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert got == rc and len(lines) == 1, err
    return lines[0]


def tree(path):
    """Every file under ``path`` with its bytes (what a refused command must leave as it was)."""
    out = {}
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            out[os.path.relpath(full, path)] = open(full, "rb").read()
    return out


# -- never delete what the command did not write ------------------------------------------------------------------

def test_build_refuses_a_folder_holding_a_users_files_and_touches_nothing(tmp_path, capsys):
    from mpcl_tevatron.xmrc.data.build import main

    data = _tiny_xquad(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    argv = ["--data_dir", data, "--out", out, "--langs", "de", "--copies", "1"]
    line = in_process(main, argv, capsys)
    assert line == f"error: {out} holds files that are not an XMRC build's (notes.txt); nothing was changed: give " \
                   f"an empty or new folder"
    assert tree(out) == {"notes.txt": b"my notes"} and os.listdir(out) == ["notes.txt"]


def test_build_into_the_current_folder_is_refused_when_it_holds_anything(tmp_path, capsys, monkeypatch):
    from mpcl_tevatron.xmrc.data.build import main

    data = _tiny_xquad(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = tree(tmp_path)
    line = in_process(main, ["--data_dir", data, "--out", ".", "--langs", "de", "--copies", "1"], capsys)
    assert line.startswith("error: . holds files that are not an XMRC build's (tiny)")
    assert tree(tmp_path) == before


def test_a_rebuild_replaces_only_what_the_manifest_lists(tmp_path, capsys):
    """A build's folder is rebuilt (its own files replaced, with other languages); a file a user adds to it
    afterwards makes the next rebuild refuse, and the folder stays as it was."""
    from mpcl_tevatron.xmrc.data.build import main

    data = _tiny_xquad(tmp_path)
    out = tmp_path / "out"
    assert main(["--data_dir", str(data), "--out", str(out), "--langs", "de", "--copies", "1"]) == 0
    manifest = json.load(open(out / "manifest.json"))
    assert manifest["files"] == ["de", "manifest.json", "pool", "train"]
    assert sorted(os.listdir(out)) == manifest["files"]
    assert main(["--data_dir", str(data), "--out", str(out), "--langs", "en", "--copies", "1"]) == 0
    assert sorted(os.listdir(out)) == ["en", "manifest.json", "pool", "train"]  # de was the build's own
    capsys.readouterr()
    (out / "en" / "mine.txt").write_text("inside a listed folder: the build's own")
    (out / "README").write_text("beside it: not the build's")
    before = tree(out)
    line = in_process(main, ["--data_dir", data, "--out", out, "--langs", "en", "--copies", "1"], capsys)
    assert "holds files that are not an XMRC build's (README)" in line
    assert tree(out) == before


def test_a_failed_build_leaves_nothing_of_its_own(tmp_path, capsys, monkeypatch):
    """A full disk mid-build: one line, exit 2, no staging folder, and the earlier build as it was."""
    import errno

    from mpcl_tevatron.xmrc.data import build as build_module

    data = _tiny_xquad(tmp_path)
    out = tmp_path / "out"
    assert build_module.main(["--data_dir", str(data), "--out", str(out), "--langs", "de", "--copies", "1"]) == 0
    before = tree(out)
    capsys.readouterr()

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(out / build_module.STAGING / "pool"))
    monkeypatch.setattr(build_module, "write_qrels", full)
    line = in_process(build_module.main, ["--data_dir", data, "--out", out, "--langs", "de", "--copies", "1"],
                      capsys)
    assert line.startswith("error: [Errno 28] No space left on device")
    assert tree(out) == before and build_module.STAGING not in os.listdir(out)
    line = in_process(build_module.main, ["--data_dir", data, "--out", tmp_path / "new", "--langs", "de"], capsys)
    assert not (tmp_path / "new").exists()  # a folder the failed command made is gone too


def test_the_recipe_refuses_a_folder_that_is_not_its_own(tmp_path, capsys):
    from mpcl_tevatron.recipes.xmrc import main

    data = _tiny_xquad(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.tex").write_text("x")
    line = in_process(main, ["--out", out, "--data_dir", data, "--langs", "en", "de", "--objectives"], capsys)
    assert line == f"error: {out} holds files that are not an XMRC recipe's (it has no settings.json) " \
                   f"(thesis.tex); nothing was changed: give an empty or new folder"
    assert os.listdir(out) == ["thesis.tex"]


# -- one writer per output folder -------------------------------------------------------------------------------

HOLDER = """
import sys, time
from mpcl_tevatron.cli import output_lock
with output_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(120)
"""


def _hold(folder):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True,
                            cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_writer_is_refused_while_the_first_runs_and_a_dead_ones_lock_is_taken_over(tmp_path, capsys):
    folder = tmp_path / "out"
    holder = _hold(folder)
    try:
        assert open(folder / LOCK_NAME).read().strip() == str(holder.pid)
        with pytest.raises(FolderInUse) as err:
            with output_lock(str(folder)):
                pass
        assert str(err.value) == (f"{folder} is being written by process {holder.pid} (lock {folder / LOCK_NAME}); "
                                  f"wait for it to finish or use another folder")
    finally:
        holder.send_signal(signal.SIGKILL)  # killed: no chance to remove its lock file
        holder.wait()
    assert (folder / LOCK_NAME).exists()  # left behind, stale
    with output_lock(str(folder)):
        assert open(folder / LOCK_NAME).read().strip() == str(os.getpid())
    assert not (folder / LOCK_NAME).exists()


@pytest.mark.parametrize("module, argv", [
    ("mpcl_tevatron.xmrc.data.build", ["--data_dir", "{data}", "--out", "{out}", "--langs", "de"]),
    ("mpcl_tevatron.typos", ["{data}/en.json", "--out_dir", "{out}"]),
    ("mpcl_tevatron.driver.train", ["--model_name_or_path", "{model}", "--output_dir", "{out}", "--do_train",
                                    "--train_dir", "{data}"]),
])
def test_every_writing_command_takes_the_folder_lock(tmp_path, tiny_model_dir, module, argv):
    data = _tiny_xquad(tmp_path)
    out = tmp_path / "out"
    holder = _hold(out)
    try:
        proc = run_module(module, *[a.format(data=data, out=out, model=tiny_model_dir) for a in argv], check=False)
        assert one_line(proc) == f"error: {out} is being written by process {holder.pid} (lock " \
                                 f"{out / LOCK_NAME}); wait for it to finish or use another folder"
    finally:
        holder.kill()
        holder.wait()


def _endless_training_recipe(out, model):
    """The recipe's arguments for a run that builds quickly, then trains until it is stopped."""
    return ["--out", str(out), "--data_dir", SHARED, "--model", str(model), "--langs", "en", "de", "--objectives",
            "infonce", "--baselines", "--copies", "1", "--severities", "w1", "--max_steps", "1000000", "--batch_size",
            "4", "--train_n_passages", "2", "--q_max_len", "16", "--p_max_len", "32", "--seeds", "1"]


@pytest.mark.slow
@needs_xquad
def test_two_recipes_on_one_folder_cannot_both_run(tmp_path, tiny_model_dir):
    """Recipe A runs; recipe B, the same command, is refused in one line naming A's process, and A's files are
    not touched by it."""
    out = tmp_path / "xmrc"
    argv = _endless_training_recipe(out, tiny_model_dir)
    first = subprocess.Popen([sys.executable, "-m", "mpcl_tevatron.driver.xmrc", *argv], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=dict(os.environ, PYTHONPATH=ROOT))
    try:
        deadline = time.time() + 120
        while not (out / "models" / "infonce" / "seed1.partial").exists() and time.time() < deadline:
            time.sleep(0.2)  # A is training
        assert first.poll() is None, "recipe A ended by itself: the test would prove nothing"
        second = run_module("mpcl_tevatron.driver.xmrc", *argv, check=False)
        assert one_line(second) == f"error: {out} is being written by process {first.pid} (lock " \
                                   f"{out / LOCK_NAME}); wait for it to finish or use another folder"
        assert first.poll() is None and (out / "models" / "infonce" / "seed1.partial").exists()
    finally:
        first.kill()
        first.wait()


# -- finite settings; a loss that turns non-finite -------------------------------------------------------------

@pytest.mark.parametrize("flag", ["--temperature", "--learning_rate"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_the_recipe_refuses_non_finite_numbers_before_writing(tmp_path, capsys, flag, value):
    from mpcl_tevatron.recipes.xmrc import main

    out = tmp_path / "out"
    line = in_process(main, ["--out", out, f"{flag}={value}"], capsys)  # = : argparse reads "-inf" as a flag
    assert line.endswith(f"argument {flag}: {value!r} is not a finite number (--help lists the options)")
    assert not out.exists()


@pytest.mark.parametrize("extra, message", [
    (["--temperature", "nan"], "--temperature must be a finite number, got nan"),
    (["--learning_rate", "inf"], "--learning_rate must be a finite number, got inf"),
    (["--gamma", "nan"], "--gamma must be a finite number, got nan"),
    (["--typo_augment_prob", "nan"], "--typo_augment_prob must be a finite number, got nan"),
    (["--loss_kwargs", '{"gamma": "high"}'], "--loss_kwargs: gamma must be a finite number, got 'high'"),
    (["--loss_kwargs", '{"gamma": NaN}'], "--loss_kwargs: gamma must be a finite number, got nan"),
    (["--typo_variants", "-1"], "--typo_variants must be >= 0, got -1"),
])
def test_the_train_driver_refuses_bad_numbers_in_one_line(tmp_path, tiny_model_dir, synthetic, extra, message):
    out = tmp_path / "out"
    proc = run_module("mpcl_tevatron.driver.train", "--model_name_or_path", tiny_model_dir, "--output_dir", out,
                      "--do_train", "--train_dir", synthetic / "train", "--loss", "dual_infonce",
                      "--typo_variants", 1, *extra, check=False)
    assert message in one_line(proc)
    assert not out.exists() or not os.listdir(out)


def test_a_training_whose_loss_turns_non_finite_stops_and_saves_no_model(tmp_path, tiny_model_dir, synthetic):
    """A temperature of 1e-45 passes every check (finite, > 0), but divides the logits into infinity: the first
    step's loss is not finite, training stops in one line, and nothing is saved as a model."""
    out = tmp_path / "out"
    proc = run_module("mpcl_tevatron.driver.train", "--model_name_or_path", tiny_model_dir, "--output_dir", out,
                      "--do_train", "--train_dir", synthetic / "train", "--temperature", "1e-45", "--max_steps", 3,
                      "--per_device_train_batch_size", 4, "--train_n_passages", 2, "--use_cpu", "--report_to", "none",
                      "--save_strategy", "no", check=False)
    (line,) = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]  # after training's logs
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert line.startswith("error: the training loss is ") and "at step 1; training stopped and no model " \
                                                                  "was saved" in line
    assert not any(name.endswith((".safetensors", ".bin")) or name in ("config.json", "mpcl_config.json")
                   for name in (os.listdir(out) if out.exists() else []))


def test_the_trainer_mixin_stops_at_a_non_finite_loss():
    import torch
    from types import SimpleNamespace

    from mpcl_tevatron.training import NonFiniteLoss, TypoTrainerMixin

    trainer = TypoTrainerMixin()
    trainer.state = SimpleNamespace(global_step=6)
    for value in (float("nan"), float("inf")):
        def model(**_):
            return SimpleNamespace(loss=torch.tensor(value, requires_grad=True))
        with pytest.raises(NonFiniteLoss, match=f"the training loss is {value} at step 7"):
            trainer.compute_loss(model, (None, None, None, None))
    finite = trainer.compute_loss(lambda **_: SimpleNamespace(loss=torch.tensor(0.5)), (None, None, None, None))
    assert float(finite) == 0.5


# -- silently wrong numbers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["--seeds", "42", "42"], "--seeds lists 42 twice (each would count as another run)"),
    (["--langs", "en", "de", "de"], "--langs lists de twice"),
    (["--objectives", "infonce", "infonce"], "--objectives lists infonce twice"),
    (["--severities", "w1", "w1"], "--severities lists w1 twice"),
    (["--severities", "x1"], "--severities: severity 'x1': use w<k>"),
    (["--typo_variants", "-1"], "--typo_variants must be >= 0, got -1"),
    (["--objectives", "mp_infonce", "--typo_variants", "0"], "--objectives mp_infonce train on typo'd variants"),
    (["--langs", "xx", "en"], "--langs xx: no "),
    (["--data_dir", "/nowhere"], "--data_dir /nowhere: no such folder"),
    (["--max_steps", "0"], "--max_steps must be >= 1, got 0"),
])
def test_recipe_settings_are_checked_before_anything_is_written(tmp_path, capsys, argv, message):
    from mpcl_tevatron.recipes.xmrc import main

    data = _tiny_xquad(tmp_path)
    out = tmp_path / "out"
    line = in_process(main, ["--out", out, "--data_dir", data, "--langs", "en", "de", *argv], capsys)
    assert message in line
    assert not out.exists()  # no settings.json to lock the folder against the corrected command


def test_a_duplicated_question_id_is_reported_and_left_out(tmp_path):
    from mpcl_tevatron.xmrc.data.build import build

    data = _tiny_xquad(tmp_path)
    squad = json.load(open(data / "de.json", encoding="utf-8"))
    qas = squad["data"][1]["paragraphs"][0]["qas"]
    qas.append(dict(qas[1], id=qas[0]["id"], question="A second question under the first one's id?"))
    (data / "de.json").write_text(json.dumps(squad), encoding="utf-8")
    m = build(str(data), str(tmp_path / "out"), langs=["de"], copies=0, progress=False)
    assert {"id": "q1a", "reason": "duplicate question id (the first one is kept)"} in m["languages"]["de"]["problems"]
    queries = [json.loads(line) for line in open(tmp_path / "out" / "de" / "queries.jsonl", encoding="utf-8")]
    assert [q["query_id"] for q in queries] == ["q1a", "q1b"]
    assert queries[0]["query"] == "Where does it stand in the old city?"


@pytest.mark.parametrize("line, message", [
    ("q1 d1 nan", "score 'nan' is not a finite number"),
    ("q1 d1 inf", "score 'inf' is not a finite number"),
    ("q1 d1 -Infinity", "score '-Infinity' is not a finite number"),
    ("q1 d0 0.5", "d0 is ranked twice for query q1"),
])
def test_a_run_with_non_finite_scores_or_a_docid_twice_is_refused(tmp_path, capsys, line, message):
    from mpcl_tevatron.evaluation import main

    (tmp_path / "qrels.txt").write_text("q1 0 d0 1\n")
    (tmp_path / "run.txt").write_text(f"q1 d0 1.0\n{line}\n")
    assert in_process(main, ["--qrels", tmp_path / "qrels.txt", tmp_path / "run.txt"], capsys) == \
        f"error: {tmp_path / 'run.txt'}:2: {message}"


@pytest.mark.parametrize("metrics", [",", ""])
def test_no_metric_is_refused(tmp_path, capsys, metrics):
    from mpcl_tevatron.evaluation import main

    (tmp_path / "qrels.txt").write_text("q1 0 d0 1\n")
    (tmp_path / "run.txt").write_text("q1 d0 1.0\n")
    assert in_process(main, ["--metrics", metrics, "--qrels", tmp_path / "qrels.txt", tmp_path / "run.txt"],
                      capsys) == "error: no metric given (e.g. mrr@10,ndcg@10)"


def test_non_utf8_qrels_are_one_line(tmp_path, capsys):
    from mpcl_tevatron.evaluation import main

    (tmp_path / "qrels.txt").write_bytes(b"q1 0 d\xe9 1\n")
    (tmp_path / "run.txt").write_text("q1 d0 1.0\n")
    assert in_process(main, ["--qrels", tmp_path / "qrels.txt", tmp_path / "run.txt"], capsys).startswith(
        f"error: {tmp_path / 'qrels.txt'}:1: not UTF-8 text")


@pytest.mark.parametrize("case, message", [
    ("no training question", "en.json: no training question (0 groups)"),
    ("no evaluated question", "de.json: no question in the test articles 1-1 (0 queries)"),
    ("every context empty", "en.json: no sentence in any context (every paragraph is empty)"),
])
def test_a_build_that_yields_nothing_is_refused(tmp_path, capsys, case, message):
    from mpcl_tevatron.xmrc.data.build import main

    data = _tiny_xquad(tmp_path)
    for lang in ("en", "de"):
        squad = json.load(open(data / f"{lang}.json", encoding="utf-8"))
        for a, article in enumerate(squad["data"]):
            for para in article["paragraphs"]:
                if case == "every context empty":
                    para.update(context="", sentence_breaks=[])
                elif (case == "no training question" and lang == "en" and a == 0) or \
                        (case == "no evaluated question" and lang == "de" and a == 1):
                    para["qas"] = []
        (data / f"{lang}.json").write_text(json.dumps(squad), encoding="utf-8")
    out = tmp_path / "out"
    assert in_process(main, ["--data_dir", data, "--out", out, "--langs", "de", "--copies", "1"], capsys).endswith(
        message)
    assert not out.exists()


# -- tracebacks that were: one line each ------------------------------------------------------------------------

def test_corrupt_json_files_are_one_line_naming_the_file(tmp_path, capsys):
    from mpcl_tevatron.recipes import xmrc as recipe
    from mpcl_tevatron.xmrc.analysis import compare, report

    data = _tiny_xquad(tmp_path)
    out = tmp_path / "run"
    out.mkdir()
    (out / "settings.json").write_text("{half")
    line = in_process(recipe.main, ["--out", out, "--data_dir", data, "--langs", "en", "de"], capsys)
    assert line.startswith(f"error: {out / 'settings.json'}: not valid JSON")
    (out / "settings.json").unlink()
    (out / "report.json").write_text("")
    assert in_process(report.main, [out], capsys).startswith(f"error: {out / 'report.json'}: not valid JSON")
    (out / "settings.json").write_bytes(b"\xff\xfe")
    assert in_process(compare.main, [out, out], capsys).startswith(f"error: {out / 'settings.json'}: not UTF-8")


def test_report_with_a_severity_the_run_lacks(tmp_path, capsys):
    from mpcl_tevatron.xmrc.analysis.report import main

    fig = {"clean": {"mrr@10": 0.5}, "w1": {"mrr@10": 0.4}}
    (tmp_path / "report.json").write_text(json.dumps({"rows": ["infonce"], "figures": {"infonce": {"en->en": fig}}}))
    assert in_process(main, [tmp_path, "--severity", "r50"], capsys) == "error: --severity r50: the run has w1"


def test_compare_with_a_run_file_missing_or_json_into_a_missing_folder(tmp_path, capsys):
    from mpcl_tevatron.xmrc.analysis.compare import main

    from .test_segmenter_report import _write_runs

    settings = {"langs": ["en"], "pivot": "en", "split": "test", "candidate_text": "sentence", "copies": 1,
                "severities": ["w1"], "typo_seed": 0}
    for name in ("A", "B"):
        (tmp_path / name).mkdir()
        json.dump(settings, open(tmp_path / name / "settings.json", "w"))
        json.dump({"seeds": {"mp_infonce": ["mp_infonce.seed1"]}}, open(tmp_path / name / "report.json", "w"))
        _write_runs(tmp_path / name, lambda i: 1, "mp_infonce.seed1", langs=["en"])
    a, b = tmp_path / "A", tmp_path / "B"
    assert in_process(main, [a, b, "--json", tmp_path / "no" / "c"], capsys) == \
        f"error: --json {tmp_path / 'no' / 'c'}: its folder does not exist"
    os.remove(b / "runs" / "mp_infonce.seed1.pkl")
    assert in_process(main, [a, b], capsys) == \
        f"error: {b / 'runs' / 'mp_infonce.seed1.pkl'}: missing (is {b} a finished XMRC recipe folder?)"


@pytest.mark.parametrize("where", ["a folder without config.json", "a missing path", "a file"])
@pytest.mark.parametrize("step", ["train", "encode"])
def test_a_model_path_that_is_no_model_folder_is_one_line(tmp_path, synthetic, where, step):
    model = {"a folder without config.json": tmp_path / "empty", "a missing path": tmp_path / "nowhere",
             "a file": synthetic / "qrels.txt"}[where]
    if where == "a folder without config.json":
        model.mkdir()
    common = ["--model_name_or_path", model, "--output_dir", tmp_path / "out"]
    if step == "train":
        proc = run_module("mpcl_tevatron.driver.train", *common, "--do_train", "--train_dir", synthetic / "train",
                          check=False)
    else:
        proc = run_module("mpcl_tevatron.driver.encode", *common, "--encode_in_path", synthetic / "corpus.jsonl",
                          "--encoded_save_path", tmp_path / "c.pkl", check=False)
    expected = {"a folder without config.json": "not a model folder (it has no config.json)",
                "a missing path": "no such model folder", "a file": "a file, not a model folder"}[where]
    assert one_line(proc) == f"error: {model}: {expected}"


@pytest.mark.parametrize("content, message", [("", "nothing to encode (no line)"),
                                              ('{"text_id": "1", "text": "abc"}\n{broken\n', ":2: not valid JSON"),
                                              ('{"text_id": "1"}\n', ":1: an encode line needs 'text'")])
def test_an_empty_or_broken_encode_input_is_one_line(tmp_path, tiny_model_dir, content, message):
    path = tmp_path / "in.jsonl"
    path.write_text(content)
    proc = run_module("mpcl_tevatron.driver.encode", "--model_name_or_path", tiny_model_dir, "--output_dir",
                      tmp_path / "tmp", "--encode_in_path", path, "--encoded_save_path", tmp_path / "c.pkl",
                      check=False)
    assert one_line(proc).startswith(f"error: {path}") and message in one_line(proc)


def test_build_with_a_squad_train_source_reports_its_groups(tmp_path):
    from .test_xmrc import _multi_answer_squad

    data = _tiny_xquad(tmp_path)
    source, _, _ = _multi_answer_squad(tmp_path)
    proc = run_module("mpcl_tevatron.xmrc.data.build", "--data_dir", data, "--out", tmp_path / "out", "--langs", "de",
                      "--copies", "1", "--train_source", f"squad:{source}")
    assert proc.stdout.strip().splitlines()[-1] == f"train: 3 groups (squad:{source}) -> {tmp_path / 'out' / 'train'}"


@pytest.mark.parametrize("module, argv, message", [
    ("mpcl_tevatron.xmrc.data.build", ["--data_dir", "{data}", "--out", "{file}"], "[Errno 17] File exists"),
    ("mpcl_tevatron.typos", ["{data}/en.json", "--out_dir", "{file}"], "[Errno 17] File exists"),
    ("mpcl_tevatron.driver.xmrc", ["--data_dir", "{data}", "--langs", "en", "--out", "{file}"],
     "[Errno 17] File exists"),
    ("mpcl_tevatron.driver.train", ["--model_name_or_path", "{data}", "--output_dir", "{file}", "--do_train"],
     "--output_dir {file} is a file"),
    ("mpcl_tevatron.recipes.sweep", ["--data_dir", "/nowhere", "--out", "{out}"],
     "--data_dir /nowhere: no such folder"),
    ("mpcl_tevatron.typos", ["{data}/en.json", "--out_dir", "{out}", "--query_variants", "-1"],
     "--query_variants must be >= 0, got -1"),
    ("mpcl_tevatron.typos", ["{data}/en.json", "--out_dir", "{out}", "--rate", "nan"], "'nan' is not a finite"),
])
def test_bad_paths_and_values_are_one_line(tmp_path, module, argv, message):
    data = _tiny_xquad(tmp_path)
    (tmp_path / "file").write_text("a file where a folder is wanted")
    values = dict(data=data, file=tmp_path / "file", out=tmp_path / "out")
    proc = run_module(module, *[a.format(**values) for a in argv], check=False)
    assert message.format(**values) in one_line(proc)
    assert not (tmp_path / "out").exists()


def test_ctrl_c_is_one_line_and_exit_130(capsys):
    @command
    def main(argv):
        raise KeyboardInterrupt

    assert main([]) == 130
    assert capsys.readouterr().err == "interrupted: finished steps are kept; the same command resumes\n"


def test_ctrl_c_in_the_typos_command_is_one_line_and_exit_130(tmp_path):
    """SIGINT to a real process, while it writes many copies: one line, 130, and no half-written copy."""
    queries = tmp_path / "q.tsv"
    queries.write_text("".join(f"q{i}\twhere is the famous old bridge number {i} located\n" for i in range(20000)))
    proc = subprocess.Popen([sys.executable, "-m", "mpcl_tevatron.typos", str(queries), "--out_dir",
                             str(tmp_path / "out"), "--copies", "1000"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    deadline = time.time() + 60
    while not (tmp_path / "out" / "q.typo1.tsv").exists() and time.time() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("typo'd copies")]
    assert proc.returncode == 130 and "Traceback" not in err, err[-2000:]
    assert lines[-1] == "interrupted: finished steps are kept; the same command resumes"
    assert not [n for n in os.listdir(tmp_path / "out") if n.endswith(".partial")]
    assert not (tmp_path / "out" / LOCK_NAME).exists()


def test_ctrl_c_in_the_recipe_is_one_line_and_exit_130(tmp_path, capsys, monkeypatch):
    from mpcl_tevatron.recipes import xmrc as recipe

    data = _tiny_xquad(tmp_path)

    def interrupted(self, bench):
        raise KeyboardInterrupt
    monkeypatch.setattr(recipe.Recipe, "build_data", interrupted)
    out = tmp_path / "out"
    assert in_process(recipe.main, ["--out", out, "--data_dir", data, "--langs", "en", "de"], capsys, rc=130) == \
        "interrupted: finished steps are kept; the same command resumes"
    assert sorted(os.listdir(out)) == ["settings.json"]  # the lock released, nothing else begun


def test_a_failed_recipe_build_leaves_no_partial_folder(tmp_path, capsys, monkeypatch):
    import errno

    from mpcl_tevatron.recipes import xmrc as recipe

    data = _tiny_xquad(tmp_path)

    def full(self, data, langs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(recipe.Recipe, "_write_encode_inputs", full)
    out = tmp_path / "out"
    assert recipe.main([str(a) for a in ["--out", out, "--data_dir", data, "--langs", "en", "de", "--objectives"]]) \
        == 2
    assert capsys.readouterr().err.splitlines()[-1] == "error: [Errno 28] No space left on device"  # after progress
    assert sorted(os.listdir(out)) == ["settings.json"]


def test_loss_kwargs_of_the_wrong_kind_are_named():
    from mpcl_tevatron.losses.registry import unaccepted_kwargs

    assert unaccepted_kwargs("dst", {"gamma": "high"}) == "--loss_kwargs: gamma must be a finite number, got 'high'"
    assert unaccepted_kwargs("dst", {"gamma": True}) == "--loss_kwargs: gamma must be a finite number, got True"
    assert unaccepted_kwargs("dst", {"gamma": float("inf")}) == \
        "--loss_kwargs: gamma must be a finite number, got inf"
    assert unaccepted_kwargs("dst", {"gamma": 1, "beta": 0.25}) is None  # an int for a float is a number


def test_input_error_is_what_commands_turn_into_one_line(capsys):
    @command
    def main(argv):
        raise InputError("first line\nsecond line")

    assert main([]) == 2 and capsys.readouterr().err == "error: first line\n"


def test_an_optional_package_not_installed_names_its_extra_in_one_line(capsys, monkeypatch, tmp_path):
    """``pip install mpcl-tevatron[st]`` brings no ranx: the scoring command then says which extra does, in one
    line; a module that is no optional package is a bug and keeps its traceback."""
    import builtins

    real_import = builtins.__import__

    def no_ranx(name, *args, **kwargs):
        if name.split(".")[0] == "ranx":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ranx)
    from mpcl_tevatron import evaluation

    (tmp_path / "qrels.tsv").write_text("q1 0 d1 1\n")
    (tmp_path / "run.tsv").write_text("q1\td1\t1.0\n")
    assert evaluation.main(["--qrels", str(tmp_path / "qrels.tsv"), str(tmp_path / "run.tsv")]) == 2
    assert capsys.readouterr().err == 'error: ranx is not installed; it comes with pip install "mpcl-tevatron[xmrc]"\n'

    @command
    def main(argv):
        raise ModuleNotFoundError("No module named 'nope'", name="nope")

    with pytest.raises(ModuleNotFoundError):
        main([])


def test_objectives_built_from_python_refuse_non_finite_hyperparameters():
    """Through the Python API too (the sentence-transformers adapter builds objectives with ``get_loss``)."""
    from mpcl_tevatron.losses import get_loss

    with pytest.raises(ValueError, match="loss 'dst': gamma must be a finite number, got nan"):
        get_loss("dst", gamma=float("nan"))
    with pytest.raises(ValueError, match="loss 'dst_mp': temperature must be a finite number, got inf"):
        get_loss("dst_mp", temperature=float("inf"))
    assert get_loss("dst", gamma=0.25).gamma == 0.25


@pytest.mark.slow
@needs_xquad
def test_ctrl_c_in_a_training_recipe_is_one_line_and_keeps_what_was_finished(tmp_path, tiny_model_dir):
    """SIGINT to the recipe's whole process group (what Ctrl-C in a terminal sends) while its child trains: one
    line (the child stays quiet: the recipe says it), exit code 130, the finished build and its timing kept, and
    no lock left."""
    out = tmp_path / "xmrc"
    argv = _endless_training_recipe(out, tiny_model_dir)
    proc = subprocess.Popen([sys.executable, "-m", "mpcl_tevatron.driver.xmrc", *argv], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    try:
        deadline = time.time() + 120
        while not (out / "models" / "infonce" / "seed1.partial" / LOCK_NAME).exists() and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130 and "Traceback" not in err, err[-3000:]
    said = [line for line in err.splitlines() if line.startswith(("interrupted", "error"))]
    assert said == ["interrupted: finished steps are kept; the same command resumes"], err[-3000:]
    assert (out / "data" / "manifest.json").exists() and not (out / LOCK_NAME).exists()
    assert json.load(open(out / "timings.json"))["build"]["seconds"] > 0


@pytest.mark.parametrize("n, shown", [(1, "a0"), (3, "a0, a1, a2"), (4, "a0, a1, a2 and 1 more"),
                                      (6, "a0, a1, a2 and 3 more")])
def test_a_refused_folder_names_three_of_its_entries_and_counts_the_rest(tmp_path, n, shown):
    from mpcl_tevatron.cli import claim_folder

    for i in range(n):
        (tmp_path / f"a{i}").write_text("x")
    (tmp_path / "mine").write_text("x")
    with pytest.raises(InputError) as err:
        claim_folder(str(tmp_path), {"mine"}, "X's")
    assert str(err.value) == f"{tmp_path} holds files that are not X's ({shown}); nothing was changed: give an " \
                             f"empty or new folder"
    claim_folder(str(tmp_path), {"mine", LOCK_NAME, *(f"a{i}" for i in range(n))}, "X's")  # all its own: fine


def test_finite_float_says_what_is_wrong():
    import argparse

    from mpcl_tevatron.cli import finite_float

    assert finite_float("1e-3") == 0.001
    for text, message in (("x", "'x' is not a number"), ("nan", "'nan' is not a finite number"),
                          ("-inf", "'-inf' is not a finite number")):
        with pytest.raises(argparse.ArgumentTypeError) as err:
            finite_float(text)
        assert str(err.value) == message


def test_what_a_build_may_replace_is_what_its_manifest_says(tmp_path):
    """``files`` when the manifest lists them (whatever they are); a manifest from before ``files`` existed: what
    such builds wrote (train, pool, the manifest, one folder per language); a manifest that is not a build's
    (not an object, or without languages): nothing but the staging folder."""
    from mpcl_tevatron.xmrc.data.build import STAGING, own_entries

    manifest = tmp_path / "manifest.json"
    assert own_entries(str(tmp_path)) == {STAGING}  # no manifest
    manifest.write_text(json.dumps({"files": ["extra", "manifest.json"], "languages": {"de": {}}}))
    assert own_entries(str(tmp_path)) == {"extra", "manifest.json", STAGING}
    manifest.write_text(json.dumps({"languages": {"de": {}, "th": {}}}))
    assert own_entries(str(tmp_path)) == {"train", "pool", "manifest.json", "de", "th", STAGING}
    for other in ([1, 2], {"something": "else"}):
        manifest.write_text(json.dumps(other))
        assert own_entries(str(tmp_path)) == {STAGING}


@needs_xquad
def test_the_recipes_checks_their_bounds_and_messages(tmp_path):
    """``check_args`` exactly: each bound's first refused and first accepted value, and each message."""
    from mpcl_tevatron.recipes.xmrc import check_args, parse_args

    def problem(**changes):
        args = parse_args(["--out", str(tmp_path / "out"), "--data_dir", SHARED, "--langs", "en", "de"])
        vars(args).update(changes)
        return check_args(args)

    assert problem() is None
    assert problem(max_steps=1, batch_size=1, typo_variants=1, copies=1) is None
    assert problem(max_steps=0) == "--max_steps must be >= 1, got 0"
    assert problem(objectives=["infonce"], typo_variants=0, copies=0, severities=[]) is None
    assert problem(objectives=["nope"]) == f"unknown objectives ['nope']; known: {', '.join(available())}"
    assert problem(objectives=["infonce", "dst", "typo_cl"], typo_variants=0) == \
        "--objectives dst typo_cl train on typo'd variants: give --typo_variants >= 1"
    assert problem(copies=0) == "--copies must be >= 1 to score typo'd queries (or give --severities with none)"
    assert problem(langs=["en", "xx"]) == f"--langs xx: no {os.path.join(SHARED, 'xx.json')}"
    assert problem(split="all") == \
        "--split all evaluates on the training articles too: zero-shot rows only (--objectives with none)"
    assert problem(split="all", objectives=[]) is None
    assert problem(temperature=0.0) == "--temperature must be > 0, got 0.0"
    assert problem(learning_rate=0.0) == "--learning_rate must be > 0, got 0.0"
    assert problem(temperature=1e-9, learning_rate=1e-9) is None
    # --seeds_for: an objective of the run, 1 to len(--seeds) seeds, each objective once
    assert problem(seeds=[1, 2, 3], seeds_for=[("infonce", 1), ("dst", 3)]) is None
    assert problem(seeds=[1, 2, 3], seeds_for=[("infonce", 4)]) == \
        "--seeds_for infonce=4: give 1 to 3 (the number of --seeds)"
    assert problem(seeds=[1, 2, 3], seeds_for=[("infonce", 0)]) == \
        "--seeds_for infonce=0: give 1 to 3 (the number of --seeds)"
    assert problem(objectives=["dst"], seeds_for=[("infonce", 1)]) == \
        "--seeds_for infonce=1: infonce is not in --objectives"
    assert problem(seeds_for=[("dst", 1), ("dst", 2)]) == "--seeds_for names dst twice"
    # MLQA-R: each of its languages' files, and the pivot among them
    assert problem(mlqa_r=MLQA_R, mlqa_langs=["en", "de"]) is None
    assert problem(mlqa_r=MLQA_R, mlqa_langs=["en", "el"]) == f"--mlqa_langs el: no {os.path.join(MLQA_R, 'el.json')}"
    assert problem(mlqa_r=MLQA_R, mlqa_langs=["de", "es"]) == "--pivot en must be one of --mlqa_langs too"
    assert problem(mlqa_r=MLQA_R, mlqa_langs=["de", "de", "en"]) == "--mlqa_langs lists de twice"


def available():
    from mpcl_tevatron.losses import available_losses

    return available_losses()
