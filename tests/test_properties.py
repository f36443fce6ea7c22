"""Property-based tests (hypothesis) where they pay: the typo generator, multi-positive InfoNCE, the segmenter."""

from __future__ import annotations

import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mpcl_tevatron.losses import multi_positive_infonce  # noqa: E402
from mpcl_tevatron.typos import TypoGenerator  # noqa: E402
from mpcl_tevatron.typos.scripts import script_of  # noqa: E402
from mpcl_tevatron.xmrc.data.segmenter import segment  # noqa: E402

WORDS = {"en": ["capital", "river", "what", "the", "of", "germany", "north", "famous", "built", "is", "a"],
         "ru": ["столица", "река", "что", "это", "германии", "город", "и", "в"],
         "de": ["hauptstadt", "fluss", "was", "ist", "die", "der", "deutschland", "berühmt"]}


@st.composite
def queries(draw):
    lang = draw(st.sampled_from(sorted(WORDS)))
    words = draw(st.lists(st.sampled_from(WORDS[lang]), min_size=1, max_size=8))
    return lang, " ".join(words)


@settings(max_examples=150, deadline=None)
@given(queries(), st.integers(0, 2 ** 31), st.integers(1, 3))
def test_typos_edit_exactly_n_eligible_words_deterministically_in_the_words_script(query, seed, n_words):
    lang, text = query
    gen = TypoGenerator(lang=lang, n_words=n_words)
    eligible = [text[s:e] for s, e in gen._eligible(text)]
    variants = gen.variants(text, 3, seed=seed)
    assert variants == TypoGenerator(lang=lang, n_words=n_words).variants(text, 3, seed=seed)
    if not eligible:
        assert variants == [text]
        return
    words = text.split()
    for v in variants:
        assert v != text and len(v.split()) == len(words)  # edits stay inside words, never merge or split them
        changed = [(a, b) for a, b in zip(words, v.split()) if a != b]
        assert len(changed) == min(n_words, len(eligible))  # exactly the requested number, when there are that many
        for a, b in changed:
            assert a in eligible  # only eligible words (>= 3 letters, not a stop word) are edited
            assert {script_of(c) for c in b} <= {script_of(c) for c in a} | {""}


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 6), st.integers(2, 9), st.integers(0, 2 ** 31))
def test_multi_positive_infonce_is_invariant_to_permuting_columns_with_the_mask(n, m, seed):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(n, m, generator=g, dtype=torch.float64) * 3
    mask = torch.rand(n, m, generator=g) < 0.4
    mask[torch.arange(n), torch.randint(0, m, (n,), generator=g)] = True  # every row has a positive
    perm = torch.randperm(m, generator=g)
    a = multi_positive_infonce(scores, mask, reduction="none")
    b = multi_positive_infonce(scores[:, perm], mask[:, perm], reduction="none")
    assert torch.allclose(a, b, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 6), st.integers(2, 9), st.integers(0, 2 ** 31))
def test_multi_positive_infonce_with_one_positive_a_row_is_cross_entropy(n, m, seed):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(n, m, generator=g, dtype=torch.float64) * 3
    target = torch.randint(0, m, (n,), generator=g)
    mask = torch.zeros(n, m, dtype=torch.bool)
    mask[torch.arange(n), target] = True
    expected = torch.nn.functional.cross_entropy(scores, target)
    assert torch.allclose(multi_positive_infonce(scores, mask), expected, atol=1e-12)


SENTENCE_PIECES = st.sampled_from(["Dr. Smith met John F. Kennedy.", "It rained!", "Why?", "Der 3. Oktober ist",
                                   "frei.", "U.S. troops left.", "A. Lincoln spoke.", "3.5 percent", "«Quoi?»",
                                   "Он пришёл.", "Το σπίτι;", "中国。", "नमस्ते।", "e.g. this", "   "])


@settings(max_examples=200, deadline=None)
@given(st.lists(SENTENCE_PIECES, min_size=1, max_size=8), st.sampled_from([None, "en", "de", "es", "fr", "ru"]),
       st.sampled_from([" ", "  ", "\n"]))
def test_segmenter_sentences_concatenate_back_to_the_paragraph(pieces, lang, sep):
    text = sep.join(pieces)
    spans = segment(text, lang)
    previous = 0
    for start, end in spans:
        assert previous <= start < end <= len(text)
        assert text[previous:start].strip() == ""  # only whitespace between sentences
        assert text[start].strip() and text[end - 1].strip()  # no sentence starts or ends with whitespace
        previous = end
    assert text[previous:].strip() == ""
    assert "".join("".join(text[s:e].split()) for s, e in spans) == "".join(text.split())
