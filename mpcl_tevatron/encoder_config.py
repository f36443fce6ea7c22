"""How a trained encoder turns hidden states into one vector, saved beside its weights.

``mpcl_config.json`` in a model directory records pooling, normalisation and text prefixes, so the encode
step embeds queries and passages exactly as training did (and as e5-style models need: mean pooling,
L2 normalisation, "query: " / "passage: "). A directory without it gets Tevatron v1's defaults: CLS pooling,
no normalisation, no prefix.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

CONFIG_NAME = "mpcl_config.json"


@dataclass
class EncoderConfig:
    pooling: str = "cls"
    normalize: bool = False
    query_prefix: str = ""
    passage_prefix: str = ""

    def save(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, CONFIG_NAME), "w") as f:
            json.dump(asdict(self), f, indent=2)

    @classmethod
    def load(cls, directory: str) -> "EncoderConfig":
        path = os.path.join(directory, CONFIG_NAME)
        if not os.path.isfile(path):
            return cls()
        with open(path) as f:
            return cls(**json.load(f))

    def pool(self, hidden: Tensor, attention_mask: Tensor) -> Tensor:
        if self.pooling == "cls":
            reps = hidden[:, 0]
        elif self.pooling == "mean":
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            reps = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        else:
            raise ValueError(f"unknown pooling {self.pooling!r}")
        return torch.nn.functional.normalize(reps, dim=-1) if self.normalize else reps
