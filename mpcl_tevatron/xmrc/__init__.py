"""XMRC: retrieval sets built from (cross-lingual) machine-reading-comprehension data in SQuAD format, and
their analysis. Core: it imports no Tevatron module and nothing of ``adapters/``.

- ``xmrc/data/``: the benchmark's data: SQuAD-format reading (``squad``), the sentence segmenter, the builder
  of queries / candidates / qrels / typo'd copies / training set (``build``), and the tasks (``tasks``);
- ``xmrc/analysis/``: its statistics: per-question records (``records``), the results and their tests and
  intervals (``results``, ``statistics``), the report (``report``) and the comparison of two folders
  (``compare``).

Its runs (the recipe that trains, encodes and searches through Tevatron's mains, and the dev-split sweep) sit
above the adapters, in ``mpcl_tevatron/recipes/``.

A question is a query; the candidates are the answer-bearing units (sentences, with their paragraph kept as
context); a question's relevant candidates are the sentences holding its answer's start in every language
(LAReQA, Roy et al. 2020). XQuAD-R and MLQA-R are its members.
"""

from .data.squad import Candidate, MRCSet, build_train_groups, load_squad, split_articles
from .data.segmenter import segment

__all__ = ["Candidate", "MRCSet", "build_train_groups", "load_squad", "segment", "split_articles"]
