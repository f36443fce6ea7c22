"""Writing systems: which script a character belongs to, what counts as a word, and which letters an
inserted or substituted character may be drawn from so that a typo stays inside the word's own script."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import List, Tuple

from .keyboards import LAYOUTS

#: Scripts with their own alphabet below; any other letter is its own script (named by Unicode).
_RANGES = {
    "LATIN": "abcdefghijklmnopqrstuvwxyz",
    "GREEK": "".join(chr(c) for c in range(0x03B1, 0x03CA) if c != 0x03C2),  # α..ω without final sigma
    "CYRILLIC": "".join(chr(c) for c in range(0x0430, 0x0450)) + "ё",  # а..я, ё
    "ARABIC": "".join(chr(c) for c in range(0x0621, 0x064B) if unicodedata.category(chr(c)) == "Lo"),
    "DEVANAGARI": "".join(chr(c) for c in range(0x0905, 0x093A)),  # independent vowels and consonants
    "THAI": "".join(chr(c) for c in range(0x0E01, 0x0E2F)),  # ก..ฮ consonants
}


@lru_cache(maxsize=4096)
def script_of(ch: str) -> str:
    """Unicode script family of a letter or combining mark: LATIN, GREEK, CYRILLIC, ARABIC, DEVANAGARI,
    THAI, CJK (Han), ... (the first word of its Unicode name); '' for anything else."""
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return ""
    return name.split(" ", 1)[0]


@lru_cache(maxsize=65536)
def is_word_char(ch: str) -> bool:
    # Letters and combining marks: Devanagari and Thai vowel signs are marks, and must not split a word.
    return unicodedata.category(ch)[0] in "LM"


def word_spans(text: str) -> List[Tuple[int, int]]:
    """Maximal runs of letters and marks, as (start, end). Scripts written without spaces (Thai, Chinese)
    give one run per clause, which is then the unit a typo lands in."""
    spans = []
    start = None
    for i, ch in enumerate(text):
        if is_word_char(ch):
            if start is None:
                start = i
        elif start is not None:
            spans.append((start, i))
            start = None
    if start is not None:
        spans.append((start, len(text)))
    return spans


@lru_cache(maxsize=None)
def alphabet(script: str, lang: str) -> str:
    """Letters a typo in a ``script`` word may insert or substitute, for a text in ``lang``: the script's base
    alphabet plus the letters of ``lang``'s keyboard that belong to that script (e.g. ä ö ü ß for German,
    ı ğ ş for Turkish). Empty when the script has no closed alphabet (Han): the caller then draws from the
    text itself."""
    letters = set(_RANGES.get(script, ""))
    if lang in LAYOUTS:
        for row in LAYOUTS[lang][1]:
            letters.update(c for c in row if c.isalpha() and script_of(c) == script)
    return "".join(sorted(letters))
