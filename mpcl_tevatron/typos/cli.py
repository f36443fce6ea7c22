"""Write N seeded typo'd copies of a query file, or add K typo'd variants to each group of a Tevatron train
JSONL (``python -m mpcl_tevatron.typos``)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import List, Optional

from tqdm.auto import tqdm

from ..cli import command, finite_float, one_line_errors, output_lock
from ..io import InputError, atomic_open, iter_jsonl, read_queries, write_queries
from .generator import TYPO_TYPES, TypoGenerator


def typo_copy_path(out_dir: str, path: str, copy: int) -> str:
    """Where copy ``copy`` of query file ``path`` goes: ``<out_dir>/<stem>.typo<copy><ext>``."""
    stem, ext = os.path.splitext(os.path.basename(path))
    return os.path.join(out_dir, f"{stem}.typo{copy}{ext}")


def write_typo_copies(path: str, out_dir: str, copies: int, seed: int, generator: TypoGenerator,
                      progress: bool = True) -> List[str]:
    """Copy ``j`` (0-based) makes one variant per query with seed ``seed + j``; queries keep their ids, so
    every copy shares the clean file's qrels. Returns the written paths."""
    queries = read_queries(path)
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for j in tqdm(range(copies), desc=f"typo'd copies of {os.path.basename(path)}", disable=not progress):
        rows = [(qid, (generator.variants(text, 1, seed=seed + j) or [text])[0]) for qid, text in queries]
        out = typo_copy_path(out_dir, path, j)
        write_queries(out, rows)
        written.append(out)
    return written


def add_query_variants(path: str, out_dir: str, k: int, seed: int, generator: TypoGenerator) -> str:
    """Copy the train JSONL ``path`` to ``<out_dir>/<stem>.variants.jsonl`` with a ``query_variants`` list of up
    to ``k`` distinct typo'd forms in each group (the query itself when it has no eligible word): the field
    Tevatron v2's ``--query_variants`` reads (with the upstream patch in ``upstream/tevatron-v2``)."""
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.splitext(os.path.basename(path))[0]
    out = os.path.join(out_dir, f"{stem}.variants.jsonl")
    with atomic_open(out) as f:
        for lineno, group in tqdm(iter_jsonl(path), desc=f"variants of {os.path.basename(path)}"):
            query = group.get("query", group.get("query_text"))
            if not isinstance(query, str) or not query.strip():
                raise InputError(f"{path}:{lineno}: empty or missing query")
            group["query_variants"] = generator.variants(query, k, seed=seed) or [query]
            f.write(json.dumps(group, ensure_ascii=False) + "\n")
    return out


def build_parser() -> argparse.ArgumentParser:
    p = one_line_errors(argparse.ArgumentParser(
        prog="python -m mpcl_tevatron.typos",
        description="Write N seeded typo'd copies of a Tevatron query file (TSV qid<TAB>text, or JSONL). "
                    "Copy j edits each query with seed SEED+j; ids are kept, so the clean qrels apply. "
                    "With --query_variants K, the inputs are train JSONL files instead, written to "
                    "<stem>.variants.jsonl with K typo'd forms of each query in 'query_variants'."))
    p.add_argument("queries", nargs="+", help="query files (.tsv, .jsonl), or train JSONL with --query_variants")
    p.add_argument("--out_dir", required=True, help="folder for <stem>.typo<j><ext> files")
    p.add_argument("--copies", type=int, default=10, help="typo'd copies per file (default 10, the literature's)")
    p.add_argument("--seed", type=int, default=0, help="seed of copy 0 (default 0)")
    p.add_argument("--lang", default="en", help="ISO 639-1 language of the queries (default en); a code without "
                   "stop words or a keyboard layout is an error unless --lang_fallback is given")
    p.add_argument("--lang_fallback", choices=["latin"], default=None,
                   help="for a --lang without data: Latin alphabet, US QWERTY, no stop words (warns once)")
    p.add_argument("--types", nargs="+", default=list(TYPO_TYPES), choices=TYPO_TYPES, help="edit types")
    p.add_argument("--n_words", type=int, default=1, help="typo'd words per query (default 1)")
    p.add_argument("--rate", type=finite_float, default=None, help="fraction of eligible words to edit instead")
    p.add_argument("--query_variants", type=int, default=0, metavar="K",
                   help="add K typo'd variants to each group of train JSONL inputs (Tevatron v2's --query_variants)")
    return p


@command
def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(format="warning: %(message)s", level=logging.WARNING)
    if args.copies < 1:
        parser.error("--copies must be >= 1")
    if args.query_variants < 0:
        parser.error(f"--query_variants must be >= 0, got {args.query_variants}")
    if args.n_words < 1:
        parser.error(f"--n_words must be >= 1, got {args.n_words}")
    if args.rate is not None and not 0 < args.rate <= 1:
        parser.error(f"--rate must be in (0, 1], got {args.rate}")
    try:
        gen = TypoGenerator(lang=args.lang, types=args.types, n_words=args.n_words, rate=args.rate,
                            lang_fallback=args.lang_fallback)
    except ValueError as e:
        raise InputError(str(e)) from None
    with output_lock(args.out_dir):
        for path in args.queries:
            if args.query_variants > 0:
                print(add_query_variants(path, args.out_dir, args.query_variants, args.seed, gen))
                continue
            for out in write_typo_copies(path, args.out_dir, args.copies, args.seed, gen):
                print(out)
    s = gen.stats
    print(f"{s.queries} queries typo'd; {s.unchanged} unchanged (no eligible word)", file=sys.stderr)
    return 0
