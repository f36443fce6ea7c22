"""Thin mains. ``train`` and ``encode`` run the installed Tevatron's adapter; ``xmrc`` the XMRC recipe."""

import importlib
import sys

from mpcl_tevatron.adapters import detect
from mpcl_tevatron.cli import command


def run_adapter(step: str, argv=None):
    """``adapters/<installed version>/<step>.py``'s ``main(argv)``, with every command's exits
    (``cli.command``): bad input or settings one line on stderr and exit code 2, Ctrl-C exit code 130."""
    main = importlib.import_module(f"mpcl_tevatron.adapters.{detect()}.{step}").main
    rc = command(main)(argv)
    if rc:
        sys.exit(rc)
