"""The layout rule holds by itself: the core imports no Tevatron module (only adapters/ and driver/ may),
and no core module imports from the layers above it (adapters/, driver/, recipes/), not even inside a
function."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

from .conftest import ROOT

CORE = ["mpcl_tevatron.typos", "mpcl_tevatron.typos.cli", "mpcl_tevatron.losses", "mpcl_tevatron.xmrc",
        "mpcl_tevatron.xmrc.data.build", "mpcl_tevatron.xmrc.data.squad", "mpcl_tevatron.xmrc.analysis.report",
        "mpcl_tevatron.xmrc.analysis.records", "mpcl_tevatron.training", "mpcl_tevatron.search",
        "mpcl_tevatron.evaluation", "mpcl_tevatron.io", "mpcl_tevatron.encoder_config",
        "mpcl_tevatron.distributed", "mpcl_tevatron.precision", "mpcl_tevatron.arguments",
        "mpcl_tevatron.passages", "mpcl_tevatron.xmrc.analysis.compare"]


def test_the_core_imports_no_tevatron_module():
    code = ("import sys\n" + "".join(f"import {m}\n" for m in CORE)
            + "print(sorted(m for m in sys.modules if m == 'tevatron' or m.startswith('tevatron.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


#: the layers above the core, which the core never imports
ABOVE = ("adapters", "driver", "recipes")


def imported_modules(path: str, package: str):
    """Every module a file imports (absolute names; relative imports resolved against ``package``)."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def test_no_core_module_imports_a_layer_above_it():
    package_root = os.path.join(ROOT, "mpcl_tevatron")
    offenders = []
    for folder, _, files in os.walk(package_root):
        rel = os.path.relpath(folder, package_root)
        if rel.split(os.sep)[0] in ABOVE:
            continue
        package = "mpcl_tevatron" + ("" if rel == "." else "." + rel.replace(os.sep, "."))
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                for module in imported_modules(path, package):
                    parts = module.split(".")
                    if (parts[0] == "tevatron" or parts[:1] == ["mpcl_tevatron"] and len(parts) > 1
                            and parts[1] in ABOVE):
                        offenders.append(f"{os.path.relpath(path, ROOT)}: {module}")
    assert not offenders


def test_the_import_check_sees_a_relative_import_inside_a_function(tmp_path):
    """The rule above can fail: a lazy relative import of the adapters, as the recipe had in xmrc/."""
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from ...adapters import steps\n")
    assert "mpcl_tevatron.adapters.steps" in set(imported_modules(str(path), "mpcl_tevatron.xmrc.data"))
