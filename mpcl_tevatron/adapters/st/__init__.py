"""Adapter for sentence-transformers (``pip install mpcl-tevatron[st]``): the plugin's objectives as
sentence-transformers losses, in that library's conventions (a ``datasets.Dataset`` whose columns are the
inputs, ``SentenceTransformerTrainer``, ``get_config_dict``, ``citation``).

* ``MultiplePositivesRankingLoss``: (anchor, positive_1..P, negative_1..m) with several positives per anchor,
  each competing with the negatives only (multi-positive InfoNCE); P = 1 is ``MultipleNegativesRankingLoss``.
* ``TypoRobustLoss``: any objective of the plugin's registry (``mp_infonce``, ``dst_mp``, ``typo_cl_mp``, ...)
  on the same columns plus K typo'd anchors, which ``TypoDataCollator`` makes on the fly with the plugin's
  seeded generator (new variants each epoch with ``TypoEpochCallback``).
* ``CachedTypoRobustLoss``: the same in mini-batches with a gradient cache (GradCache), for large batches.
* ``columns_from_tevatron``: Tevatron train JSONL -> a ``datasets.Dataset`` with those columns.

Like the Tevatron adapters, these are thin: the math is ``mpcl_tevatron.losses``' and ``passages``' (the label
matrix), the variants ``typos.TrainingVariants``'.
"""

from .cached_typo_robust import CachedTypoRobustLoss
from .data import columns_from_tevatron
from .data_collator import TypoDataCollator, TypoEpochCallback
from .multiple_positives_ranking import MultiplePositivesRankingLoss
from .typo_robust import TypoRobustLoss

__all__ = ["CachedTypoRobustLoss", "MultiplePositivesRankingLoss", "TypoDataCollator", "TypoEpochCallback",
           "TypoRobustLoss", "columns_from_tevatron"]
