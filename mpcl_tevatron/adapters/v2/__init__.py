"""Adapter for Tevatron v2 (``tevatron.retriever``, upstream's current code, installed from source): subclasses
of its ``TrainDataset``, ``TrainCollator``, ``DenseModel`` and ``TevatronTrainer``, and train/encode mains.

Where v2 differs from v1, the difference is handled here:

* v2 tokenizes in the collator (text in, tensors out): ``TypoTrainCollator`` tokenizes the typo'd queries
  exactly as v2 tokenizes clean ones (length, eos, special tokens, ``pad_to_multiple_of``).
* v2 has its own ``--pooling``/``--normalize``/``--query_prefix``/``--passage_prefix``; the train driver fills
  the ones not given from the base model (``arguments.resolve_encoder``), as v1's adapter does with its own.
* v2's ``--temperature`` divides the retrieval scores; the objectives see every dot product divided by it
  (``TypoDenseModel``), so ``--loss infonce`` is v2's own loss.
* v2's encode reads ``query_id``/``query`` and ``docid``/``title``/``text`` JSONL; its search writes
  ``qid<TAB>docid<TAB>score`` with ``--save_text``. Both are used unchanged.
"""

from .collator import TypoTrainCollator
from .dataset import TypoTrainDataset
from .modeling import TypoDenseModel
from .trainer import TypoTevatronTrainer

__all__ = ["TypoDenseModel", "TypoTevatronTrainer", "TypoTrainCollator", "TypoTrainDataset"]
