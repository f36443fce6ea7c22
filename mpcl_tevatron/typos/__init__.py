"""Seeded, script-aware typo'd query variants. ``make_typos(text, k, seed=0, lang="en")`` is the one call;
``python -m mpcl_tevatron.typos --help`` writes typo'd copies of a query file."""

from .generator import TYPO_TYPES, TypoGenerator, TypoStats, make_typos, stopwords
from .keyboards import LAYOUTS

__all__ = ["TYPO_TYPES", "LAYOUTS", "TypoGenerator", "TypoStats", "make_typos", "stopwords"]
