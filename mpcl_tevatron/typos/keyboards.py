"""Keyboard layouts and the neighbour map that keyboard typos draw from.

Each layout is the unshifted layer of a real national layout, written as its rows of character keys from the
number row down, one string per row, aligned on ANSI geometry: index 0 of every row is the key under the
``1`` / ``Q`` / ``A`` / ``Z`` column (the ISO extra key left of ``Z`` is left out so the columns line up).
A key that types no single letter of the layout's script is written as a space, which keeps the columns.

Two keys are neighbours when they touch on a staggered keyboard: the keys left and right on the same row,
keys ``i`` and ``i + 1`` on the row above, keys ``i - 1`` and ``i`` on the row below. Only letters count as
neighbours (digits and punctuation are never produced by a keyboard typo).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Dict, FrozenSet, Tuple

#: language code -> (layout name, rows). Sources: the layouts as Windows/X11 ship them.
LAYOUTS: Dict[str, Tuple[str, Tuple[str, ...]]] = {
    "en": ("US QWERTY", ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")),
    "de": ("German QWERTZ (T1)", ("1234567890ß", "qwertzuiopü", "asdfghjklöä", "yxcvbnm")),
    "es": ("Spanish (Spain)", ("1234567890", "qwertyuiop", "asdfghjklñ", "zxcvbnm")),
    "tr": ("Turkish Q", ("1234567890", "qwertyuıopğü", "asdfghjklşi", "zxcvbnmöç")),
    "el": ("Greek (220)", ("1234567890", " ςερτυθιοπ", "ασδφγηξκλ", "ζχψωβνμ")),
    "ru": ("Russian JCUKEN", ("1234567890", "йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю")),
    "ar": ("Arabic (101)", ("1234567890", "ضصثقفغعهخحجد", "شسيبلاتنمكط", "ئءؤر ىةوزظ")),
    "hi": ("Hindi InScript", ("1234567890", "ौैाीूबहगदजड़", "ोे्िुपरकतचट", "ॆंमनवलस  य")),
    "th": ("Thai Kedmanee", ("ๅ   ภถุึคตจขช", "ๆไำพะัีรนยบลฃ", "ฟหกดเ้่าสวง", "ผปแอิืทมใฝ")),
}

#: Latin-script languages with no layout of their own type on US QWERTY (Vietnamese is typed with Telex on it).
DEFAULT_LAYOUT = "en"


@lru_cache(maxsize=None)
def neighbour_map(lang: str) -> Dict[str, FrozenSet[str]]:
    """Letter -> the letters on the keys that touch it, for ``lang``'s layout (empty dict if it has none)."""
    if lang not in LAYOUTS:
        return {}
    rows = LAYOUTS[lang][1]
    neighbours: Dict[str, set] = {}
    for r, row in enumerate(rows):
        for i, key in enumerate(row):
            if not key.isalpha() and not _is_mark(key):
                continue
            around = []
            around += [(r, i - 1), (r, i + 1)]
            around += [(r - 1, i), (r - 1, i + 1)]
            around += [(r + 1, i - 1), (r + 1, i)]
            found = neighbours.setdefault(key, set())
            for rr, ii in around:
                if 0 <= rr < len(rows) and 0 <= ii < len(rows[rr]):
                    other = rows[rr][ii]
                    if other != key and (other.isalpha() or _is_mark(other)):
                        found.add(other)
    return {k: frozenset(v) for k, v in neighbours.items() if v}


def _is_mark(ch: str) -> bool:
    import unicodedata

    return unicodedata.category(ch).startswith("M")
