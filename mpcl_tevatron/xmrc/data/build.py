"""``python -m mpcl_tevatron.xmrc.data.build``: write an XMRC benchmark folder from SQuAD-format files.

Layout written under ``--out``::

    train/train.jsonl                Tevatron train JSONL: English questions of the training articles
    <lang>/corpus.jsonl              candidates (answer sentences) of the evaluated split's articles
    <lang>/queries.jsonl             the evaluation questions, clean
    <lang>/typos/<severity>/queries.typo<j>.jsonl   N seeded typo'd copies per severity (same ids and qrels)
    <lang>/qrels.txt                 TREC qrels over <lang>'s candidates
    pool/qrels.txt                   X->pool qrels: every language's answer sentence of a question is relevant
    manifest.json                    languages, counts, seeds, split, severities, segmentation agreement,
                                     source checksums, problems (by question id)

Splits (``squad.split_articles``): XQuAD-R articles 0-19 train, 20-23 are the dev split, 24-47 the test
split. ``--split test`` (default) evaluates on the test articles, ``--split dev`` on the dev articles (for
choosing hyperparameters); both train on the same articles. ``--split all`` evaluates on every article, as
LAReQA does: for zero-shot figures only, since it holds the training articles.

Candidates are answer sentences alone by default; LAReQA and XTREME-R encode the sentence with its paragraph as
context, which ``--candidate_text sentence+paragraph`` reproduces (the text is the sentence, a newline, then
the paragraph).

Tasks (LAReQA): question ids are parallel across XQuAD-R languages, so one qrels file per candidate language
serves every query language. X->X: <X>/queries against <X>/corpus with <X>/qrels.txt. X->Y: <X>/queries
against <Y>/corpus with <Y>/qrels.txt. X->pool: <X>/queries against every language's corpus (Tevatron's
search reads the corpus shards together) with pool/qrels.txt.

Severities: ``w<k>`` edits k eligible words of each query (``w1``: the literature's protocol), ``r<p>`` edits
p% of them (at least one). Files are written atomically, so an interrupted build never leaves a file that
looks finished.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from typing import List, Optional

from ...evaluation import write_qrels
from ...cli import claim_folder, command, one_line_errors, output_lock, repeated
from ...io import InputError, atomic_open, default_cache_dir, read_json, sha256_file, write_queries
from ...typos import TypoGenerator
from ...typos.cli import write_typo_copies
from .squad import build_train_groups, load_squad, read_squad_articles, split_articles
from .segmenter import agreement, segment

XQUAD_R_LANGS = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")
#: MLQA-R (LAReQA's second dataset): not parallel; every question is in English and 1-3 other languages
MLQA_R_LANGS = ("ar", "de", "en", "es", "hi", "vi", "zh")


def _write_jsonl(path: str, records) -> None:
    with atomic_open(path) as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


#: One typo'd word (the literature's protocol) and half of the eligible words. r20 is not a default: XQuAD-R's
#: evaluation questions have a median of 5 eligible words, and r20 edits exactly one word in 84% of them, as w1.
DEFAULT_SEVERITIES = ("w1", "r50")
SPLITS = ("test", "dev", "all")
#: What a candidate's text is: its sentence alone (this project's default), or the sentence followed by its
#: paragraph, as LAReQA and XTREME-R encode answers (there as two segments; here joined by a newline).
CANDIDATE_TEXTS = ("sentence", "sentence+paragraph")


def parse_severity(name: str) -> dict:
    """``w<k>`` -> k typo'd words per query; ``r<p>`` -> p% of the eligible words."""
    try:
        if name.startswith("w") and int(name[1:]) >= 1:
            return {"n_words": int(name[1:]), "rate": None}
        if name.startswith("r") and 0 < int(name[1:]) <= 100:
            return {"n_words": 1, "rate": int(name[1:]) / 100}
    except ValueError:
        pass
    raise InputError(f"severity {name!r}: use w<k> (k typo'd words, e.g. w1) or r<p> (p% of words, e.g. r20)")


def build(data_dir: str, out: str, langs=XQUAD_R_LANGS, train_lang: str = "en", copies: int = 10,
          seed: int = 0, severities=DEFAULT_SEVERITIES, own_segmenter: bool = False, train_source: str = None,
          progress: bool = True, split: str = "test", candidate_text: str = "sentence", train: bool = True) -> dict:
    """Write the XMRC folder (see the module docstring); returns the manifest. ``own_segmenter`` ignores
    LAReQA's sentence breaks; ``train_source`` replaces the English training set (see ``read_train_source``);
    ``split`` is the evaluated split (``SPLITS``); ``candidate_text`` what a candidate's text is
    (``CANDIDATE_TEXTS``). ``train=False``: an evaluation-only benchmark (MLQA-R beside XQuAD-R's training
    set): no ``train/``, and ``split`` must be ``all`` (each language's every article: its files need not
    share articles)."""
    if split not in SPLITS:
        raise InputError(f"split {split!r}: use one of {', '.join(SPLITS)}")
    if not train and split != "all":
        raise InputError(f"split {split!r}: an evaluation-only build (no training set) evaluates every article "
                         f"(split all)")
    if candidate_text not in CANDIDATE_TEXTS:
        raise InputError(f"candidate text {candidate_text!r}: use one of {', '.join(CANDIDATE_TEXTS)}")
    severity_settings = {name: parse_severity(name) for name in severities}
    os.makedirs(out, exist_ok=True)
    manifest = {"source": os.path.abspath(data_dir), "languages": {}, "typo_copies": copies, "typo_seed": seed,
                "severities": severity_settings, "own_segmenter": own_segmenter, "candidate_text": candidate_text,
                "checksums": {},
                "segmentation_agreement": {}}
    sets = {}
    for lang in dict.fromkeys([train_lang, *langs] if train else langs):
        path = os.path.join(data_dir, f"{lang}.json")
        sets[lang] = load_squad(path, lang, segmenter=lambda text, lang=lang: segment(text, lang),
                                ignore_breaks=own_segmenter)
        manifest["checksums"][f"{lang}.json"] = sha256_file(path)
        same, total = agreement([p for a in read_squad_articles(path) for p in a["paragraphs"]], lang)
        if total:
            manifest["segmentation_agreement"][lang] = {"same": same, "paragraphs": total,
                                                        "share": round(same / total, 4)}
    if train:
        train_groups, eval_articles = _train_split(data_dir, sets[train_lang], train_lang, split, train_source,
                                                   manifest)
        os.makedirs(os.path.join(out, "train"), exist_ok=True)
        _write_jsonl(os.path.join(out, "train", "train.jsonl"), train_groups)
    else:
        eval_articles = None  # every article of each language
        manifest["split"] = {"evaluated": split}
        manifest["train"] = None
    pool_qrels = {}

    for lang in langs:
        ev = sets[lang] if eval_articles is None else sets[lang].subset(eval_articles)
        if not ev.queries and eval_articles is None:
            raise InputError(f"{os.path.join(data_dir, lang + '.json')}: no question (0 queries)")
        if not ev.queries:
            raise InputError(f"{os.path.join(data_dir, lang + '.json')}: no question in the {split} articles "
                             f"{eval_articles[0]}-{eval_articles[-1]} (0 queries)" if eval_articles else
                             f"{os.path.join(data_dir, lang + '.json')}: no {split} article")
        d = os.path.join(out, lang)
        os.makedirs(d, exist_ok=True)
        _write_jsonl(os.path.join(d, "corpus.jsonl"),
                     ({"docid": c.docid, "text_id": c.docid, "title": "",
                       "text": c.text if candidate_text == "sentence" else f"{c.text}\n{c.context}"}
                      for c in ev.candidates))
        write_queries(os.path.join(d, "queries.jsonl"), ev.queries)
        write_qrels(os.path.join(d, "qrels.txt"), ev.qrels)
        for qid, rel in ev.qrels.items():
            pool_qrels.setdefault(qid, {}).update(rel)
        unchanged = {}
        for name, settings in severity_settings.items():
            gen = TypoGenerator(lang=lang, **settings)
            if copies:
                write_typo_copies(os.path.join(d, "queries.jsonl"), os.path.join(d, "typos", name), copies, seed,
                                  gen, progress=progress)
            unchanged[name] = gen.stats.unchanged
        manifest["languages"][lang] = {
            "queries": len(ev.queries), "candidates": len(ev.candidates),
            "problems": [{"id": q, "reason": r} for q, r in sets[lang].problems],
            "typos_unchanged": unchanged}
    os.makedirs(os.path.join(out, "pool"), exist_ok=True)
    write_qrels(os.path.join(out, "pool", "qrels.txt"), pool_qrels)
    manifest["files"] = sorted([*(["train"] if train else []), "pool", "manifest.json", *langs])  # a rebuild's
    with atomic_open(os.path.join(out, "manifest.json")) as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
    return manifest


def _train_split(data_dir: str, train_set, train_lang: str, split: str, train_source: Optional[str],
                 manifest: dict):
    """(training groups, evaluated article indices): the training set (English questions of the training
    articles, or ``train_source``) and the articles ``split`` evaluates; both recorded in ``manifest``."""
    if not train_set.candidates:
        raise InputError(f"{os.path.join(data_dir, train_lang + '.json')}: no sentence in any context "
                         f"(every paragraph is empty)")
    n_articles = 1 + max(c.article for c in train_set.candidates)
    train_articles, dev_articles, test_articles = split_articles(n_articles)
    eval_articles = {"dev": dev_articles, "test": test_articles, "all": list(range(n_articles))}[split]
    manifest["split"] = {"evaluated": split, "train_articles": train_articles, "dev_articles": dev_articles,
                         "test_articles": test_articles, "eval_articles": eval_articles}
    if train_source:
        groups = read_train_source(train_source)
        manifest["train"] = {"source": train_source, "groups": len(groups)}
    else:
        groups = build_train_groups(train_set.subset(train_articles))
        manifest["train"] = {"lang": train_lang, "groups": len(groups)}
    if not groups:
        raise InputError(f"{train_source or os.path.join(data_dir, train_lang + '.json')}: no training question "
                         f"(0 groups)")
    return groups, eval_articles


def read_train_source(source: str) -> List[dict]:
    """A training set in place of XQuAD-R's English half (a local SQuAD file works offline; URLs and hub names
    need a network):

    - ``squad:<path or URL>``: a SQuAD v1.1-format file (e.g. SQuAD train,
      https://rajpurkar.github.io/SQuAD-explorer/dataset/train-v1.1.json), every article, sentences from the
      plugin's segmenter, every sentence an answer touches a positive (several when a question's answers lie
      in different sentences: ``--positives_per_query``), hard negatives from the same paragraph and article;
    - a Hugging Face dataset name in Tevatron's train format (e.g. ``Tevatron/msmarco-passage``).
    """
    if source.startswith("squad:"):
        location = source[len("squad:"):]
        if location.startswith(("http://", "https://")):
            import urllib.request
            cache = os.path.join(default_cache_dir(), "squad")
            os.makedirs(cache, exist_ok=True)
            local = os.path.join(cache, os.path.basename(location))
            if not os.path.isfile(local):
                with urllib.request.urlopen(location) as response, atomic_open(local, "wb") as f:
                    shutil.copyfileobj(response, f)
            location = local
        return build_train_groups(load_squad(location, "en", segmenter=lambda t: segment(t, "en")),
                                  all_answer_sentences=True)
    import datasets
    rows = datasets.load_dataset(source, split="train")
    return [{"query_id": str(r.get("query_id", i)), "query": r["query"],
             "positive_passages": r["positive_passages"], "negative_passages": r["negative_passages"]}
            for i, r in enumerate(rows)]


#: the builder's staging folder inside --out: a build goes there, and into place only when complete
STAGING = ".build.partial"


def own_entries(out: str) -> set:
    """What the builder may replace in ``out``: the entries its manifest lists (older manifests without
    ``files``: what such builds wrote) and its staging folder. Nothing when ``out`` holds no manifest."""
    path = os.path.join(out, "manifest.json")
    if not os.path.isfile(path):
        return {STAGING}
    manifest = read_json(path)
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if files is None:
        files = ["train", "pool", "manifest.json", *(manifest.get("languages") or {})] \
            if isinstance(manifest, dict) and "languages" in manifest else []
    return {*files, STAGING}


def install(staging: str, out: str, old: set) -> None:
    """Move a complete build from ``staging`` into ``out``: first the old build's own entries out of the way,
    then the new ones, the manifest last (until then the old one claims what is there)."""
    new = read_json(os.path.join(staging, "manifest.json"))["files"]
    for name in sorted((old | set(new)) - {STAGING, "manifest.json"}):
        target = os.path.join(out, name)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        elif os.path.lexists(target):
            os.remove(target)
    for name in new:
        if name != "manifest.json":
            os.replace(os.path.join(staging, name), os.path.join(out, name))
    os.replace(os.path.join(staging, "manifest.json"), os.path.join(out, "manifest.json"))
    os.rmdir(staging)


@command
def main(argv: Optional[List[str]] = None) -> int:
    """``python -m mpcl_tevatron.xmrc.data.build``: the command line of ``build``."""
    p = one_line_errors(argparse.ArgumentParser(prog="python -m mpcl_tevatron.xmrc.data.build", description=__doc__,
                                                formatter_class=argparse.RawDescriptionHelpFormatter))
    p.add_argument("--data_dir", required=True, help="folder of <lang>.json SQuAD-format files (XQuAD-R)")
    p.add_argument("--out", required=True, help="output folder: new, empty, or an earlier build's (whose "
                   "manifest lists what it wrote; only that is replaced, and anything else there is refused)")
    p.add_argument("--langs", nargs="+", default=list(XQUAD_R_LANGS), help="evaluation languages")
    p.add_argument("--train_lang", default="en", help="language of the training questions (default en)")
    p.add_argument("--copies", type=int, default=10, help="typo'd copies per severity (default 10)")
    p.add_argument("--seed", type=int, default=0, help="seed of typo'd copy 0 (default 0)")
    p.add_argument("--severities", nargs="+", default=list(DEFAULT_SEVERITIES),
                   help="w<k>: k typo'd words per query; r<p>: p%% of eligible words (default: w1 r50)")
    p.add_argument("--own_segmenter", action="store_true",
                   help="segment sentences with the plugin's segmenter even where LAReQA's breaks exist")
    p.add_argument("--train_source", default=None,
                   help="full-size training set instead of the XQuAD-R half (network): squad:<path or URL>, "
                        "or a Hugging Face dataset in Tevatron's format, e.g. Tevatron/msmarco-passage")
    p.add_argument("--split", choices=SPLITS, default="test",
                   help="evaluated articles: test (default; XQuAD-R 24-47), dev (20-23, for choosing settings) "
                        "or all (LAReQA's setting; zero-shot only)")
    p.add_argument("--candidate_text", choices=CANDIDATE_TEXTS, default="sentence",
                   help="a candidate's text: its sentence (default) or sentence+paragraph (LAReQA, XTREME-R)")
    p.add_argument("--no_train", action="store_true",
                   help="an evaluation-only benchmark: no training set, every article evaluated (give --split "
                        "all); e.g. MLQA-R (--langs " + " ".join(MLQA_R_LANGS) + ") beside XQuAD-R's training set")
    args = p.parse_args(argv)
    if args.no_train and args.split != "all":
        p.error("--no_train evaluates every article: give --split all")
    if args.copies < 0:
        p.error("--copies must be >= 0")
    for name, values in (("--langs", args.langs), ("--severities", args.severities)):
        if repeated(values):
            p.error(f"{name} lists {repeated(values)[0]} twice")
    for name in args.severities:
        parse_severity(name)
    if not os.path.isdir(args.data_dir):
        raise InputError(f"--data_dir {args.data_dir}: no such folder")
    out = args.out
    with output_lock(out):
        old = own_entries(out)
        claim_folder(out, old, "an XMRC build's")
        # Built in a staging folder inside --out and moved into place when complete: a failed build leaves
        # nothing that looks finished, and nothing of its own behind.
        staging = os.path.join(out, STAGING)
        shutil.rmtree(staging, ignore_errors=True)
        try:
            m = build(args.data_dir, staging, args.langs, args.train_lang, args.copies, args.seed,
                      args.severities, args.own_segmenter, args.train_source, split=args.split,
                      candidate_text=args.candidate_text, train=not args.no_train)
            install(staging, out, old)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    for lang, info in m["languages"].items():
        agree = m["segmentation_agreement"].get(lang)
        seg = f", own segmenter reproduces {agree['share']:.1%} of LAReQA's paragraphs" if agree else ""
        print(f"{lang}: {info['queries']} queries, {info['candidates']} candidates, "
              f"{len(info['problems'])} problems{seg}")
    if m["train"]:
        source = m["train"].get("lang") or m["train"]["source"]
        print(f"train: {m['train']['groups']} groups ({source}) -> {os.path.join(out, 'train')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
