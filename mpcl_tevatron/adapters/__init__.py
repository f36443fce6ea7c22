"""One thin adapter per Tevatron version; everything else in the plugin imports no Tevatron module.

``detect()`` tells which Tevatron is installed: "v2" when ``tevatron.retriever`` exists (upstream's current
code, installed from source), "v1" when the PyPI release's ``tevatron.trainer`` does.
"""

from __future__ import annotations

import importlib.util


class TevatronNotInstalled(RuntimeError):
    pass


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def steps():
    """The installed version's ``steps`` module: the recipe's train and encode flags in that version's words."""
    import importlib

    return importlib.import_module(f"{__name__}.{detect()}.steps")


def detect() -> str:
    if _has("tevatron.retriever"):
        return "v2"
    if _has("tevatron.trainer"):
        return "v1"
    raise TevatronNotInstalled("no Tevatron found: `pip install tevatron` (v1) or install v2 from source")
