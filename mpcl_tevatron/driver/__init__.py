"""Thin mains. ``train`` and ``encode`` run the installed Tevatron's adapter; ``xmrc`` the XMRC recipe."""

import importlib
import sys

from mpcl_tevatron.adapters import detect
from mpcl_tevatron.io import InputError


def run_adapter(step: str, argv=None):
    """``adapters/<installed version>/<step>.py``'s ``main(argv)``; bad input or settings (``InputError``, a
    missing file) end in one line on stderr and exit code 2, as argparse's errors and every other main."""
    main = importlib.import_module(f"mpcl_tevatron.adapters.{detect()}.{step}").main
    try:
        return main(argv)
    except (InputError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
