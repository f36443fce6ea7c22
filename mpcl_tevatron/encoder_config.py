"""How a trained encoder turns hidden states into one vector, saved beside its weights.

``mpcl_config.json`` in a model directory records pooling, normalisation and text prefixes, so the encode
step embeds queries and passages exactly as training did (and as e5-style models need: mean pooling,
L2 normalisation, "query: " / "passage: "), and the score temperature it was trained at. A hub name in
``KNOWN_ENCODERS`` gets that model's published settings; anything else gets Tevatron v1's defaults: CLS
pooling, no normalisation, no prefix.

The score temperature divides every retrieval logit in training (Tevatron v2's ``--temperature``). It matters
most for L2-normalised encoders: their logits are cosines in [-1, 1], and at temperature 1 the softmax over a
batch is nearly flat, so fine-tuning e5 (trained at 0.01) there undoes much of its pre-training.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Optional

import torch
from torch import Tensor

from .io import InputError

CONFIG_NAME = "mpcl_config.json"


@dataclass
class EncoderConfig:
    pooling: str = "cls"
    normalize: bool = False
    query_prefix: str = ""
    passage_prefix: str = ""
    #: score temperature used (or to use) in training; None: not recorded, ``score_temperature`` decides.
    temperature: Optional[float] = None

    @property
    def score_temperature(self) -> float:
        """The recorded temperature, else the default for this kind of encoder: ``NORMALIZED_TEMPERATURE``
        for L2-normalised representations (cosine logits), 1 for unnormalised ones (dot products)."""
        if self.temperature is not None:
            return self.temperature
        return NORMALIZED_TEMPERATURE if self.normalize else 1.0

    def save(self, directory: str) -> None:
        """Write the settings as ``mpcl_config.json`` into the model folder ``path``."""
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, CONFIG_NAME), "w") as f:
            json.dump(asdict(self), f, indent=2)

    @classmethod
    def for_model(cls, name_or_path: str) -> "EncoderConfig":
        """A model directory's ``mpcl_config.json``; else its sentence-transformers modules (pooling, Normalize,
        prompts); else a known hub model's settings; else the defaults."""
        if os.path.isfile(os.path.join(name_or_path, CONFIG_NAME)):
            return cls.load(name_or_path)
        if os.path.isfile(os.path.join(name_or_path, "modules.json")):
            return cls.from_sentence_transformers(name_or_path)
        known = KNOWN_ENCODERS.get(name_or_path.rstrip("/"))
        return cls(**asdict(known)) if known else cls()

    @classmethod
    def load(cls, directory: str) -> "EncoderConfig":
        path = os.path.join(directory, CONFIG_NAME)
        if not os.path.isfile(path):
            return cls()
        with open(path) as f:
            return cls(**json.load(f))

    @classmethod
    def from_sentence_transformers(cls, directory: str) -> "EncoderConfig":
        """Read a sentence-transformers model directory's Pooling and Normalize modules and its prompts."""
        with open(os.path.join(directory, "modules.json")) as f:
            modules = json.load(f)
        out = cls()
        for module in modules:
            kind = module.get("type", "").rsplit(".", 1)[-1]
            if kind == "Normalize":
                out.normalize = True
            elif kind == "Pooling":
                with open(os.path.join(directory, module["path"], "config.json")) as f:
                    pooling = json.load(f)
                modes = [m for m in ("cls_token", "mean_tokens") if pooling.get(f"pooling_mode_{m}")]
                others = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v
                          and k[len("pooling_mode_"):] not in ("cls_token", "mean_tokens")]
                # sentence-transformers 6 writes one "pooling_mode": "mean" in place of the flags
                named = pooling.get("pooling_mode")
                if isinstance(named, str):
                    modes, others = ([{"mean": "mean_tokens", "cls": "cls_token"}[named]], []) if named in (
                        "mean", "cls") else ([], [named])
                if len(modes) != 1 or others:
                    raise ValueError(f"{directory}: pooling {modes + others} is not supported (cls or mean only)")
                out.pooling = "cls" if modes[0] == "cls_token" else "mean"
        st_config = os.path.join(directory, "config_sentence_transformers.json")
        if os.path.isfile(st_config):
            with open(st_config) as f:
                prompts = json.load(f).get("prompts") or {}
            out.query_prefix = prompts.get("query", "")
            out.passage_prefix = prompts.get("passage", prompts.get("document", ""))
        return out

    def pool(self, hidden: Tensor, attention_mask: Tensor) -> Tensor:
        """One vector per text from the token states: the configured pooling over the unmasked tokens, L2-normalised
        when ``normalize``."""
        if self.pooling == "cls":
            reps = hidden[:, 0]
        elif self.pooling == "mean":
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            reps = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        else:
            raise ValueError(f"unknown pooling {self.pooling!r}")
        return torch.nn.functional.normalize(reps, dim=-1) if self.normalize else reps


def check_model_path(name_or_path: str) -> None:
    """Before a model loads (the train driver, both encode adapters): refuse, in one line (``InputError``), a
    local path that is not a Hugging Face model folder: a folder
    without ``config.json``, a file, or a missing path (one that starts with ``.``, ``/`` or ``~``, or has more
    than one ``/``, which no hub name has). Anything else is a hub name, for transformers to load."""
    if os.path.isdir(name_or_path):
        if not os.path.isfile(os.path.join(name_or_path, "config.json")):
            raise InputError(f"{name_or_path}: not a model folder (it has no config.json)")
    elif os.path.exists(name_or_path):
        raise InputError(f"{name_or_path}: a file, not a model folder")
    elif name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1 or not name_or_path.strip():
        raise InputError(f"{name_or_path}: no such model folder")


#: The default score temperature of L2-normalised encoders: e5's own (Wang et al. 2022, "Text Embeddings by
#: Weakly-Supervised Contrastive Pre-training", and Tevatron v2's e5 recipes, ``--normalize --temperature 0.01``).
NORMALIZED_TEMPERATURE = 0.01

#: e5 models (intfloat's model cards): mean pooling, L2 normalisation, "query: " / "passage: ", trained at 0.01.
E5 = EncoderConfig(pooling="mean", normalize=True, query_prefix="query: ", passage_prefix="passage: ",
                   temperature=NORMALIZED_TEMPERATURE)
#: Hub models whose directories carry no ``mpcl_config.json``, for users with a network.
KNOWN_ENCODERS = {
    **{f"intfloat/{name}": E5 for name in ("multilingual-e5-small", "multilingual-e5-base",
                                           "multilingual-e5-large", "e5-small-v2", "e5-base-v2", "e5-large-v2")},
    "sentence-transformers/all-MiniLM-L6-v2": EncoderConfig(pooling="mean", normalize=True),
    "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2": EncoderConfig(pooling="mean"),
    "bert-base-multilingual-cased": EncoderConfig(),
    "bert-base-uncased": EncoderConfig(),
}
