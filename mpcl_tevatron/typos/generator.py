"""Seeded typo'd variants of a query, in the query's own language and script.

The five character edits of the typo-robust dense-retrieval literature (Zhuang & Zuccon 2021; Sidiropoulos &
Kanoulas 2022; Tasawong et al. 2023, who run textattack's word swaps): insert a character, delete one,
substitute one, swap two neighbouring characters, substitute one with a keyboard neighbour. A variant edits
``n_words`` eligible words (one by default: the literature's protocol), or a ``rate`` of them; the edit types
are cycled round-robin across a query's variants, starting from a seeded offset.

Eligible word: a run of letters/marks of at least ``min_word_len`` (3) characters that is not a stop word of
the language (lists from the ``stopwordsiso`` package). Inserted and substituted characters come from the
word's own script (``scripts.alphabet``); keyboard neighbours from the language's real layout
(``keyboards.LAYOUTS``), or the layout of the word's script when the text mixes scripts. A language with no
layout (zh) uses the other four edits.

Determinism: the random stream of a call is seeded from a hash of (seed, text, settings), never from global
state, so the same inputs give the same variants in any process, worker order or machine.
"""

from __future__ import annotations

import hashlib
import logging
import random
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

from .keyboards import DEFAULT_LAYOUT, LAYOUTS, neighbour_map
from .scripts import alphabet, script_of, word_spans

logger = logging.getLogger(__name__)

TYPO_TYPES: Tuple[str, ...] = ("insert", "delete", "substitute", "swap", "keyboard")

#: The layout whose letters a word of this script is typed on, when the text's own language has none for it.
_SCRIPT_LAYOUT = {
    "LATIN": DEFAULT_LAYOUT,
    "GREEK": "el",
    "CYRILLIC": "ru",
    "ARABIC": "ar",
    "DEVANAGARI": "hi",
    "THAI": "th",
}


@dataclass
class TypoStats:
    """Counts kept by a generator across calls: queries seen, queries returned unchanged because they have
    no eligible word, and queries for which fewer distinct variants exist than were asked for."""

    queries: int = 0
    unchanged: int = 0
    short: int = 0

    def as_dict(self) -> Dict[str, int]:
        """The counts as a plain dict (for a build's manifest)."""
        return {"queries": self.queries, "unchanged": self.unchanged, "short": self.short}


#: the explicit choices for a language without data (``TypoGenerator.lang_fallback``)
LANG_FALLBACKS = (None, "latin")


@lru_cache(maxsize=None)
def stopwords(lang: str) -> FrozenSet[str]:
    """Lower-cased stop words of ``lang`` from ``stopwordsiso`` (empty set for a language it lacks)."""
    import stopwordsiso

    if not stopwordsiso.has_lang(lang):
        return frozenset()
    return frozenset(w.lower() for w in stopwordsiso.stopwords(lang))


@lru_cache(maxsize=None)
def supported_languages() -> Tuple[str, ...]:
    """Language codes the generator has data for: a stop-word list (``stopwordsiso``) or a keyboard layout."""
    import stopwordsiso

    return tuple(sorted(set(stopwordsiso.langs()) | set(LAYOUTS)))


@lru_cache(maxsize=None)
def _warn_fallback(lang: str) -> None:
    logger.warning("no stop words or keyboard layout for language %r: typing it as Latin script on US QWERTY, "
                   "with no stop words (every word of >= 3 letters is eligible)", lang)


def stable_seed(*parts) -> int:
    """A seed from a hash of ``parts``: the same in any process, worker order or machine (Python's ``hash`` is salted
    per process)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


@dataclass
class TypoGenerator:
    """Makes typo'd variants; one instance holds the settings and counts (``stats``).

    Args:
        lang: ISO 639-1 code of the text (any Latin-script code works: QWERTY and the Latin alphabet).
        types: edit types to use, a subset of ``TYPO_TYPES``.
        n_words: words edited per variant (ignored when ``rate`` is set).
        rate: fraction of the eligible words edited per variant (at least one), e.g. 0.2 or 0.5.
        min_word_len: shortest eligible word, in characters.
        lang_fallback: what to do for a ``lang`` without data (``supported_languages``): None (default) raises
            a ``ValueError`` listing the supported codes; ``"latin"`` warns once and uses the Latin alphabet,
            US QWERTY and no stop words (without data, stop words would be typo'd: "teh of").
    """

    lang: str = "en"
    types: Sequence[str] = TYPO_TYPES
    n_words: int = 1
    rate: Optional[float] = None
    min_word_len: int = 3
    lang_fallback: Optional[str] = None
    stats: TypoStats = field(default_factory=TypoStats)

    def __post_init__(self):
        unknown = [t for t in self.types if t not in TYPO_TYPES]
        if unknown or not self.types:
            raise ValueError(f"unknown typo types {unknown or list(self.types)}; known: {', '.join(TYPO_TYPES)}")
        if self.n_words < 1:
            raise ValueError(f"n_words must be >= 1, got {self.n_words}")
        if self.rate is not None and not 0.0 < self.rate <= 1.0:
            raise ValueError(f"rate must be in (0, 1], got {self.rate}")
        if self.lang_fallback not in LANG_FALLBACKS:
            raise ValueError(f"lang_fallback must be one of {LANG_FALLBACKS}, got {self.lang_fallback!r}")
        if self.lang not in supported_languages():
            if self.lang_fallback is None:
                raise ValueError(f"language {self.lang!r}: no stop words or keyboard layout for it; supported: "
                                 f"{' '.join(supported_languages())} (or a Latin-script fallback: "
                                 f"--lang_fallback latin)")
            _warn_fallback(self.lang)
        self.types = tuple(self.types)
        self._stop = stopwords(self.lang)

    # -- public ---------------------------------------------------------------------------------------------
    def variants(self, text: str, k: int, seed: int = 0) -> List[str]:
        """Up to ``k`` distinct typo'd variants of ``text``, each different from it.

        A text with no eligible word comes back unchanged, as ``[text]`` (counted in ``stats.unchanged``).
        When fewer than ``k`` distinct variants can be made, those that exist are returned with a warning.
        """
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        self.stats.queries += 1
        if k == 0:
            return []
        spans = self._eligible(text)
        if not spans:
            self.stats.unchanged += 1
            return [text]
        rng = random.Random(stable_seed(seed, self.lang, self.types, self.n_words, self.rate, text))
        offset = rng.randrange(len(self.types))
        out: List[str] = []
        seen = {text}
        attempts, budget = 0, 20 * k + 50
        while len(out) < k and attempts < budget:
            variant = self._one_variant(text, spans, rng, offset + attempts)
            attempts += 1
            if variant not in seen:
                seen.add(variant)
                out.append(variant)
        if len(out) < k:
            self.stats.short += 1
            warnings.warn(f"only {len(out)} distinct typo'd variants of {text!r} exist; asked for {k}", stacklevel=2)
        return out

    # -- internals ------------------------------------------------------------------------------------------
    def _eligible(self, text: str) -> List[Tuple[int, int]]:
        return [
            (s, e)
            for s, e in word_spans(text)
            if e - s >= self.min_word_len and text[s:e].lower() not in self._stop
        ]

    def _one_variant(self, text: str, spans, rng: random.Random, turn: int) -> str:
        n = max(1, round(self.rate * len(spans))) if self.rate is not None else self.n_words
        chosen = sorted(rng.sample(range(len(spans)), min(n, len(spans))), reverse=True)
        for j, idx in enumerate(chosen):  # right to left, so earlier spans keep their offsets
            s, e = spans[idx]
            word = text[s:e]
            typo = self._edit(word, rng, turn + j, text)
            text = text[:s] + typo + text[e:]
        return text

    def _edit(self, word: str, rng: random.Random, turn: int, text: str) -> str:
        # Round-robin over the types; a type that cannot apply to this word (no keyboard neighbour, say)
        # passes to the next one.
        for step in range(len(self.types)):
            kind = self.types[(turn + step) % len(self.types)]
            edited = getattr(self, "_" + kind)(word, rng, text)
            if edited is not None and edited != word:
                return edited
        return word

    def _letters_for(self, ch: str, text: str) -> str:
        script = script_of(ch)
        letters = alphabet(script, self.lang)
        if not letters:  # Han and other open scripts: draw from the text's own characters of that script
            letters = "".join(sorted({c for c in text if script_of(c) == script}))
        return letters

    @staticmethod
    def _match_case(new: str, old: str) -> str:
        return new.upper() if old.isupper() and new.lower() != new.upper() else new

    def _insert(self, word, rng, text):
        i = rng.randrange(len(word) + 1)
        anchor = word[min(i, len(word) - 1)]
        letters = self._letters_for(anchor, text)
        if not letters:
            return None
        return word[:i] + rng.choice(letters) + word[i:]

    def _delete(self, word, rng, text):
        i = rng.randrange(len(word))
        return word[:i] + word[i + 1 :]

    def _substitute(self, word, rng, text):
        i = rng.randrange(len(word))
        letters = [c for c in self._letters_for(word[i], text) if c != word[i].lower() and c != word[i]]
        if not letters:
            return None
        return word[:i] + self._match_case(rng.choice(letters), word[i]) + word[i + 1 :]

    def _swap(self, word, rng, text):
        pairs = [i for i in range(len(word) - 1) if word[i] != word[i + 1]]
        if not pairs:
            return None
        i = rng.choice(pairs)
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]

    def _keyboard(self, word, rng, text):
        positions = []
        for i, ch in enumerate(word):
            if self._keyboard_neighbours(ch):
                positions.append(i)
        if not positions:
            return None
        i = rng.choice(positions)
        options = sorted(self._keyboard_neighbours(word[i]))
        return word[:i] + self._match_case(rng.choice(options), word[i]) + word[i + 1 :]

    def _keyboard_neighbours(self, ch: str) -> FrozenSet[str]:
        script = script_of(ch)
        own = neighbour_map(self.lang)
        low = ch.lower()
        if low in own:
            return own[low]
        layout = _SCRIPT_LAYOUT.get(script)
        if layout is None or (self.lang in LAYOUTS and layout == self.lang):
            return frozenset()
        return neighbour_map(layout).get(low, frozenset())


def make_typos(
    text: str,
    k: int,
    seed: int = 0,
    lang: str = "en",
    types: Sequence[str] = TYPO_TYPES,
    n_words: int = 1,
    rate: Optional[float] = None,
) -> List[str]:
    """``k`` distinct seeded typo'd variants of ``text`` (fewer, with a warning, if fewer exist; ``[text]``
    when it has no eligible word). See ``TypoGenerator`` for the settings."""
    return TypoGenerator(lang=lang, types=types, n_words=n_words, rate=rate).variants(text, k, seed=seed)
