"""XMRC from XQuAD-R (shared data) and from malformed SQuAD files."""

from __future__ import annotations

import json
import os

import pytest

from mpcl_tevatron.io import InputError
from mpcl_tevatron.xmrc import build_train_groups, load_squad, split_articles
from mpcl_tevatron.xmrc.data.build import build

from .conftest import SHARED, needs_xquad


# Candidate counts from the LAReQA README.
LAREQA_CANDIDATES = {"ar": 1222, "de": 1276, "el": 1234, "en": 1180, "es": 1215, "hi": 1244, "ru": 1219,
                     "th": 852, "tr": 1167, "vi": 1209, "zh": 1196}


@needs_xquad
@pytest.mark.parametrize("lang", sorted(LAREQA_CANDIDATES))
def test_xquad_r_matches_lareqa_counts(lang):
    m = load_squad(os.path.join(SHARED, f"{lang}.json"), lang)
    assert len(m.candidates) == LAREQA_CANDIDATES[lang]
    assert len(m.queries) == 1190 and not m.problems
    assert all(len(docs) == 1 for docs in m.qrels.values())


@needs_xquad
def test_train_split_is_english_and_article_disjoint(tmp_path):
    manifest = build(SHARED, str(tmp_path), langs=["en", "de"], copies=2, progress=False)
    train_articles = set(manifest["split"]["train_articles"])
    assert train_articles.isdisjoint(manifest["split"]["eval_articles"])
    en = load_squad(os.path.join(SHARED, "en.json"), "en")
    train_q = [json.loads(l)["query_id"] for l in open(tmp_path / "train" / "train.jsonl")]
    eval_q = [json.loads(l)["query_id"] for l in open(tmp_path / "de" / "queries.jsonl")]
    assert set(train_q).isdisjoint(eval_q)
    assert {en.query_article[q] for q in train_q} == train_articles
    assert sorted(os.listdir(tmp_path / "de" / "typos")) == ["r50", "w1"]
    assert sorted(os.listdir(tmp_path / "de" / "typos" / "r50")) == ["queries.typo0.jsonl", "queries.typo1.jsonl"]
    # X->pool: a question's answer sentences in every built language are relevant; ids are parallel
    pool = {}
    for line in open(tmp_path / "pool" / "qrels.txt"):
        q, _, d, _ = line.split()
        pool.setdefault(q, set()).add(d.split("-")[0])
    assert set(pool) == set(eval_q) and all(langs == {"en", "de"} for langs in pool.values())
    assert manifest["languages"]["de"]["queries"] == len(eval_q)
    assert len(manifest["checksums"]["en.json"]) == 64
    # <lang>/qrels.txt: exactly the evaluated questions, each with its own answer sentence
    de = load_squad(os.path.join(SHARED, "de.json"), "de")
    qrels = {}
    for line in open(tmp_path / "de" / "qrels.txt"):
        q, _, d, rel = line.split()
        qrels.setdefault(q, {})[d] = int(rel)
    assert qrels == {q: de.qrels[q] for q in eval_q}
    known = eval_q[0]  # the first test question: its answer sentence, found by hand from the SQuAD fields
    qa = next(qa for a in json.load(open(os.path.join(SHARED, "de.json")))["data"] for p in a["paragraphs"]
              for qa in p["qas"] if qa["id"] == known)
    doc = next(iter(qrels[known]))
    sentence = next(c for c in de.candidates if c.docid == doc)
    start = qa["answers"][0]["answer_start"]
    para_start = sentence.context.index(sentence.text)
    assert para_start <= start < para_start + len(sentence.text)
    # the manifest records what was built, under the keys the recipe and readers use
    assert manifest["source"] == os.path.abspath(SHARED) and manifest["typo_copies"] == 2
    assert manifest["typo_seed"] == 0 and manifest["candidate_text"] == "sentence"
    assert manifest["own_segmenter"] is False and sorted(manifest["severities"]) == ["r50", "w1"]
    assert manifest["split"]["evaluated"] == "test" and manifest["split"]["dev_articles"] == list(range(20, 24))
    assert manifest["split"]["test_articles"] == list(range(24, 48)) == manifest["split"]["eval_articles"]
    assert manifest["train"] == {"lang": "en", "groups": len(train_q)}
    assert manifest["languages"]["de"]["typos_unchanged"] == {"w1": 0, "r50": 0}
    assert manifest["languages"]["de"]["problems"] == []
    assert json.load(open(tmp_path / "manifest.json", encoding="utf-8")) == manifest
    # corpus records carry both Tevatron versions' keys
    record = json.loads(open(tmp_path / "de" / "corpus.jsonl", encoding="utf-8").readline())
    assert set(record) == {"docid", "text_id", "title", "text"} and record["docid"] == record["text_id"]
    assert record["title"] == "" and record["docid"].startswith("de-")
    agreement = manifest["segmentation_agreement"]["de"]
    assert agreement["paragraphs"] == 240 and agreement["share"] == round(agreement["same"] / 240, 4)
    # typo'd copy j is the generator's variant at seed (typo seed + j), written as UTF-8 text, not \u escapes
    from mpcl_tevatron.typos import TypoGenerator
    from mpcl_tevatron.xmrc.data.build import parse_severity
    clean = {json.loads(l)["query_id"]: json.loads(l)["query"] for l in open(tmp_path / "de" / "queries.jsonl")}
    generator = TypoGenerator(lang="de", **parse_severity("w1"))
    corpus = open(tmp_path / "de" / "corpus.jsonl", encoding="utf-8").read()
    assert "\\u00" not in corpus and any(ch in corpus for ch in "äöüß")
    for j in range(2):
        raw = open(tmp_path / "de" / "typos" / "w1" / f"queries.typo{j}.jsonl", encoding="utf-8").read()
        assert "\\u00" not in raw and any(ch in raw for ch in "äöüß")
        copy = {json.loads(l)["query_id"]: json.loads(l)["query"] for l in raw.splitlines()}
        assert copy[known] == generator.variants(clean[known], 1, seed=j)[0] != clean[known]


@needs_xquad
def test_dev_split_is_its_own_articles_and_never_the_test_articles(tmp_path):
    """--split dev evaluates on articles 20-23, trains on the same articles 0-19 as --split test, and reads no
    question of the test articles 24-47."""
    dev = build(SHARED, str(tmp_path / "dev"), langs=["de"], copies=0, progress=False, split="dev")
    test = build(SHARED, str(tmp_path / "test"), langs=["de"], copies=0, progress=False)
    en = load_squad(os.path.join(SHARED, "en.json"), "en")
    ids = {name: [json.loads(l)["text_id"] for l in open(tmp_path / name / "de" / "queries.jsonl")]
           for name in ("dev", "test")}
    assert {en.query_article[q] for q in ids["dev"]} == {20, 21, 22, 23}
    assert {en.query_article[q] for q in ids["test"]} == set(range(24, 48))
    assert dev["split"]["evaluated"] == "dev" and test["split"]["evaluated"] == "test"
    assert (tmp_path / "dev" / "train" / "train.jsonl").read_text() == \
        (tmp_path / "test" / "train" / "train.jsonl").read_text()
    train_articles = {en.query_article[json.loads(l)["query_id"]] for l in open(tmp_path / "dev" / "train" /
                                                                                 "train.jsonl")}
    assert train_articles == set(range(20))


@needs_xquad
def test_lareqa_setting_every_article_and_sentence_with_paragraph(tmp_path):
    m = build(SHARED, str(tmp_path), langs=["de"], copies=0, progress=False, split="all",
              candidate_text="sentence+paragraph")
    assert m["languages"]["de"]["queries"] == 1190 and m["languages"]["de"]["candidates"] == 1276
    first = json.loads(open(tmp_path / "de" / "corpus.jsonl", encoding="utf-8").readline())
    de = load_squad(os.path.join(SHARED, "de.json"), "de")
    c = de.candidates[0]
    assert first["text"] == f"{c.text}\n{c.context}" and c.text in c.context and c.text != c.context


def test_train_groups_use_same_paragraph_then_article_negatives():
    data = {"data": [{"title": "A", "paragraphs": [
        {"context": "One. Two. Three.", "sentence_breaks": [[0, 4], [5, 9], [10, 16]],
         "qas": [{"id": "q1", "question": "Which two?", "answers": [{"answer_start": 5, "text": "Two"}]}]},
        {"context": "Four.", "sentence_breaks": [[0, 5]], "qas": []}]}]}
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(data, f)
    m = load_squad(f.name, "xx")
    # the candidates know where they come from; the answer (start 5) is in sentence 1, relevance 1
    assert [(c.text, c.article, c.paragraph, c.sentence) for c in m.candidates] == [
        ("One.", 0, 0, 0), ("Two.", 0, 0, 1), ("Three.", 0, 0, 2), ("Four.", 0, 1, 0)]
    assert m.qrels == {"q1": {m.candidates[1].docid: 1}} and m.lang == "xx"
    (g,) = build_train_groups(m)
    # exactly Tevatron's train record: query_id, query, and passages as docid / title / text
    assert g == {"query_id": "q1", "query": "Which two?",
                 "positive_passages": [{"docid": m.candidates[1].docid, "title": "", "text": "Two."}],
                 "negative_passages": [{"docid": c.docid, "title": "", "text": c.text}
                                       for c in (m.candidates[0], m.candidates[2], m.candidates[3])]}
    assert len(build_train_groups(m, max_negatives=2)[0]["negative_passages"]) == 2
    assert split_articles(48) == (list(range(20)), list(range(20, 24)), list(range(24, 48)))
    assert split_articles(2) == ([0], [], [1]) and split_articles(4) == ([1 - 1], [1], [2, 3])
    assert split_articles(24, dev_share=6) == (list(range(10)), [10, 11], list(range(12, 24)))
    whole, none = m.subset([0]), m.subset([1])  # one article, two paragraphs
    assert (whole.queries, whole.candidates, whole.qrels, whole.query_article, whole.lang) == \
        (m.queries, m.candidates, m.qrels, {"q1": 0}, "xx")
    assert (none.queries, none.candidates, none.qrels) == ([], [], {})


def test_malformed_squad_is_counted_by_id_or_rejected(tmp_path):
    data = {"data": [{"title": "A", "paragraphs": [{"context": "One. Two.", "sentence_breaks": [[0, 4], [5, 9]],
        "qas": [{"id": "ok", "question": "One?", "answers": [{"answer_start": 0, "text": "One"}]},
                {"id": "empty", "question": " ", "answers": [{"answer_start": 0, "text": "One"}]},
                {"id": "outside", "question": "Where?", "answers": [{"answer_start": 99, "text": "x"}]}]}]}]}
    path = tmp_path / "x.json"
    path.write_text(json.dumps(data))
    m = load_squad(str(path), "xx")
    assert [q for q, _ in m.queries] == ["ok"]
    assert m.problems == [("empty", "empty question"), ("outside", "answer falls in no sentence")]
    assert m.subset([0]).problems == m.problems  # a subset keeps the record of what was left out
    # an answer starting on a sentence's end offset (the space after "One.") is in no sentence; at 5, in "Two."
    edge = {"data": [{"paragraphs": [{"context": "One. Two.", "sentence_breaks": [[0, 4], [5, 9]], "qas": [
        {"id": "end", "question": "A?", "answers": [{"answer_start": 4, "text": " "}]},
        {"id": "two", "question": "B?", "answers": [{"answer_start": 5, "text": "Two"}]}]}]}]}
    (tmp_path / "edge.json").write_text(json.dumps(edge))
    e = load_squad(str(tmp_path / "edge.json"), "xx")
    assert e.problems == [("end", "answer falls in no sentence")] and [q for q, _ in e.queries] == ["two"]
    qas = data["data"][0]["paragraphs"][0]["qas"]
    qas.append({"id": "unanswered", "question": "Why?", "answers": []})
    path.write_text(json.dumps(data))
    assert load_squad(str(path), "xx").problems[-1] == ("unanswered", "no answer")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="not a SQuAD-format"):
        load_squad(str(tmp_path / "bad.json"), "xx")


BAD_SQUAD = {
    "answer_start as text": ({"data": [{"paragraphs": [{"context": "One.", "sentence_breaks": [[0, 4]], "qas": [
        {"id": "q7", "question": "One?", "answers": [{"answer_start": "0", "text": "One"}]}]}]}]},
        "question q7: answer_start '0' is not an integer"),
    "no paragraphs": ({"data": [{"title": "A"}]}, "article 0 has no 'paragraphs' list"),
    "no article": ({"data": []}, "'data' holds no article"),
}


@pytest.mark.parametrize("case", sorted(BAD_SQUAD) + ["not UTF-8"])
def test_build_cli_bad_input_is_one_line_rc_2_and_no_output(tmp_path, case):
    """Each malformed SQuAD file: one line naming the file (and the question), exit code 2, and no --out folder
    (nor a half-written one) left behind."""
    from .conftest import run_module

    data = tmp_path / "data"
    data.mkdir()
    if case == "not UTF-8":
        (data / "en.json").write_bytes(b'{"data": [{"paragraphs": [{"context": "caf\xe9"}]}]}')
        message = "not UTF-8 text"
    else:
        content, message = BAD_SQUAD[case]
        (data / "en.json").write_text(json.dumps(content))
    proc = run_module("mpcl_tevatron.xmrc.data.build", "--data_dir", data, "--out", tmp_path / "out", "--langs", "en",
                      check=False)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: {data / 'en.json'}: {message}")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def _multi_answer_squad(tmp_path):
    """Two paragraphs; q1's two answers lie in different sentences, q2's one answer crosses a sentence break,
    q3 has one answer in one sentence."""
    context = "The old bridge is in Lyon. It was built in 1850. Romans built the first one."
    s2 = context.index("It was")
    s3 = context.index("Romans")
    path = tmp_path / "multi.json"
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [
        {"context": context, "qas": [
            {"id": "q1", "question": "Who built a bridge?",
             "answers": [{"text": "1850", "answer_start": context.index("1850")},
                         {"text": "Romans", "answer_start": s3}]},
            {"id": "q2", "question": "Where is it, and when was it built?",
             "answers": [{"text": "Lyon. It was built", "answer_start": context.index("Lyon")}]},
            {"id": "q3", "question": "Where is the bridge?",
             "answers": [{"text": "Lyon", "answer_start": context.index("Lyon")}]}]},
        {"context": "Paris has a tower. It is tall.", "qas": []}]}]}))
    return str(path), s2, s3


def test_every_sentence_an_answer_touches_is_a_positive_when_asked(tmp_path):
    from mpcl_tevatron.xmrc.data.build import read_train_source
    from mpcl_tevatron.xmrc.data.segmenter import segment

    path, _, _ = _multi_answer_squad(tmp_path)
    m = load_squad(path, "en", segmenter=lambda t: segment(t, "en"))
    assert m.qrels["q1"] == {"en-0-0-1": 1} and m.answer_sentences["q1"] == ["en-0-0-1", "en-0-0-2"]
    assert m.answer_sentences["q2"] == ["en-0-0-0", "en-0-0-1"] and m.answer_sentences["q3"] == ["en-0-0-0"]
    one = {g["query_id"]: g for g in build_train_groups(m)}
    assert [len(g["positive_passages"]) for g in one.values()] == [1, 1, 1]  # the default: one, as published
    groups = {g["query_id"]: g for g in build_train_groups(m, all_answer_sentences=True)}
    assert [p["docid"] for p in groups["q1"]["positive_passages"]] == ["en-0-0-1", "en-0-0-2"]
    assert [p["text"] for p in groups["q1"]["positive_passages"]] == ["It was built in 1850.",
                                                                      "Romans built the first one."]
    # a positive is never also a negative; the other paragraph's sentences follow the paragraph's own
    assert [n["docid"] for n in groups["q1"]["negative_passages"]] == ["en-0-0-0", "en-0-1-0", "en-0-1-1"]
    assert len(groups["q3"]["positive_passages"]) == 1
    assert read_train_source(f"squad:{path}") == list(groups.values())  # a user's file, offline


@needs_xquad
def test_xquad_r_training_groups_keep_one_positive_and_one_question_has_two_answer_sentences():
    en = load_squad(os.path.join(SHARED, "en.json"), "en")
    train = en.subset(split_articles(48)[0])
    assert all(len(g["positive_passages"]) == 1 for g in build_train_groups(train))
    assert max(len(g["negative_passages"]) for g in build_train_groups(train)) == 15  # the default cap
    several = [g for g in build_train_groups(train, all_answer_sentences=True) if len(g["positive_passages"]) > 1]
    assert len(several) == 1 and len(several[0]["positive_passages"]) == 2  # 1 of 536: too few to measure P > 1


BAD_SQUAD_READS = {
    "no answer_start": ({"answers": [{"text": "One"}]}, "question q: answer_start None is not an integer"),
    "answer_start true": ({"answers": [{"text": "One", "answer_start": True}]},
                          "question q: answer_start True is not an integer"),
    "second answer's start as text": ({"answers": [{"text": "One", "answer_start": 0},
                                                   {"text": "Two", "answer_start": "5"}]},
                                      "question q: answer_start '5' is not an integer"),
}


@pytest.mark.parametrize("case", sorted(BAD_SQUAD_READS))
def test_a_malformed_answer_names_the_file_and_question(tmp_path, case):
    qa, message = BAD_SQUAD_READS[case]
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"data": [{"paragraphs": [{"context": "One. Two.", "sentence_breaks": [[0, 4], [5, 9]],
                                                          "qas": [dict(qa, id="q", question="One?")]}]}]}))
    with pytest.raises(InputError) as err:
        load_squad(str(path), "xx")
    assert str(err.value) == f"{path}: {message}"


@pytest.mark.parametrize("data, message", [
    ({"a": {"paragraphs": []}}, "'data' holds no article"),  # a dict, not a list of articles
    (["not an article"], "article 0 has no 'paragraphs' list"),
    ([{"paragraphs": {"context": "x"}}], "article 0 has no 'paragraphs' list"),
])
def test_squad_shapes_other_than_a_list_of_articles_are_refused(tmp_path, data, message):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"data": data}))
    with pytest.raises(InputError) as err:
        load_squad(str(path), "xx")
    assert str(err.value) == f"{path}: {message}"


def test_squad_paragraph_edge_cases(tmp_path):
    """A paragraph without questions or without context loads; an unanswered question does not stop the ones
    after it; with ignore_breaks the segmenter replaces LAReQA's breaks; without breaks or a segmenter, an error."""
    from mpcl_tevatron.xmrc.data.segmenter import segment

    para = {"context": "One two. Three four.", "sentence_breaks": [[0, 20]], "qas": [
        {"id": "none", "question": "Why?", "answers": []},
        {"id": "ok", "question": "Three?", "answers": [{"answer_start": 9, "text": "Three"}]}]}
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"data": [{"paragraphs": [para, {"sentence_breaks": []}, {"context": "",
                                                                                          "sentence_breaks": []}]}]}))
    m = load_squad(str(path), "xx")
    assert [q for q, _ in m.queries] == ["ok"] and m.problems == [("none", "no answer")]
    assert [c.text for c in m.candidates] == ["One two. Three four."] and m.qrels["ok"] == {"xx-0-0-0": 1}
    split = load_squad(str(path), "xx", segmenter=lambda t: segment(t, "en"), ignore_breaks=True)
    assert [c.text for c in split.candidates] == ["One two.", "Three four."] and split.qrels["ok"] == {"xx-0-0-1": 1}
    del para["sentence_breaks"]
    path.write_text(json.dumps({"data": [{"paragraphs": [para]}]}))
    with pytest.raises(InputError, match="paragraph 0/0 has no sentence_breaks and no segmenter was given"):
        load_squad(str(path), "xx")


def _tiny_xquad(tmp_path):
    """A 2-article XQuAD-R-shaped folder (en, de): article 0 trains, article 1 is evaluated. LAReQA's breaks
    keep each paragraph whole; the segmenter splits it in two."""
    d = tmp_path / "tiny"
    d.mkdir()
    texts = {"en": ["The old bridge stands in Lyon. Romans built it long ago.",
                    "The tall tower stands in Paris. Engineers built it quickly."],
             "de": ["Die alte Brücke steht in Lyon. Römer bauten sie vor langer Zeit.",
                    "Der hohe Turm steht in Paris. Ingenieure bauten ihn früh."]}
    for lang, contexts in texts.items():
        articles = []
        for a, context in enumerate(contexts):
            second = context.index(". ") + 2
            articles.append({"title": str(a), "paragraphs": [{
                "context": context, "sentence_breaks": [[0, len(context)]],
                "qas": [{"id": f"q{a}a", "question": "Where does it stand in the old city?",
                         "answers": [{"text": "x", "answer_start": 4}]},
                        {"id": f"q{a}b", "question": "Who built the famous old thing?",
                         "answers": [{"text": "x", "answer_start": second}]},
                        {"id": f"q{a}c", "question": "Unanswerable question here?", "answers": []}]}]})
        (d / f"{lang}.json").write_text(json.dumps({"data": articles}, ensure_ascii=False), encoding="utf-8")
    return d


def test_build_from_a_constructed_folder(tmp_path):
    """Candidates are sentences alone unless asked; --own_segmenter replaces LAReQA's breaks; each severity's
    settings reach its generator (r50 edits half the eligible words, w1 one); problems are listed by id."""
    data = _tiny_xquad(tmp_path)
    m = build(str(data), str(tmp_path / "lareqa"), langs=["de"], copies=1, severities=["w1", "r50"], progress=False)
    corpus = [json.loads(l)["text"] for l in open(tmp_path / "lareqa" / "de" / "corpus.jsonl", encoding="utf-8")]
    assert corpus == ["Der hohe Turm steht in Paris. Ingenieure bauten ihn früh."]  # the breaks' one sentence
    assert m["languages"]["de"]["problems"] == [{"id": "q0c", "reason": "no answer"},
                                                {"id": "q1c", "reason": "no answer"}]
    own = build(str(data), str(tmp_path / "own"), langs=["de"], copies=1, severities=["w1", "r50"], progress=False,
                own_segmenter=True)
    corpus = [json.loads(l)["text"] for l in open(tmp_path / "own" / "de" / "corpus.jsonl", encoding="utf-8")]
    assert corpus == ["Der hohe Turm steht in Paris.", "Ingenieure bauten ihn früh."]
    assert own["languages"]["de"]["candidates"] == 2
    queries = [json.loads(l)["query"] for l in open(tmp_path / "own" / "de" / "queries.jsonl", encoding="utf-8")]

    def edited(severity):
        path = tmp_path / "own" / "de" / "typos" / severity / "queries.typo0.jsonl"
        copies = [json.loads(l)["query"] for l in open(path, encoding="utf-8")]
        return [sum(a != b for a, b in zip(q.split(), c.split())) for q, c in zip(queries, copies)]
    assert edited("w1") == [1, 1] and edited("r50") == [3, 3]  # 6 eligible words each: one, and half
    train = [json.loads(l) for l in open(tmp_path / "own" / "train" / "train.jsonl")]
    assert [g["query_id"] for g in train] == ["q0a", "q0b"] and own["train"] == {"lang": "en", "groups": 2}
    raw = open(tmp_path / "own" / "de" / "corpus.jsonl", encoding="utf-8").read()
    assert "\\u00" not in raw and "früh" in raw  # UTF-8, not escapes
    # a user's SQuAD file in place of the English training articles: every answer sentence a positive
    source, _, _ = _multi_answer_squad(tmp_path)
    user = build(str(data), str(tmp_path / "user"), langs=["de"], copies=0, progress=False,
                 train_source=f"squad:{source}")
    assert user["train"] == {"source": f"squad:{source}", "groups": 3}
    groups = [json.loads(l) for l in open(tmp_path / "user" / "train" / "train.jsonl")]
    assert [len(g["positive_passages"]) for g in groups] == [2, 2, 1]
    for kwargs, message in (({"split": "nope"}, "split 'nope': use one of test, dev, all"),
                            ({"candidate_text": "nope"}, "candidate text 'nope': use one of sentence, "
                                                         "sentence+paragraph")):
        with pytest.raises(InputError) as err:
            build(str(data), str(tmp_path / "bad"), langs=["de"], copies=0, progress=False, **kwargs)
        assert str(err.value) == message


def test_answer_spans_touch_the_sentences_they_overlap_and_no_more(tmp_path):
    """Breaks [0, 4) [4, 8) [9, 13) of "One.Two. Six.": an answer ending where the next sentence starts, an answer
    starting on a sentence's end (the space), and an answer without text (one character) touch one sentence
    each beside the first answer's."""
    context = "One.Two. Six."
    qas = [{"id": "end", "question": "A?", "answers": [{"answer_start": 0, "text": "One."}]},
           {"id": "space", "question": "B?", "answers": [{"answer_start": 4, "text": "Two"},
                                                          {"answer_start": 8, "text": " "}]},
           {"id": "notext", "question": "C?", "answers": [{"answer_start": 3}]},
           {"id": "nullq", "question": None, "answers": [{"answer_start": 0, "text": "One"}]}]
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"data": [{"paragraphs": [{"context": context, "sentence_breaks": [[0, 4], [4, 8],
                                                                                                   [9, 13]],
                                                          "qas": qas}]}]}))
    m = load_squad(str(path), "xx")
    assert m.answer_sentences == {"end": ["xx-0-0-0"], "space": ["xx-0-0-1"], "notext": ["xx-0-0-0"]}
    assert m.problems == [("nullq", "empty question")]
    # a set made by hand, without answer_sentences, keeps its qrels positive
    hand = type(m)("xx", queries=m.queries, candidates=m.candidates, qrels=m.qrels, query_article=m.query_article)
    assert [g["positive_passages"][0]["docid"] for g in build_train_groups(hand, all_answer_sentences=True)] == \
        ["xx-0-0-0", "xx-0-0-1", "xx-0-0-0"]


def test_reading_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"^{tmp_path / 'none.json'}: no such file$"):
        load_squad(str(tmp_path / "none.json"), "xx")
    (tmp_path / "latin1.json").write_bytes('{"data": [{"paragraphs": [{"context": "caf\u00e9"}]}]}'.encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1.json: not UTF-8 text \(byte \d+: invalid"):
        load_squad(str(tmp_path / "latin1.json"), "xx")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(InputError, match=r"broken.json: not a SQuAD-format JSON file \(JSONDecodeError: "):
        load_squad(str(tmp_path / "broken.json"), "xx")
