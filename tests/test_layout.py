"""The layout rule holds by itself: the core imports no Tevatron module (only adapters/ and driver/ may)."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT

CORE = ["mpcl_tevatron.typos", "mpcl_tevatron.typos.cli", "mpcl_tevatron.losses", "mpcl_tevatron.xmrc",
        "mpcl_tevatron.xmrc.build", "mpcl_tevatron.xmrc.squad", "mpcl_tevatron.xmrc.report",
        "mpcl_tevatron.xmrc.sweep", "mpcl_tevatron.xmrc.recipe", "mpcl_tevatron.training", "mpcl_tevatron.search",
        "mpcl_tevatron.evaluation", "mpcl_tevatron.io", "mpcl_tevatron.encoder_config",
        "mpcl_tevatron.distributed", "mpcl_tevatron.precision", "mpcl_tevatron.arguments",
        "mpcl_tevatron.passages", "mpcl_tevatron.xmrc.compare"]


def test_the_core_imports_no_tevatron_module():
    code = ("import sys\n" + "".join(f"import {m}\n" for m in CORE)
            + "print(sorted(m for m in sys.modules if m == 'tevatron' or m.startswith('tevatron.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
