"""The typo generator: determinism, per-script properties, edge cases, the command-line tool."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import unicodedata
from types import SimpleNamespace

import pytest

from mpcl_tevatron.typos import LAYOUTS, TYPO_TYPES, TypoGenerator, make_typos, stopwords
from mpcl_tevatron.typos.generator import stable_seed
from mpcl_tevatron.typos.keyboards import neighbour_map
from mpcl_tevatron.typos.scripts import script_of

from .conftest import ROOT

SAMPLES = {
    "en": "What is the capital city of Germany in Europe",
    "de": "Welche Straße führt über die große Brücke",
    "es": "Cuál es la capital de Alemania y España",
    "tr": "Almanyanın başkenti neresidir acaba şimdi",
    "el": "Ποια είναι η πρωτεύουσα της Γερμανίας",
    "ru": "Какой город является столицей Германии",
    "ar": "ما هي عاصمة ألمانيا الاتحادية",
    "hi": "जर्मनी की राजधानी क्या है बताइए",
    "th": "เมืองหลวงของประเทศเยอรมนีคืออะไร",
    "vi": "Thủ đô của nước Đức là thành phố nào",
    "zh": "德国的首都是哪个城市",
    "fr": "Quelle est la capitale de l'Allemagne",  # any Latin-script language
}
SCRIPT = {"en": "LATIN", "de": "LATIN", "es": "LATIN", "tr": "LATIN", "vi": "LATIN", "fr": "LATIN",
          "el": "GREEK", "ru": "CYRILLIC", "ar": "ARABIC", "hi": "DEVANAGARI", "th": "THAI", "zh": "CJK"}


def _changed_chars(a: str, b: str) -> str:
    """Characters of b not accounted for by a (a multiset difference)."""
    from collections import Counter

    return "".join((Counter(b) - Counter(a)).elements())


@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_variants_are_distinct_differ_from_text_and_stay_in_script(lang):
    text = SAMPLES[lang]
    variants = make_typos(text, 10, seed=3, lang=lang)
    assert len(variants) == 10 and len(set(variants)) == 10 and text not in variants
    for v in variants:
        for ch in _changed_chars(text, v):
            cat = unicodedata.category(ch)
            assert cat[0] in "LM", (lang, v, ch)
            assert script_of(ch) == SCRIPT[lang] or script_of(ch) == "", (lang, v, ch)


def test_open_scripts_draw_new_characters_from_the_texts_own_characters_of_that_script():
    """Han has no alphabet: an inserted or substituted character is another Han character of the same text,
    never one of its digits."""
    text = "北京在2008年举办了奥运会吗"
    han = {c for c in text if script_of(c) == script_of("北")}
    for seed in range(40):
        for v in make_typos(text, 1, seed=seed, lang="zh", types=("insert", "substitute")):
            new = _changed_chars(text, v)
            assert new and set(new) <= han, (seed, v, new)


def _edited_spans(text, variant, spans):
    """Indices of the eligible ``spans`` of ``text`` that the edit from ``text`` to ``variant`` touches
    (difflib's edit regions; an insertion at a span's edge touches that span)."""
    import difflib

    touched = set()
    for op, i1, i2, _, _ in difflib.SequenceMatcher(None, text, variant, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        hit = [k for k, (s, e) in enumerate(spans) if s <= i1 <= e and i2 <= e]
        assert hit, (text, variant, op, i1, i2)  # every edit lies inside an eligible word
        touched.add(hit[0])
    return touched


@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_one_word_per_variant_by_default(lang):
    """In every language, scripts without spaces (th, zh) included: each variant edits exactly one eligible
    word, and only inside it."""
    text = SAMPLES[lang]
    gen = TypoGenerator(lang=lang)
    spans = gen._eligible(text)
    assert spans
    for v in gen.variants(text, 8, seed=1):
        assert len(_edited_spans(text, v, spans)) == 1, (lang, v)


def test_same_inputs_same_variants_in_another_process():
    code = ("import json,sys; sys.path.insert(0, %r); from mpcl_tevatron.typos import make_typos; "
            "print(json.dumps([make_typos(t, 5, seed=7, lang=l) for l, t in %r]))") % (ROOT, sorted(SAMPLES.items()))
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env=dict(os.environ, PYTHONHASHSEED=h)).stdout for h in ("1", "999")}
    assert len(outs) == 1
    here = [make_typos(t, 5, seed=7, lang=l) for l, t in sorted(SAMPLES.items())]
    assert json.loads(outs.pop()) == here


def test_seed_and_settings_change_the_variants():
    t = SAMPLES["en"]
    assert make_typos(t, 5, seed=0) != make_typos(t, 5, seed=1)
    assert make_typos(t, 5, seed=0) == make_typos(t, 5, seed=0)


def test_stop_words_and_short_words_are_never_edited():
    gen = TypoGenerator(lang="en")
    text = "the of and Germany"
    for v in gen.variants(text, 10, seed=0):
        assert v.startswith("the of and ")
    assert {"the", "of", "and"} <= stopwords("en")
    assert all(stopwords(lang) for lang in ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"))


def test_query_without_eligible_word_is_returned_unchanged_and_counted():
    gen = TypoGenerator(lang="en")
    assert gen.variants("the of an", 4) == ["the of an"]
    assert gen.variants("", 3) == [""]
    assert gen.stats.unchanged == 2 and gen.stats.queries == 2


def test_more_variants_than_exist_returns_what_exists_with_a_warning():
    gen = TypoGenerator(lang="en", types=["swap"])
    with pytest.warns(UserWarning, match="distinct"):
        out = gen.variants("abc", 10)
    assert sorted(out) == ["acb", "bac"]
    assert gen.stats.short == 1


def test_each_type_alone_does_what_it_says():
    word = "keyboard"
    for kind in TYPO_TYPES:
        for v in make_typos(word, 5, seed=2, types=[kind]):
            if kind == "insert":
                assert len(v) == len(word) + 1
            elif kind == "delete":
                assert len(v) == len(word) - 1
            elif kind == "swap":
                assert sorted(v) == sorted(word) and len(v) == len(word)
            else:
                diff = [(a, b) for a, b in zip(word, v) if a != b]
                assert len(v) == len(word) and len(diff) == 1
                if kind == "keyboard":
                    assert diff[0][1] in neighbour_map("en")[diff[0][0]]


@pytest.mark.parametrize("lang", sorted(LAYOUTS))
def test_keyboard_typos_use_the_languages_layout(lang):
    text = SAMPLES[lang]
    nb = neighbour_map(lang)
    assert nb, lang
    for v in make_typos(text, 6, seed=5, lang=lang, types=["keyboard"]):
        diff = [(a, b) for a, b in zip(text, v) if a != b]
        assert len(diff) == 1, (lang, v)
        assert diff[0][1].lower() in nb[diff[0][0].lower()], (lang, diff)


def test_layout_neighbours_are_symmetric_and_real():
    assert neighbour_map("en")["s"] == frozenset("awedxz")
    assert "z" in neighbour_map("de")["t"] and "y" not in neighbour_map("de")["t"]  # QWERTZ
    assert "ñ" in neighbour_map("es")["l"]
    # Devanagari vowel signs are combining marks, not letters (str.isalpha is False), and are keys all the same.
    # __wrapped__: built afresh, not from the cache an earlier test (or mutmut's parent process) filled
    assert neighbour_map.__wrapped__("hi")["\u093e"] == frozenset("\u0940\u0947\u0948\u094d")  # ा: ी े ै ्
    for lang in LAYOUTS:
        nb = neighbour_map(lang)
        for a, around in nb.items():
            for b in around:
                assert a in nb[b], (lang, a, b)


def test_chinese_has_no_keyboard_typos_but_the_other_four_work():
    assert not neighbour_map("zh")
    with pytest.warns(UserWarning, match="only 0 distinct"):
        assert make_typos(SAMPLES["zh"], 3, lang="zh", types=["keyboard"]) == []
    assert len(make_typos(SAMPLES["zh"], 8, lang="zh")) == 8


def test_rate_edits_a_fraction_of_the_eligible_words():
    text = "alpha bravo charlie delta echo foxtrot golf hotel india juliet"
    for v in make_typos(text, 5, seed=0, rate=0.5, types=["substitute"]):
        assert sum(a != b for a, b in zip(text.split(), v.split())) == 5
    for v in make_typos(text, 5, seed=0, n_words=2, types=["substitute"]):
        assert sum(a != b for a, b in zip(text.split(), v.split())) == 2


def test_bad_settings_are_errors():
    with pytest.raises(ValueError, match="unknown typo types"):
        TypoGenerator(types=["teleport"])
    with pytest.raises(ValueError, match="rate"):
        TypoGenerator(rate=0)
    with pytest.raises(ValueError, match="k must be"):
        make_typos("hello world", -1)
    with pytest.raises(ValueError, match="language 'xx': no stop words or keyboard layout.* en .*lang_fallback"):
        TypoGenerator(lang="xx")


def test_a_language_without_data_needs_the_explicit_latin_fallback(caplog):
    import logging

    from mpcl_tevatron.typos import generator

    generator._warn_fallback.cache_clear()
    with caplog.at_level(logging.WARNING):
        gen = TypoGenerator(lang="xx", lang_fallback="latin")
        TypoGenerator(lang="xx", lang_fallback="latin")
    assert caplog.text.count("no stop words or keyboard layout for language 'xx'") == 1
    assert gen.variants("hello world", 1, seed=0)[0] != "hello world"


def test_cli_writes_seeded_copies_with_the_same_ids(tmp_path):
    src = tmp_path / "q.tsv"
    src.write_text("1\tWhat is the capital of Germany\n2\tthe of\n")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "mpcl_tevatron.typos", str(src), "--out_dir", str(out),
                           "--copies", "3", "--seed", "10"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    files = sorted(os.listdir(out))
    assert files == ["q.typo0.tsv", "q.typo1.tsv", "q.typo2.tsv"]
    rows = [(out / f).read_text().splitlines() for f in files]
    assert all([r.split("\t")[0] for r in rs] == ["1", "2"] for rs in rows)
    assert all(rs[1] == "2\tthe of" for rs in rows)  # nothing eligible: unchanged
    assert len({rs[0] for rs in rows}) == 3
    assert rows[1][0].split("\t")[1] == make_typos("What is the capital of Germany", 1, seed=11)[0]
    assert "6 queries typo'd; 3 unchanged" in proc.stderr  # 3 copies x 2 queries


def test_cli_errors_are_one_line(tmp_path):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"query_id": "1", "query": "ok"}\nnot json\n')
    proc = subprocess.run([sys.executable, "-m", "mpcl_tevatron.typos", str(bad), "--out_dir", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and f"{bad}:2" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "mpcl_tevatron.typos", str(tmp_path / "missing.tsv"),
                           "--out_dir", str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "no such file" in proc.stderr
    latin1 = tmp_path / "latin1.tsv"
    latin1.write_bytes("1\tok\n2\tcaf\u00e9 au lait\n".encode("latin-1"))
    proc = subprocess.run([sys.executable, "-m", "mpcl_tevatron.typos", str(latin1), "--out_dir", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and proc.stderr.strip() == f"error: {latin1}:2: not UTF-8 text (byte 5: invalid " \
        "continuation byte)"
    good = tmp_path / "q.tsv"
    good.write_text("1\tthe capital of Germany\n")
    for extra, rc, message in (([], 2, "supported: "), (["--lang_fallback", "latin"], 0, "warning: no stop words")):
        proc = subprocess.run([sys.executable, "-m", "mpcl_tevatron.typos", str(good), "--out_dir",
                               str(tmp_path / "xx"), "--lang", "xx", *extra], capture_output=True, text=True, cwd=ROOT)
        assert proc.returncode == rc and message in proc.stderr, proc.stderr


def test_cli_adds_query_variants_to_train_groups(tmp_path):
    from mpcl_tevatron.typos.cli import add_query_variants

    src = tmp_path / "train.jsonl"
    groups = [{"query_id": "1", "query": "What is the capital of Germany", "positive_passages": [{"text": "Berlin"}]},
              {"query_id": "2", "query": "the of", "positive_passages": [{"text": "x"}]}]
    src.write_text("".join(json.dumps(g) + "\n" for g in groups))
    written = add_query_variants(str(src), str(tmp_path / "o"), 3, 4, TypoGenerator())  # in-process: mutmut sees it
    assert written == str(tmp_path / "o" / "train.variants.jsonl")
    out = [json.loads(line) for line in (tmp_path / "o" / "train.variants.jsonl").read_text().splitlines()]
    assert out[0]["query_variants"] == make_typos("What is the capital of Germany", 3, seed=4)
    assert len(set(out[0]["query_variants"])) == 3 and out[0]["positive_passages"] == groups[0]["positive_passages"]
    assert out[1]["query_variants"] == ["the of"]  # nothing eligible: the query itself
    proc = subprocess.run([sys.executable, "-m", "mpcl_tevatron.typos", str(src), "--out_dir", str(tmp_path / "c"),
                           "--query_variants", "3", "--seed", "4"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout == str(tmp_path / "c" / "train.variants.jsonl") + "\n", proc.stderr
    written = (tmp_path / "o" / "train.variants.jsonl").read_text()
    assert (tmp_path / "c" / "train.variants.jsonl").read_text() == written
    src.write_text('{"query_id": "1", "query": ""}\n')
    proc = subprocess.run([sys.executable, "-m", "mpcl_tevatron.typos", str(src), "--out_dir", str(tmp_path / "o"),
                           "--query_variants", "3"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and f"{src}:1: empty or missing query" in proc.stderr


def test_query_variants_read_query_text_too_and_keep_other_scripts_as_written(tmp_path):
    """Groups that name their query ``query_text`` (Tevatron v2's field) get variants as well; UTF-8 text is
    written as itself, not as \\u escapes; a rerun into the same folder writes the same file."""
    from mpcl_tevatron.typos.cli import add_query_variants

    src = tmp_path / "g.jsonl"
    src.write_text(json.dumps({"query_id": "1", "query_text": "Где находится столица Германии"}) + "\n",
                   encoding="utf-8")
    out = add_query_variants(str(src), str(tmp_path), 2, 0, TypoGenerator(lang="ru"))
    text = open(out, encoding="utf-8").read()
    (group,) = [json.loads(line) for line in text.splitlines()]
    assert group["query_variants"] == make_typos("Где находится столица Германии", 2, seed=0, lang="ru")
    assert '"query_text": "Где находится столица Германии"' in text
    assert add_query_variants(str(src), str(tmp_path), 2, 0, TypoGenerator(lang="ru")) == out
    assert open(out, encoding="utf-8").read() == text


def test_new_letters_come_from_the_alphabet_and_keep_the_case():
    """Substitutions and insertions draw from the script's alphabet, not only from the text's own letters, and a
    substituted letter keeps the case of the one it replaces. (An insertion takes the case the alphabet gives:
    "LONDON" may become "LiONDON"; changing that would change every built typo'd query set.)"""
    new = set()
    for seed in range(60):
        for v in make_typos("banana", 1, seed=seed, lang="en", types=("substitute", "insert")):
            new |= set(_changed_chars("banana", v))
    assert new - set("ban")  # letters the text does not hold
    for seed in range(30):
        (v,) = make_typos("PARIS LONDON", 1, seed=seed, lang="en", types=("substitute",))
        assert v == v.upper(), v


def test_rate_edits_at_least_one_word_and_short_words_are_never_eligible():
    from mpcl_tevatron.typos import TypoGenerator

    text = "university establish medical xy"  # "xy": two letters, under min_word_len (3), wherever it stands
    for seed in range(20):
        (v,) = TypoGenerator(lang="en", rate=0.1).variants(text, 1, seed=seed)
        assert sum(a != b for a, b in zip(text.split(), v.split())) == 1 and v.split()[-1] == "xy"
    assert TypoGenerator(lang="en", rate=1.0).rate == 1.0
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="rate"):
            TypoGenerator(lang="en", rate=bad)
    assert make_typos(text, 0) == []


# The typo'd copies of every XMRC set and every training step come from these draws: a change to the
# generator that moves them changes published figures, so it must be deliberate (update the lists then).
PUBLISHED = [
    ('en', 'Where is the LONDON bridge over the river', {}, [
        'Where is the LONDON buidge over the river',
        'Where is the LONDON bridge over the rivre',
        'Where is the LONDON gridge over the river',
        'Where is the LONDON bridge over the rivwer',
    ]),
    ('de', 'Wo steht die älteste Brücke Europas', {'n_words': 2}, [
        'Wo steht die ältestek Brüdke Europas',
        'Wo steht die ältese Brkücke Europas',
        'Wo steht die älteste Brüske Eurpas',
        'Wo steht die älteste Brükce Eucopas',
    ]),
    ('ru', 'Где находится самый старый мост', {'rate': 0.5}, [
        'Где находитсф самый старый мост',
        'Где находитсяб самый старый мост',
        'Где находится самый старый мот',
        'Где находится самый старый мвст',
    ]),
    ('zh', '世界上最古老的桥在哪里', {}, [
        '世界上最老的桥在哪里',
        '世界上哪古老的桥在哪里',
        '界世上最古老的桥在哪里',
        '世界上最古老的桥世在哪里',
    ]),
    ('hi', 'सबसे पुराना पुल कहाँ है', {}, [
        'सबसे पुारना पुल कहाँ है',
        'सबसे पुराना रुल कहाँ है',
        'सबसे पुराना जपुल कहाँ है',
        'सबसे ुराना पुल कहाँ है',
    ]),
    ('ar', 'أين يقع أقدم جسر في العالم', {}, [
        'أين يق أقدم جسر في العالم',
        'أين يقع أقدم جسر في فلعالم',
        'أين يقع أقدم جرس في العالم',
        'أين ييع أقدم جسر في العالم',
    ]),
    ('th', 'สะพานที่เก่าแก่ที่สุดอยู่ที่ไหน', {}, [
        'สะพาสที่เก่าแก่ที่สุดอยู่ที่ไหน',
        'สะพานที่เก่าแก่ที่สุศดอยู่ที่ไหน',
        'สะพานที่เก่าแก่ี่สุดอยู่ที่ไหน',
        'สะพานที่เก่าแก่ที่สุดอยู่ทีษไหน',
    ]),
    ('en', 'WHERE IS THE OLD BRIDGE', {'types': ['substitute', 'insert', 'keyboard']}, [
        'WHERE IS THE OLD BRIDGD',
        'WHERE IS THE OLD BRTDGE',
        'WHERE IS THE OLD BRIuDGE',
        'WHERE IS THE OLD BRIRGE',
    ]),
]


@pytest.mark.parametrize("lang, text, settings, expected", PUBLISHED)
def test_the_variants_are_the_published_ones(lang, text, settings, expected):
    assert make_typos(text, 4, seed=7, lang=lang, **settings) == expected


def test_stable_seed_is_fixed_forever():
    from mpcl_tevatron.typos.generator import stable_seed

    assert stable_seed(0) == 8493733112532773764 and stable_seed(1, "a") == 17830588005661422861


def test_write_typo_copies_returns_the_paths_it_wrote(tmp_path):
    from mpcl_tevatron.typos.cli import write_typo_copies
    from mpcl_tevatron.typos.generator import TypoGenerator

    src = tmp_path / "q.tsv"
    src.write_text("1\tWhat is the capital of Germany\n")
    written = write_typo_copies(str(src), str(tmp_path / "out"), 2, 0, TypoGenerator(), progress=False)
    assert written == [str(tmp_path / "out" / "q.typo0.tsv"), str(tmp_path / "out" / "q.typo1.tsv")]
    assert all(os.path.isfile(p) for p in written)
    first = [open(p, encoding="utf-8").read() for p in written]
    # a rerun into the same folder (a resumed recipe) writes the same copies over them
    assert write_typo_copies(str(src), str(tmp_path / "out"), 2, 0, TypoGenerator(), progress=False) == written
    assert [open(p, encoding="utf-8").read() for p in written] == first


def test_a_letter_off_the_languages_keyboard_uses_its_scripts_layout():
    """A Latin letter in a Russian query sits on the English layout, a Cyrillic one in a German query on the
    Russian; a letter of the language's own script missing from its layout, or of a script without a layout,
    has no keyboard neighbour."""
    assert TypoGenerator(lang="ru")._keyboard_neighbours("Q") == neighbour_map("en")["q"] == {"a", "w"}
    assert TypoGenerator(lang="de")._keyboard_neighbours("ж") == neighbour_map("ru")["ж"]
    assert TypoGenerator(lang="en")._keyboard_neighbours("é") == frozenset()
    assert TypoGenerator(lang="ru")._keyboard_neighbours("世") == frozenset()
    assert TypoGenerator(lang="ru")._keyboard_neighbours("ж") == neighbour_map("ru")["ж"]


def test_the_search_for_distinct_variants_has_a_budget_and_counts_short_queries():
    import warnings

    g = TypoGenerator()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = g.variants("cat", 200, seed=0)
        g.variants("cat", 200, seed=1)
    assert len(found) == 181 == len(set(found))  # every distinct edit of "cat" the 20 * k + 50 attempts reach
    assert g.stats.short == 2 and g.stats.queries == 2
    assert len(caught) == 2
    assert str(caught[0].message) == "only 181 distinct typo'd variants of 'cat' exist; asked for 200"
    assert len(g.variants("cat", 181, seed=0)) == 181 and g.stats.short == 2  # not short when all were found


def test_training_variants_follow_their_settings_the_seed_the_epoch_and_the_item():
    """TrainingVariants (both adapters' datasets): K variants drawn with stable_seed(seed, epoch); the epoch is
    the trainer's (0 without one); DR+Aug replaces item i's query with a variant drawn by
    random.Random(stable_seed("augment", seed, epoch, i)): first the coin, then the choice."""
    from mpcl_tevatron.typos.training import TrainingVariants

    q = "where is the famous old city of Berlin found"
    tv = TrainingVariants(3, seed=5)
    assert tv.variants(q, 2) == TypoGenerator(lang="en").variants(q, 3, seed=stable_seed(5, 2))
    assert TrainingVariants(3, seed=6).variants(q, 2) != tv.variants(q, 2) != tv.variants(q, 1)
    assert TrainingVariants(1).variants(q, 0) == TypoGenerator(lang="en").variants(q, 1, seed=stable_seed(0, 0))
    assert TrainingVariants(0, augment_prob=1.0).for_item(q, 0) == (None, [])
    assert TrainingVariants(1).for_item(q, 0) == (None, TrainingVariants(1).variants(q, 0))  # no DR+Aug by default
    ru = TrainingVariants(2, lang="ru", types=("swap",))
    assert (ru.generator.lang, ru.generator.types, TrainingVariants(2).for_objective) == ("ru", ("swap",), True)
    args = SimpleNamespace(typo_variants=2, typo_seed=7, typo_lang="de", typo_types=("delete",), typo_augment_prob=0.5)
    built = TrainingVariants.from_args(args, for_objective=False)
    assert (built.k, built.seed, built.generator.lang, built.generator.types, built.augment_prob,
            built.for_objective, TrainingVariants.from_args(args).for_objective) == \
        (2, 7, "de", ("delete",), 0.5, False, True)

    def drawn(seed, epoch, index, variants, p):
        rng = random.Random(stable_seed("augment", seed, epoch, index))
        return rng.choice(variants) if rng.random() < p else None

    trainer = SimpleNamespace(state=SimpleNamespace(epoch=2.0))
    for p in (1.0, 0.5):
        aug = TrainingVariants(3, seed=5, augment_prob=p)
        items = [aug.for_item(q, i, trainer) for i in range(40)]
        assert all(v == tv.variants(q, 2) for _, v in items)
        assert [a for a, _ in items] == [drawn(5, 2, i, tv.variants(q, 2), p) for i in range(40)]
        if p == 1.0:
            assert len({a for a, _ in items}) > 2  # every item replaced, by different variants
        else:
            assert 0 < sum(a is None for a, _ in items) < 40
        assert aug.for_item(q, 3) == (drawn(5, 0, 3, tv.variants(q, 0), p), tv.variants(q, 0))
    assert TrainingVariants(3, augment_prob=1.0).augmented_query(0, [], 0) is None
