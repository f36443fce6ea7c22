"""Reading and writing the files the plugin trades with Tevatron, with one clear error per bad input.

Query files: Tevatron's TSV (``qid<TAB>text``) or JSONL with ``query_id``/``query`` (Tevatron v2) or
``text_id``/``text`` (Tevatron v1 encode input). Training files: Tevatron's train JSONL, one query group a line:
``query`` plus ``positive_passages``/``negative_passages`` (lists of ``{"docid", "title", "text"}``) or v1's
``positives``/``negatives`` (lists of strings or of such dicts).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from typing import IO, Iterable, Iterator, List, Optional, Tuple

logger = logging.getLogger(__name__)


class InputError(ValueError):
    """Bad input: a file's content (the message names the file and line, or the question id), a missing file or
    training set, a setting that is missing or clashes with another. Every main turns it into one line on stderr
    and exit code 2 (``driver.run_adapter``, the XMRC recipe, the builder, the typos CLI, the evaluation)."""


@contextlib.contextmanager
def atomic_open(path: str, mode: str = "w") -> Iterator[IO]:
    """Open ``path + ".partial"`` for writing and rename it to ``path`` only when the block completes: an
    interrupted write never leaves a file that looks finished (resumable recipes rely on this)."""
    tmp = path + ".partial"
    try:
        with open(tmp, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    os.replace(tmp, path)


def sha256_file(path: str) -> str:
    """Hex SHA-256 of a file's bytes (manifests and cache keys record their sources with it)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def default_cache_dir() -> str:
    """Where the plugin keeps what it makes once (converted models, downloaded training sets): ``$MPCL_CACHE``,
    else ``$XDG_CACHE_HOME/mpcl_tevatron``, else ``~/.cache/mpcl_tevatron``."""
    if os.environ.get("MPCL_CACHE"):
        return os.environ["MPCL_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "mpcl_tevatron")


def _require_file(path: str) -> None:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")


def read_json(path: str):
    """A JSON file's content (settings, timings, reports, manifests); a missing file is a
    ``FileNotFoundError``, one that is not UTF-8 JSON an ``InputError`` naming it."""
    _require_file(path)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text (byte {e.start}: {e.reason})") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not valid JSON ({e.msg}, line {e.lineno}): is it damaged?") from None


def text_lines(path: str) -> Iterator[Tuple[int, str]]:
    """(line number, line) of a UTF-8 text file; bytes that are not UTF-8 are an InputError naming the line."""
    _require_file(path)
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                yield lineno, raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(f"{path}:{lineno}: not UTF-8 text (byte {e.start}: {e.reason})") from None


def json_object(text: str, where: str) -> dict:
    """``text`` parsed as a JSON object; anything else is an InputError that starts with ``where``."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{where}: not valid JSON ({e.msg})") from None
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    return obj


def iter_jsonl(path: str) -> Iterator[Tuple[int, dict]]:
    """(line number, object) for each non-blank line; a line that is not a JSON object is an InputError."""
    for lineno, line in text_lines(path):
        if line.strip():
            yield lineno, json_object(line, f"{path}:{lineno}")


def check_encode_input(path: str) -> None:
    """Refuse an encode input file that is missing, empty, or has a line that is not a JSON object with text
    (``InputError`` naming the file and line), before a model loads."""
    n = 0
    for lineno, obj in iter_jsonl(path):
        if not isinstance(obj.get("text", obj.get("query")), str):
            raise InputError(f"{path}:{lineno}: an encode line needs 'text' (or 'query')")
        n += 1
    if not n:
        raise InputError(f"{path}: nothing to encode (no line)")


def is_jsonl(path: str) -> bool:
    return path.endswith((".jsonl", ".json"))


def read_queries(path: str) -> List[Tuple[str, str]]:
    """[(qid, text)] from a TSV or JSONL query file, in file order."""
    out = []
    if is_jsonl(path):
        for lineno, obj in iter_jsonl(path):
            qid = obj.get("query_id", obj.get("text_id"))
            text = obj.get("query", obj.get("text"))
            if qid is None or not isinstance(text, str):
                raise InputError(f"{path}:{lineno}: a query line needs query_id/query (or text_id/text)")
            out.append((str(qid), text))
    else:
        for lineno, line in text_lines(path):
            line = line.rstrip("\r\n")
            if not line:
                continue
            parts = line.split("\t")
            if len(parts) < 2:
                raise InputError(f"{path}:{lineno}: expected 'qid<TAB>text'")
            out.append((parts[0], parts[1]))
    return out


def write_queries(path: str, queries: Iterable[Tuple[str, str]]) -> None:
    """Write [(qid, text)] as TSV, or as JSONL carrying both Tevatron v1 (text_id/text) and v2
    (query_id/query) keys, atomically (a partial file never appears under ``path``)."""
    with atomic_open(path) as f:
        for qid, text in queries:
            if is_jsonl(path):
                f.write(json.dumps({"query_id": qid, "query": text, "text_id": qid, "text": text},
                                   ensure_ascii=False) + "\n")
            else:
                f.write(f"{qid}\t{_one_line(text)}\n")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _passage_text(p, where: str, separator: str = " ") -> str:
    if isinstance(p, str):
        return p
    if isinstance(p, dict) and isinstance(p.get("text"), str):
        title = p.get("title") or ""
        return (title + separator + p["text"]) if title else p["text"]
    raise InputError(f"{where}: a passage must be a string or an object with 'text'")


def train_group(obj: dict, where: str, separator: str = " ") -> Optional[dict]:
    """One training group ``{"query", "positives", "negatives"}`` (all text) from a Tevatron train record, or
    None when its query is empty; ``positive_keys`` / ``negative_keys`` name each passage for
    ``passages.passage_id`` (its ``docid``, else its text). ``where`` ("file:line") names the record in
    errors."""
    if "query" not in obj:
        raise InputError(f"{where}: missing 'query'")
    query = obj["query"]
    if not isinstance(query, str):
        raise InputError(f"{where}: 'query' must be text (typo'd variants are made from text)")
    positives = obj.get("positive_passages", obj.get("positives")) or []
    negatives = obj.get("negative_passages", obj.get("negatives")) or []
    if not positives:
        raise InputError(f"{where}: no positive passage")
    if not query.strip():
        return None
    positive_texts = [_passage_text(p, where, separator) for p in positives]
    negative_texts = [_passage_text(p, where, separator) for p in negatives]
    return {
        "query": query,
        "positives": positive_texts,
        "negatives": negative_texts,
        "positive_keys": [passage_key(p, t) for p, t in zip(positives, positive_texts)],
        "negative_keys": [passage_key(p, t) for p, t in zip(negatives, negative_texts)],
    }


def passage_key(passage, text: str) -> str:
    """What identifies a training passage (``passages.passage_id`` hashes it): its record's ``docid``, else its
    text. Two records of one docid are one passage; so are two of one text without docids."""
    docid = passage.get("docid") if isinstance(passage, dict) else None
    return f"docid:{docid}" if docid is not None else f"text:{text}"


def read_train_records(records: Iterable[Tuple[str, dict]], separator: str = " ") -> Tuple[List[dict], int]:
    """Training groups from ``(where, record)`` pairs, and how many were skipped for an empty query (logged,
    never a crash mid-epoch). A record without ``query`` or without a positive is an InputError naming it."""
    groups, empty = [], 0
    for where, obj in records:
        group = train_group(obj, where, separator)
        if group is None:
            empty += 1
        else:
            groups.append(group)
    if empty:
        logger.warning("skipped %d training groups with an empty query", empty)
    return groups, empty


def read_train_jsonl(paths: Iterable[str], separator: str = " ") -> Tuple[List[dict], int]:
    """``read_train_records`` over Tevatron train JSONL files (errors name the file and line)."""
    return read_train_records(
        ((f"{path}:{lineno}", obj) for path in paths for lineno, obj in iter_jsonl(path)), separator)
