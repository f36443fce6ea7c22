"""Adapter for Tevatron v1 (PyPI ``tevatron`` 0.1.0): subclasses of its dataset, collator, model and trainer.

Tevatron 0.1.0 was written for 2021's transformers. Under transformers 5 some of it breaks; each fix is a
method of a subclass here, never a patch of Tevatron's files:

* ``tokenizer.encode_plus`` is gone (``TrainDataset.create_one_example``, ``EncodeDataset.__getitem__``):
  ``tokenize`` below calls the tokenizer itself.
* ``Trainer.compute_loss`` gained ``return_outputs``/``num_items_in_batch`` and ``Trainer._save`` a
  ``state_dict`` argument: ``TypoDenseTrainer`` takes them.
* ``DenseTrainer.get_train_dataloader`` builds a bare DataLoader that accelerate never shards, so every
  process of a multi-process run would read the whole dataset: ``TypoDenseTrainer`` uses the HF Trainer's.
* the HF Trainer needs ``accelerate`` (a dependency of this package).
"""

from .collator import TypoQPCollator
from .dataset import TypoEncodeDataset, TypoTrainDataset, tokenize
from .modeling import TypoDenseModel, TypoDenseModelForInference
from .trainer import TypoDenseTrainer

__all__ = ["TypoDenseModel", "TypoDenseModelForInference", "TypoDenseTrainer", "TypoEncodeDataset",
           "TypoQPCollator", "TypoTrainDataset", "tokenize"]
