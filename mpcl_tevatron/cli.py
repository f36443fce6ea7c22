"""What every command of the plugin promises, written once (CONTRIBUTING, "Promises every command keeps").

- **One line, exit 2, for bad input.** ``command`` wraps a ``main(argv) -> int``: bad input or settings
  (``io.InputError``), a missing, unreadable or unwritable path, a full disk (``OSError``), a corrupt JSON or
  text file end in one ``error: ...`` line on stderr and exit code 2; Ctrl-C in one line and exit code 130,
  leaving every finished step's output as it was (each step writes under a temporary name and renames it
  when complete). ``one_line_errors`` makes an argparse (or ``HfArgumentParser``) error one line too, instead
  of a usage text of a hundred lines.
- **One writer per output folder.** ``output_lock`` holds an exclusive ``fcntl.flock`` on ``<folder>/.mpcl.lock``
  (which records the holder's PID) while a command writes the folder; a second command on it is refused in one
  line naming that PID. The kernel drops a lock when its process dies however it dies, so a lock file left by a
  killed process is taken over, not obeyed.
- **Never delete what the command did not write.** ``claim_folder`` refuses a folder that holds anything
  beyond what the command recorded as its own.
- **Numbers are finite.** ``finite_float`` (an argparse ``type``) and ``non_finite_setting`` (over parsed
  dataclasses) refuse NaN and infinity, which every ``<= 0`` check lets through.
- **No setting given twice.** ``repeated`` finds a value listed twice (``--seeds 42 42`` would count one run
  as two).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import functools
import json
import logging
import math
import os
import sys
from typing import Callable, Iterable, Iterator, Optional

from .io import InputError

logger = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
#: the lock file ``output_lock`` keeps in a folder while a command writes it
LOCK_NAME = ".mpcl.lock"

#: set by a command for the commands it runs: Ctrl-C reaches the whole process group, and the parent's line
#: says it once
QUIET_INTERRUPT = "MPCL_PARENT_REPORTS_INTERRUPT"

#: what ``command`` turns into one line and exit code 2
BAD_INPUT = (InputError, OSError, json.JSONDecodeError, UnicodeDecodeError)


#: the optional packages, by top-level module, and the extra that installs each (pyproject.toml)
EXTRAS = {"ranx": ("ranx", "xmrc"), "scipy": ("scipy", "xmrc"), "matplotlib": ("matplotlib", "xmrc"),
          "faiss": ("faiss-cpu", "xmrc"), "datasets": ("datasets", "xmrc"), "tevatron": ("tevatron", "v1"),
          "sentence_transformers": ("sentence-transformers", "st")}


def missing_extra(error: ModuleNotFoundError) -> Optional[str]:
    """The one line for an optional package that is not installed (``EXTRAS``), or None for any other module
    (a bug, whose traceback is kept)."""
    root = (error.name or "").split(".")[0]
    if root not in EXTRAS:
        return None
    package, extra = EXTRAS[root]
    return f"{package} is not installed; it comes with pip install \"mpcl-tevatron[{extra}]\""


class FolderInUse(InputError):
    """Another live process holds the folder's lock."""


def one_line(error: BaseException) -> str:
    """The first non-blank line of an error's message (the library's own, for an ``OSError`` from a loader),
    or its class name when it says nothing."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def command(main: Callable[..., Optional[int]]) -> Callable[..., int]:
    """``main(argv) -> int`` with the promised exits: bad input (or an optional package not installed) one line
    and 2, Ctrl-C one line and 130."""

    @functools.wraps(main)
    def wrapped(argv=None) -> int:
        try:
            return main(argv) or 0
        except KeyboardInterrupt:
            if not os.environ.get(QUIET_INTERRUPT):
                _say("interrupted: finished steps are kept; the same command resumes")
            return EXIT_INTERRUPTED
        except BAD_INPUT as e:
            _say(f"error: {one_line(e)}")
            return EXIT_BAD_INPUT
        except ModuleNotFoundError as e:
            line = missing_extra(e)
            if line is None:
                raise
            _say(f"error: {line}")
            return EXIT_BAD_INPUT

    return wrapped


def _say(line: str) -> None:
    """``line`` on stderr, on a line of its own even while a progress bar is drawn (``tqdm.write``)."""
    from tqdm import tqdm

    tqdm.write(line, file=sys.stderr)


def one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``parser`` whose errors are one line, ``<prog>: error: <message>``, and exit code 2 (argparse prints
    its whole usage first: 177 lines for the train driver)."""

    def error(message: str):
        parser.exit(EXIT_BAD_INPUT, f"{parser.prog}: error: {message} (--help lists the options)\n")

    parser.error = error
    return parser


def finite_float(text: str) -> float:
    """An argparse ``type``: a finite number (``float`` alone accepts "nan" and "inf")."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def non_finite_setting(*parsed) -> Optional[str]:
    """An error message naming the first float field of the parsed dataclasses that is NaN or infinite, else
    None (every float flag of a ``HfArgumentParser``: learning rate, temperatures, weights, rates)."""
    for args in parsed:
        if not dataclasses.is_dataclass(args):
            continue
        for f in dataclasses.fields(args):
            value = getattr(args, f.name, None)
            if isinstance(value, float) and not math.isfinite(value):
                return f"--{f.name} must be a finite number, got {value}"
    return None


def repeated(values: Iterable) -> list:
    """The values listed more than once, in order of their second appearance."""
    seen, twice = set(), []
    for v in values:
        if v in seen and v not in twice:
            twice.append(v)
        seen.add(v)
    return twice


def _holder(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 64).decode("ascii", "replace").strip()


@contextlib.contextmanager
def output_lock(folder: str) -> Iterator[str]:
    """Create ``folder`` if needed and hold its lock while the block runs; ``FolderInUse`` (one line, exit 2)
    when another live process holds it. The lock file is removed on release, and so is the folder when this
    call made it and the block left nothing in it (a refused or failed command leaves no trace)."""
    created = not os.path.lexists(folder)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, LOCK_NAME)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd) or "unknown"
            os.close(fd)
            raise FolderInUse(f"{folder} is being written by process {holder} (lock {path}); wait for it to "
                              f"finish or use another folder") from None
        try:  # the file we locked may have been removed by a holder releasing it meanwhile: lock the new one
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    stale = _holder(fd)
    if stale and stale != str(os.getpid()):
        logger.warning("%s: taking over the lock that process %s left (it is no longer running)", folder, stale)
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, f"{os.getpid()}\n".encode())
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.remove(path)
        os.close(fd)
        if created:
            with contextlib.suppress(OSError):
                os.rmdir(folder)  # only if empty


def foreign_entries(folder: str, own: Iterable[str]) -> list:
    """The entries of ``folder`` that are neither in ``own`` nor the lock file, sorted."""
    if not os.path.isdir(folder):
        return []
    allowed = set(own) | {LOCK_NAME}
    return sorted(e for e in os.listdir(folder) if e not in allowed)


def claim_folder(folder: str, own: Iterable[str], what: str) -> None:
    """Refuse (``InputError``) to write into ``folder`` when it holds anything beyond ``own``, the entries the
    command records as its own: a command replaces only what it wrote itself."""
    foreign = foreign_entries(folder, own)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise InputError(f"{folder} holds files that are not {what} ({shown}); nothing was changed: give an "
                         f"empty or new folder")
