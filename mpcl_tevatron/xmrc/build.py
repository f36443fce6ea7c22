"""``python -m mpcl_tevatron.xmrc.build``: write an XMRC benchmark folder from SQuAD-format files.

Layout written under ``--out``::

    train/train.jsonl                Tevatron train JSONL: English questions of the training articles
    <lang>/corpus.jsonl              candidates (answer sentences) of the evaluation articles
    <lang>/queries.jsonl             the evaluation questions, clean
    <lang>/typos/queries.typo<j>.jsonl   N seeded typo'd copies (same ids, so the same qrels)
    <lang>/qrels.txt                 TREC qrels, X->X
    manifest.json                    languages, counts, seeds, split, source checksums, problems

Files are written atomically, so an interrupted build never leaves a file that looks finished.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from typing import List, Optional

from ..evaluation import write_qrels
from ..io import InputError, write_queries
from ..typos import TypoGenerator
from ..typos.cli import write_typo_copies
from .builder import build_train_groups, load_squad, split_articles

XQUAD_R_LANGS = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_jsonl(path: str, records) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def build(data_dir: str, out: str, langs=XQUAD_R_LANGS, train_lang: str = "en", copies: int = 10,
          seed: int = 0, n_words: int = 1, rate: Optional[float] = None, progress: bool = True) -> dict:
    os.makedirs(out, exist_ok=True)
    manifest = {"source": os.path.abspath(data_dir), "languages": {}, "typo_copies": copies, "typo_seed": seed,
                "typo_n_words": n_words, "typo_rate": rate, "checksums": {}}
    sets = {}
    for lang in dict.fromkeys([train_lang, *langs]):
        path = os.path.join(data_dir, f"{lang}.json")
        sets[lang] = load_squad(path, lang)
        manifest["checksums"][f"{lang}.json"] = _sha256(path)
    n_articles = 1 + max(c.article for c in sets[train_lang].candidates)
    train_articles, eval_articles = split_articles(n_articles)
    manifest["split"] = {"train_articles": train_articles, "eval_articles": eval_articles}

    os.makedirs(os.path.join(out, "train"), exist_ok=True)
    train = build_train_groups(sets[train_lang].subset(train_articles))
    _write_jsonl(os.path.join(out, "train", "train.jsonl"), train)
    manifest["train"] = {"lang": train_lang, "groups": len(train)}

    for lang in langs:
        ev = sets[lang].subset(eval_articles)
        d = os.path.join(out, lang)
        os.makedirs(d, exist_ok=True)
        _write_jsonl(os.path.join(d, "corpus.jsonl"),
                     ({"docid": c.docid, "text_id": c.docid, "title": "", "text": c.text} for c in ev.candidates))
        write_queries(os.path.join(d, "queries.jsonl"), ev.queries)
        write_qrels(os.path.join(d, "qrels.txt"), ev.qrels)
        gen = TypoGenerator(lang=lang, n_words=n_words, rate=rate)
        if copies:
            write_typo_copies(os.path.join(d, "queries.jsonl"), os.path.join(d, "typos"), copies, seed, gen,
                              progress=progress)
        manifest["languages"][lang] = {
            "queries": len(ev.queries), "candidates": len(ev.candidates),
            "problems": [{"id": q, "reason": r} for q, r in sets[lang].problems],
            "typos_unchanged": gen.stats.unchanged}
    tmp = os.path.join(out, "manifest.json.tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
    os.replace(tmp, os.path.join(out, "manifest.json"))
    return manifest


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mpcl_tevatron.xmrc.build", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", required=True, help="folder of <lang>.json SQuAD-format files (XQuAD-R)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--langs", nargs="+", default=list(XQUAD_R_LANGS), help="evaluation languages")
    p.add_argument("--train_lang", default="en", help="language of the training questions (default en)")
    p.add_argument("--copies", type=int, default=10, help="typo'd copies of each query set (default 10)")
    p.add_argument("--seed", type=int, default=0, help="seed of typo'd copy 0 (default 0)")
    p.add_argument("--n_words", type=int, default=1, help="typo'd words per query (default 1)")
    p.add_argument("--rate", type=float, default=None, help="fraction of eligible words typo'd, instead")
    args = p.parse_args(argv)
    if args.copies < 0:
        p.error("--copies must be >= 0")
    try:
        m = build(args.data_dir, args.out, args.langs, args.train_lang, args.copies, args.seed, args.n_words,
                  args.rate)
    except (InputError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for lang, info in m["languages"].items():
        print(f"{lang}: {info['queries']} queries, {info['candidates']} candidates, "
              f"{len(info['problems'])} problems")
    print(f"train: {m['train']['groups']} {m['train']['lang']} groups -> {os.path.join(args.out, 'train')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
