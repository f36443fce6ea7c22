"""XMRC: retrieval sets built from (cross-lingual) machine-reading-comprehension data in SQuAD format.

A question is a query; the candidates are the answer-bearing units (sentences, with their paragraph kept as
context); a question's relevant candidate is the sentence holding its answer's start (LAReQA, Roy et al.
2020). XQuAD-R is the first member.
"""

from .squad import Candidate, MRCSet, build_train_groups, load_squad, split_articles
from .segmenter import segment

__all__ = ["Candidate", "MRCSet", "build_train_groups", "load_squad", "segment", "split_articles"]
