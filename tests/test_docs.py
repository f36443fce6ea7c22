"""The documentation site (``docs/``): it builds with warnings as errors, every public object of its API
reference has a docstring, and every code block of its pages runs, on tiny data, in the order a reader meets it.

A block is run unless the line before it says otherwise:

- ``<!-- test: skip (why) -->``: not run (it installs from the network, or is a minutes-long benchmark);
- ``<!-- test: parse (why) -->``: hours of training; each command's arguments are checked by the command's own
  parser and checks, from the project's root, as the recipe checks them before it writes anything.

Each page's blocks run in one bash process in a folder of their own, with ``MODEL`` set to a tiny random BERT,
``XQUAD_R`` and ``MLQA_R`` to the shared data and the project's ``recipes/``, ``examples/``, ``benchmarks/`` and
``docs/`` beside them. The Tevatron v2 page runs under v2 (CI's v2 environment), the upstream page under the
patched tree (CI's patched environment)."""

from __future__ import annotations

import importlib
import inspect
import os
import re
import shlex
import string
import subprocess
import sys

import pytest

from .conftest import MLQA_R, ROOT, SHARED, needs_mlqa, needs_xquad

DOCS = os.path.join(ROOT, "docs")
PAGES = sorted(os.path.relpath(os.path.join(folder, name), DOCS)
               for folder, _, names in os.walk(DOCS) if "_build" not in folder and "_generated" not in folder
               for name in names if name.endswith(".md")
               and os.path.relpath(folder, DOCS).split(os.sep)[0] in (".", "guides"))
FENCE = re.compile(r"(?:<!-- test: (?P<mark>\w+)(?: \((?P<why>[^)]*)\))? -->\n)?"
                   r"```(?P<lang>bash|python)\n(?P<code>.*?)```", re.S)


def blocks(page: str):
    """(mark, why, language, code) of every bash and python block of ``page``, in order."""
    text = open(os.path.join(DOCS, page), encoding="utf-8").read()
    return [(m["mark"], m["why"], m["lang"], m["code"]) for m in FENCE.finditer(text)]


def _installed_tevatron():
    try:
        from mpcl_tevatron.adapters import detect
        return detect()
    except RuntimeError:
        return None


def _patched_upstream() -> bool:
    try:
        from tevatron.retriever.arguments import DataArguments
    except ImportError:
        return False
    import dataclasses
    return "positives_per_query" in {f.name for f in dataclasses.fields(DataArguments)}


#: the pages whose blocks need another Tevatron than PyPI's, and whether this environment has it
NEEDS = {"guides/tevatron-v2.md": ("Tevatron v2 (CI's v2 environment)", _installed_tevatron() == "v2"),
         "guides/upstream.md": ("Tevatron v2 with the upstream series (CI's patched environment)", _patched_upstream()),
         "guides/tevatron-v1.md": ("Tevatron v1 (PyPI)", _installed_tevatron() == "v1")}


def test_the_pages_are_found_and_every_block_is_run_or_says_why():
    assert {"index.md", "report.md", "guides/tevatron-v1.md", "guides/sentence-transformers.md"} <= set(PAGES)
    counted = 0
    for page in PAGES:
        for mark, why, _, _ in blocks(page):
            counted += 1
            assert mark in (None, "skip", "parse"), (page, mark)
            assert mark is None or why, f"{page}: a '{mark}' block must say why"
    assert counted >= 15


def test_the_site_builds_with_warnings_as_errors(tmp_path):
    if importlib.util.find_spec("sphinx") is None or importlib.util.find_spec("myst_parser") is None:
        if os.environ.get("CI"):
            pytest.fail("the docs extra is not installed (pip install -e '.[docs]')")
        pytest.skip("the docs extra is not installed")
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html", DOCS,
                           str(tmp_path / "html")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-5000:]
    report = (tmp_path / "html" / "report.html").read_text(encoding="utf-8")
    assert "0.121 [0.117, 0.126]" in report  # a figure generated from docs/lareqa's records
    assert (tmp_path / "html" / "api.html").is_file()


def _reference_modules():
    text = open(os.path.join(DOCS, "api.md"), encoding="utf-8").read()
    return re.findall(r"\.\. automodule:: (\S+)", text)


@pytest.mark.parametrize("module_name", _reference_modules())
def test_every_public_object_of_the_reference_has_a_docstring(module_name):
    """autodoc leaves an undocumented member out without a word: here it fails instead."""
    module = importlib.import_module(module_name)
    public = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    missing = []
    for name in public:
        obj = getattr(module, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if "__all__" not in vars(module) and getattr(obj, "__module__", None) != module_name:
            continue  # imported from elsewhere: documented where it is defined
        if not inspect.getdoc(obj):
            missing.append(name)
        if inspect.isclass(obj):
            missing += [f"{name}.{m}" for m, f in vars(obj).items()
                        if not m.startswith("_") and inspect.isfunction(f) and not f.__doc__]
    assert not missing, f"{module_name}: no docstring for {missing}"


@pytest.fixture(scope="module")
def docs_model_dir(tmp_path_factory):
    """A tiny random BERT whose positions hold the guides' 128-token passages."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    d = tmp_path_factory.mktemp("docs_bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list(string.ascii_lowercase) + \
        ["##" + c for c in string.ascii_lowercase]
    BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True).save_pretrained(str(d))
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=160)).save_pretrained(str(d))
    return d


def page_script(page: str) -> str:
    """The page's runnable blocks as one bash script (python blocks as here-documents), stopping at the first
    failure."""
    parts = ["set -euo pipefail"]
    for mark, _, lang, code in blocks(page):
        if mark is None:
            parts.append(code if lang == "bash" else f"python - <<'PYTHON_BLOCK'\n{code}PYTHON_BLOCK")
    return "\n".join(parts) + "\n"


def run_page(page: str, work, model_dir) -> subprocess.CompletedProcess:
    for name in ("recipes", "examples", "benchmarks", "docs"):
        os.symlink(os.path.join(ROOT, name), work / name)
    # the blocks' "python" is this interpreter (a v2 venv's in CI's v2 environment)
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    env = dict(os.environ, MODEL=str(model_dir), XQUAD_R=SHARED, MLQA_R=MLQA_R, TOKENIZERS_PARALLELISM="false",
               PYTHONPATH=ROOT, PATH=path)
    return subprocess.run(["bash", "-c", page_script(page)], cwd=work, env=env, capture_output=True, text=True)


RUN_PAGES = [p for p in PAGES if any(mark is None for mark, _, _, _ in blocks(p))]


@pytest.mark.slow
@needs_xquad
@pytest.mark.parametrize("page", RUN_PAGES)
def test_a_pages_blocks_run(page, tmp_path, docs_model_dir):
    needs, present = NEEDS.get(page, (None, True))
    if not present:
        pytest.skip(f"needs {needs}")
    proc = run_page(page, tmp_path, docs_model_dir)
    assert proc.returncode == 0, f"{page}:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"


def test_a_failing_block_fails_its_page(tmp_path, monkeypatch, docs_model_dir):
    """The runner can fail: a block that exits non-zero stops the page with its status."""
    monkeypatch.setattr(sys.modules[__name__], "blocks", lambda page: [(None, None, "bash", "echo one\nfalse\n"),
                                                                       (None, None, "bash", "echo never\n")])
    proc = run_page("any.md", tmp_path, docs_model_dir)
    assert proc.returncode == 1 and proc.stdout == "one\n"


def parse_commands():
    """(page, argv) of every command in a 'parse' block."""
    for page in PAGES:
        for mark, _, _, code in blocks(page):
            if mark == "parse":
                for line in code.replace("\\\n", " ").splitlines():
                    if line.strip():
                        yield page, shlex.split(line.split("#")[0])


@needs_xquad
@needs_mlqa
@pytest.mark.parametrize("page, argv", list(parse_commands()),
                         ids=lambda x: x if isinstance(x, str) else " ".join(x[:4]))
def test_a_parse_blocks_command_passes_its_checks(page, argv, monkeypatch):
    """The hours-long commands, as written, from the project's root: accepted by their own parsers and checks."""
    from mpcl_tevatron.recipes import scale, sweep
    from mpcl_tevatron.recipes.xmrc import check_args, parse_args

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("XQUAD_R", SHARED)
    if argv[:2] == ["bash", "recipes/xmrc.sh"] or argv[:3] == ["python", "-m", "mpcl_tevatron.driver.xmrc"]:
        args = parse_args(argv[2:] if argv[0] == "bash" else argv[3:])
        assert check_args(args) is None
    elif argv[:3] == ["python", "-m", "mpcl_tevatron.recipes.scale"]:
        _, points = scale.parse_args(argv[3:])
        assert len(points) == len(scale.POINTS)
    elif argv[:3] == ["python", "-m", "mpcl_tevatron.recipes.sweep"]:
        ran = []
        monkeypatch.setattr(sweep, "_sweep", lambda args, points, flags: ran.append(points))
        monkeypatch.setattr(sweep, "output_lock", lambda out: open(os.devnull))
        assert sweep.main(argv[3:]) == 0 and ran and ran[0]
    else:
        pytest.fail(f"{page}: no parser known for {argv[:3]}")
