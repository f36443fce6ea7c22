"""XMRC from XQuAD-R (shared data) and from malformed SQuAD files."""

from __future__ import annotations

import json
import os

import pytest

from mpcl_tevatron.io import InputError
from mpcl_tevatron.xmrc import build_train_groups, load_squad, split_articles
from mpcl_tevatron.xmrc.build import build

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
    from mpcl_tevatron.xmrc.build import parse_severity
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
    proc = run_module("mpcl_tevatron.xmrc.build", "--data_dir", data, "--out", tmp_path / "out", "--langs", "en",
                      check=False)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: {data / 'en.json'}: {message}")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()
