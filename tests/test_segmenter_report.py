"""The sentence segmenter (against LAReQA's breaks and by hand), severities, Holm/Bonferroni, and the report
written from a small set of runs."""

from __future__ import annotations

import json
import shutil
import math
import os
import pickle
import re

import numpy as np
import pytest

from mpcl_tevatron.io import InputError
from mpcl_tevatron.xmrc.data.build import parse_severity
from mpcl_tevatron.xmrc.analysis.report import write_report
from mpcl_tevatron.xmrc.analysis.statistics import corrected
from mpcl_tevatron.xmrc.data.tasks import Task
from mpcl_tevatron.xmrc.data.segmenter import agreement, segment

from .conftest import SHARED, needs_xquad, records_tables



def _sentences(text, lang=None):
    return [text[a:b] for a, b in segment(text, lang)]


def test_generic_rules_in_a_language_without_its_own():
    """French has no rules of its own here: initials, a lone capital and honorifics do not end sentences (in
    Spanish, whose measured LAReQA breaks split at initials, they do)."""
    text = "Le président John F. Kennedy visita Paris. M. Dupont et Mme. Curie étaient là. A. Lincoln aussi. Fin."
    assert _sentences(text, "fr") == ["Le président John F. Kennedy visita Paris.",
                                      "M. Dupont et Mme. Curie étaient là.", "A. Lincoln aussi.", "Fin."]
    assert "Le président John F." in _sentences(text, "es")
    cyrillic = "Писатель А. С. Пушкин родился в Москве. Он писал стихи."
    assert _sentences(cyrillic, "uk") == ["Писатель А. С. Пушкин родился в Москве.", "Он писал стихи."]


def test_segment_by_hand():
    assert _sentences("Dr. Smith met John F. Kennedy in the U.S. in 1960. They spoke! Did they?", "en") == [
        "Dr. Smith met John F. Kennedy in the U.S. in 1960.", "They spoke!", "Did they?"]
    assert _sentences("Am 3. Oktober kam er. Dann ging er.", "de") == ["Am 3. Oktober kam er.", "Dann ging er."]
    assert _sentences("The value is 3.5 here. «Next» one.", "en") == ["The value is 3.5 here.", "«Next» one."]
    # an opening bracket or quote is not part of the abbreviation after it
    assert _sentences("He (Dr. Smith) came. «Mr. Jones» did not.", "en") == [
        "He (Dr. Smith) came.", "«Mr. Jones» did not."]
    assert _sentences("他来了。她走了！好吗？", "zh") == ["他来了。", "她走了！", "好吗？"]
    assert _sentences("वह आया। वह गया।", "hi") == ["वह आया।", "वह गया।"]
    assert _sentences("Τι είναι; Είναι καλό.", "el") == ["Τι είναι;", "Είναι καλό."]
    assert _sentences("ما هذا؟ هذا كتاب.", "ar") == ["ما هذا؟", "هذا كتاب."]
    assert _sentences("ทีมชนะ 23–16  จากนั้นเขาก็ชนะ", "th") == ["ทีมชนะ 23–16", "จากนั้นเขาก็ชนะ"]
    assert _sentences("no end mark at all", "en") == ["no end mark at all"]


def test_segment_language_rules_by_hand():
    """The per-language rules that LAReQA's breaks follow in German, Turkish and Spanish."""
    assert _sentences("Es heißt Krieg. „Sieben Jahre“ dauerte er. Die Route 99. Sie ist lang. Am 3. Mai "
                      "im [21.] Jahrhundert.", "de") == [
        "Es heißt Krieg.", "„Sieben Jahre“ dauerte er.", "Die Route 99.", "Sie ist lang.",
        "Am 3. Mai im [21.] Jahrhundert."]
    # an ordinal has up to three digits; a year (four) ends its sentence
    assert _sentences("Zum 100. Geburtstag kam er. Es war 1990. Danach ging er.", "de") == [
        "Zum 100. Geburtstag kam er.", "Es war 1990.", "Danach ging er."]
    assert _sentences("Köye indi. 12 Mayıs 1705'te geldi. 1785'te öldü. 1973 yılında döndü. 18. yüzyılda "
                      "bitti. 35.064 hane vardır.", "tr") == [
        "Köye indi.", "12 Mayıs 1705'te geldi. 1785'te öldü. 1973 yılında döndü.", "18. yüzyılda bitti.",
        "35.064 hane vardır."]
    assert _sentences("Es la Y. pestis. Y. p. orientalis existe. Lo dijo etc. es así. Fue en el siglo II d.C. "
                      "Este honor. Lo vio el Dr. Constantine.", "es") == [
        "Es la Y.", "pestis.", "Y.", "p. orientalis existe.", "Lo dijo etc.", "es así.", "Fue en el siglo II d.C.",
        "Este honor.", "Lo vio el Dr. Constantine."]


# Measured on XQuAD-R (all 240 paragraphs of each language); the issue asks >= 95% for Latin, Greek and
# Cyrillic scripts (en, de, es, tr, vi, el, ru), and these floors hold every language at that or at its measure.
FLOORS = {"en": 0.95, "el": 0.95, "ru": 0.95, "vi": 0.95, "de": 0.95, "tr": 0.95, "es": 0.95, "ar": 0.95,
          "hi": 0.95, "zh": 0.73}


@needs_xquad
@pytest.mark.parametrize("lang", sorted(FLOORS))
def test_segmenter_agrees_with_lareqa(lang):
    with open(os.path.join(SHARED, f"{lang}.json"), encoding="utf-8") as f:
        paragraphs = [p for a in json.load(f)["data"] for p in a["paragraphs"]]
    same, total = agreement(paragraphs, lang)
    assert total == 240 and same / total >= FLOORS[lang]


def test_agreement_counts_only_paragraphs_with_sentence_breaks():
    """A paragraph without LAReQA's breaks is skipped (not the end of the count); one whose breaks the segmenter
    reproduces counts as the same, one it splits differently does not."""
    paragraphs = [{"context": "No breaks here. None."},
                  {"context": "One. Two.", "sentence_breaks": [[0, 4], [5, 9]]},
                  {"context": "One. Two.", "sentence_breaks": [[0, 9]]}]
    assert agreement(paragraphs, "en") == (1, 2)


def test_severities():
    assert parse_severity("w1") == {"n_words": 1, "rate": None}
    assert parse_severity("r20") == {"n_words": 1, "rate": 0.2}
    assert parse_severity("r1")["rate"] == 0.01 and parse_severity("r100")["rate"] == 1.0  # both ends allowed
    for bad in ("w0", "r0", "r101", "x5", "w"):
        with pytest.raises(InputError, match="severity"):
            parse_severity(bad)


def test_holm_and_bonferroni_by_hand():
    p = [0.01, 0.04, 0.03, 0.005]
    # Holm: sorted 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> running max 0.06
    assert corrected(p, "holm").tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert corrected(p, "bonferroni").tolist() == pytest.approx([0.04, 0.16, 0.12, 0.02])
    # corrected p-values are capped at 1; one comparison is its own correction; none gives none
    assert corrected([0.5, 0.9], "bonferroni").tolist() == [1.0, 1.0]
    assert corrected([0.6, 0.9, 0.1], "holm").tolist() == pytest.approx([1.0, 1.0, 0.3])
    assert corrected([0.03], "holm").tolist() == corrected([0.03], "bonferroni").tolist() == [0.03]
    assert corrected([], "holm").tolist() == []
    with pytest.raises(ValueError, match="unknown correction"):
        corrected(p, "sidak")


def test_randomization_test_matches_exact_enumeration_and_repeats():
    """Fisher's paired randomisation test against its exact p-value (all 2^n sign flips of the differences), on
    pairs of two lengths; the same seed gives the same p-values; identical systems get p = 1."""
    from itertools import product

    from mpcl_tevatron.xmrc.analysis.statistics import randomization_p_values

    rng = np.random.default_rng(3)
    pairs = []
    for n, shift in ((12, 0.0), (12, 0.1), (12, 0.6), (9, 0.2)):
        control = rng.random(n)
        pairs.append((control, control + shift + rng.normal(0, 0.3, n)))
    pairs.append((pairs[0][0], pairs[0][0].copy()))
    ours = randomization_p_values(pairs, n_permutations=20000, seed=0)
    assert ours.tolist() == randomization_p_values(pairs, n_permutations=20000, seed=0).tolist()
    for (control, treatment), p in zip(pairs, ours):
        d = treatment - control
        exact = np.mean([abs(np.dot(s, d)) / len(d) >= abs(d.mean()) - 1e-12
                         for s in product((-1, 1), repeat=len(d))])
        assert p == pytest.approx(exact, abs=0.015)  # Monte Carlo error at 20,000 permutations: <= 0.0035
    assert ours[-1] == 1.0 and ours[2] < 0.05 < ours[0]


def test_randomization_counts_permutations_that_tie_the_observed_difference():
    """Equal differences [1, 1, 1]: only the all-plus and all-minus flips reach the observed mean, so the exact
    p-value is 2/8 = 0.25; ties count as reached (>=), else p would collapse to 1 / (permutations + 1)."""
    from mpcl_tevatron.xmrc.analysis.statistics import randomization_p_values

    (p,) = randomization_p_values([(np.zeros(3), np.ones(3))], n_permutations=20000)
    assert p == pytest.approx(0.25, abs=0.01)


def test_randomization_p_value_is_never_zero():
    """A difference no permutation reaches still has p = 1 / (permutations + 1): the observed assignment counts."""
    from mpcl_tevatron.xmrc.analysis.statistics import randomization_p_values

    control = np.zeros(40)
    (p,) = randomization_p_values([(control, control + 1.0)], n_permutations=999)
    assert p == pytest.approx(1 / 1000)


def _write_runs(tmp_path, rank_of_answer, run, n=60, noise_seed=0, langs=None):
    """``runs/<run>.pkl`` over tasks en->en and en->pool: question i's answer at rank ``rank_of_answer(i)`` on
    clean queries, one lower on the typo'd copy w1.0 and two lower on w1.1. Returns the tasks."""
    rng = np.random.default_rng(noise_seed)
    qids = [f"q{i}" for i in range(n)]
    for sub in ("en", "pool", *(langs or ())):
        (tmp_path / "data" / sub).mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / sub / "qrels.txt").write_text("".join(f"{q} 0 d{i} 1\n" for i, q in enumerate(qids)))
    if not (tmp_path / "settings.json").exists():
        (tmp_path / "settings.json").write_text(json.dumps({"seed": 1}))
    tasks = [Task("en", "en", ("en",), str(tmp_path / "data" / "en" / "qrels.txt")),
             Task("en", "pool", ("en",), str(tmp_path / "data" / "pool" / "qrels.txt"))]
    if langs:  # every XMRC task over these languages, pivot en (the same synthetic ranking in each)
        from mpcl_tevatron.xmrc.data.tasks import xmrc_tasks
        tasks = xmrc_tasks(str(tmp_path / "data"), list(langs), "en")
    (tmp_path / "runs").mkdir(exist_ok=True)
    runs = {}
    for task in (t.name for t in tasks):
        sets, ids, docs, scores = [], [], [], []
        for name in ("clean", "w1.0", "w1.1"):
            for i, q in enumerate(qids):
                r = rank_of_answer(i) + {"clean": 0, "w1.0": 1, "w1.1": 2}[name]
                ranked = [n + j for j in range(10)]  # candidate codes: d0..d59, then x0..x9
                ranked.insert(r - 1, i)
                sets.append(name), ids.append(q), docs.append(ranked[:10])
                scores.append(list(np.linspace(1, 0, 10) + rng.normal(0, 1e-6)))
        runs[task] = {"set": sets, "qid": ids, "doc_ids": [f"d{i}" for i in range(n)] +
                      [f"x{j}" for j in range(10)], "ranks": np.array(docs, dtype=np.int32),
                      "scores": np.array(scores)}
    with open(tmp_path / "runs" / f"{run}.pkl", "wb") as f:
        pickle.dump(runs, f)
    return tasks


def test_a_difference_that_one_seed_carries_alone_is_not_marked(tmp_path):
    """Three seeds per objective. In seed 0, mp_infonce ranks every answer first and infonce does not: on that
    seed alone the tests mark ▲. In seeds 1 and 2 mp_infonce is slightly worse than infonce. Averaged over seeds,
    mp_infonce is still ahead and the tests reject, but the sign does not hold in every seed: no mark. The
    bootstrap interval over seeds and questions reaches below 0."""
    base = lambda i: 1 + i % 4  # noqa: E731
    worse = lambda i: 1 + i % 4 + (i % 3 == 0)  # noqa: E731
    for k in range(3):
        tasks = _write_runs(tmp_path, base, f"infonce.seed{k}")
        _write_runs(tmp_path, (lambda i: 1) if k == 0 else worse, f"mp_infonce.seed{k}")
    rows = ["infonce", "mp_infonce"]
    one = write_report(str(tmp_path), rows, tasks, ["w1"], seeds={r: [f"{r}.seed0"] for r in rows})
    assert one["significance"]["mp_infonce | en->en | clean | mrr@10"]["mark"] == "▲"  # one seed alone marks
    three = write_report(str(tmp_path), rows, tasks, ["w1"], seeds={r: [f"{r}.seed{k}" for k in range(3)]
                                                                    for r in rows})
    sig = three["significance"]["mp_infonce | en->en | clean | mrr@10"]
    assert sig["p_student"] < 0.05 and sig["p_fisher"] < 0.05  # the question-level tests alone would mark it
    assert sig["mark"] == ""
    assert three["figures"]["mp_infonce"]["en->en"]["clean"]["mrr@10"] > \
        three["figures"]["infonce"]["en->en"]["clean"]["mrr@10"]
    low, high = (three["intervals_vs_reference"]["mp_infonce | en->en | clean | mrr@10"][k] for k in ("low", "high"))
    assert low < 0 < high
    assert three["seed_sd"]["mp_infonce"]["en->en"]["clean"]["mrr@10"] > 0.1
    mean = three["mean_differences"]["mp_infonce"]["X->X MRR@10 | clean"]  # one language: the same as en->en
    assert mean["diff"] == pytest.approx(three["figures"]["mp_infonce"]["en->en"]["clean"]["mrr@10"]
                                         - three["figures"]["infonce"]["en->en"]["clean"]["mrr@10"])
    assert mean["low"] < 0 < mean["high"]
    md = open(tmp_path / "report.md").read()
    assert "Runs per row: infonce 3, mp_infonce 3" in md and "±" in md
    assert (tmp_path / "report_diff.png").stat().st_size > 1000


def test_a_lower_row_is_marked_down_only_when_lower_in_every_seed(tmp_path):
    """The mirror of the test above. `dst` ranks every answer one lower than infonce in all three seeds: ▼.
    `dst_mp` does so in seeds 1 and 2 but ranks like infonce in seed 0: lower on average, the question-level
    tests reject, but the sign fails in one seed, so no mark; against its twin `dst` it is higher in seed 0 only,
    and is not marked either. `typo_cl` differs little: its p-values are mid-range, identical on a second build
    (the randomisation test is seeded), and Bonferroni's are larger than Holm's."""
    base = lambda i: 1 + i % 4  # noqa: E731
    lower = lambda i: 2 + i % 4  # noqa: E731
    noisy = lambda i: 1 + i % 4 + (i % 7 == 0) - (i % 4 > 0 and i % 11 == 0)  # noqa: E731
    for k in range(3):
        tasks = _write_runs(tmp_path, base, f"infonce.seed{k}")
        _write_runs(tmp_path, lower, f"dst.seed{k}")
        _write_runs(tmp_path, base if k == 0 else lower, f"dst_mp.seed{k}")
        _write_runs(tmp_path, noisy, f"typo_cl.seed{k}")
    rows = ["infonce", "dst", "dst_mp", "typo_cl"]
    seeds = {r: [f"{r}.seed{k}" for k in range(3)] for r in rows}
    data = write_report(str(tmp_path), rows, tasks, ["w1"], seeds=seeds)
    key = " | en->en | clean | mrr@10"
    assert data["significance"]["dst" + key]["mark"] == "▼"
    sig = data["significance"]["dst_mp" + key]
    assert sig["p_student"] < 0.05 and sig["p_fisher"] < 0.05 and sig["mark"] == ""
    figure = {row: data["figures"][row]["en->en"]["clean"]["mrr@10"] for row in rows}
    assert figure["dst"] < figure["dst_mp"] < figure["infonce"]
    twin = data["twins"]["dst_mp" + key]
    assert twin["one_positive"] == "dst" and twin["p_student"] < 0.05 and twin["p_fisher"] < 0.05
    assert twin["mark"] == ""
    noisy_p = data["significance"]["typo_cl" + key]
    assert 0.05 < noisy_p["p_fisher"] < 1 and 0.05 < noisy_p["p_student"] < 1
    assert data["n_runs"] == 4 * 3 * 2 * 2  # figures: runs x tasks (en->en, en->pool) x conditions
    again = write_report(str(tmp_path), rows, tasks, ["w1"], seeds=seeds)
    assert again["significance"] == data["significance"]
    bonferroni = write_report(str(tmp_path), rows, tasks, ["w1"], seeds=seeds, correction="bonferroni")
    for test in ("p_student", "p_fisher"):
        pairs = [(bonferroni["significance"][k][test], v[test]) for k, v in data["significance"].items()]
        assert all(b >= h for b, h in pairs) and any(b > h for b, h in pairs), test


def test_one_axis_interval_is_the_t_interval_of_a_mean():
    """One seed, one copy: the interval is mean -/+ t(0.975, n - 1) s / sqrt(n), by hand."""
    from scipy.stats import t

    from mpcl_tevatron.xmrc.analysis.statistics import difference_interval, difference_p_value

    rng = np.random.default_rng(0)
    d = rng.normal(0.1, 1.0, size=400)
    half = t.ppf(0.975, 399) * d.std(ddof=1) / np.sqrt(400)
    lo, hi = difference_interval(d[None, None, :], np.zeros((1, 1, 400)))
    assert lo == pytest.approx(d.mean() - half) and hi == pytest.approx(d.mean() + half)
    lo, hi = difference_interval(d[None, None, :], np.zeros((1, 1, 400)), level=0.8)
    assert hi - d.mean() == pytest.approx(t.ppf(0.9, 399) * d.std(ddof=1) / np.sqrt(400))
    stat = d.mean() / (d.std(ddof=1) / np.sqrt(400))
    assert difference_p_value(d[None, None, :], np.zeros((1, 1, 400))) == pytest.approx(2 * t.sf(abs(stat), 399))


def test_crossed_variance_is_the_anova_estimate_by_hand():
    """Seeds x questions: Var(mean) = (MS_seeds + MS_questions - MS_residual) / N, df by Satterthwaite;
    three axes add the copies' terms with alternating signs; an axis of size 1 drops out."""
    from mpcl_tevatron.xmrc.analysis.statistics import crossed_variance

    rng = np.random.default_rng(1)
    S, Q = 4, 30
    d = rng.normal(size=(S, 1)) * 0.5 + rng.normal(size=(1, Q)) + rng.normal(size=(S, Q)) * 0.3
    m, rows, cols = d.mean(), d.mean(axis=1, keepdims=True), d.mean(axis=0, keepdims=True)
    ms_s = Q * ((rows - m) ** 2).sum() / (S - 1)
    ms_q = S * ((cols - m) ** 2).sum() / (Q - 1)
    ms_e = ((d - rows - cols + m) ** 2).sum() / ((S - 1) * (Q - 1))
    parts = [(ms_s / (S * Q), S - 1), (ms_q / (S * Q), Q - 1), (-ms_e / (S * Q), (S - 1) * (Q - 1))]
    var = sum(v for v, _ in parts)
    variance, df = crossed_variance(d[:, None, :])
    assert variance == pytest.approx(var)
    assert df == pytest.approx(var ** 2 / sum(v ** 2 / k for v, k in parts))
    assert crossed_variance(d) == pytest.approx(crossed_variance(d[:, None, :]))
    # no seed effect: the seeds' share, (MS_seeds - MS_residual) / N, comes out negative and is dropped, leaving
    # MS_questions / N (the questions' share plus the residual's)
    g = np.random.default_rng(0)
    d = g.normal(size=(1, Q)) + g.normal(size=(S, Q)) * 0.3
    m, rows, cols = d.mean(), d.mean(axis=1, keepdims=True), d.mean(axis=0, keepdims=True)
    ms_s = Q * ((rows - m) ** 2).sum() / (S - 1)
    ms_q = S * ((cols - m) ** 2).sum() / (Q - 1)
    ms_e = ((d - rows - cols + m) ** 2).sum() / ((S - 1) * (Q - 1))
    assert ms_s < ms_e
    assert crossed_variance(d) == pytest.approx((ms_q / (S * Q), Q - 1))
    # three axes: seeds x copies x questions; the estimate is unbiased for the variance of the mean
    truth, estimates = [], []
    for k in range(300):
        g = np.random.default_rng(k)
        x = (g.normal(0, 0.3, (5, 1, 1)) + g.normal(0, 0.2, (1, 3, 1)) + g.normal(0, 1, (1, 1, 40))
             + g.normal(0, 0.5, (5, 1, 40)) + g.normal(0, 0.4, (1, 3, 40)) + g.normal(0, 0.6, (5, 3, 40)))
        truth.append(x.mean())
        estimates.append(crossed_variance(x)[0])
    expected = 0.09 / 5 + 0.04 / 3 + 1 / 40 + 0.25 / 200 + 0.16 / 120 + 0.36 / 600
    assert np.mean(estimates) == pytest.approx(expected, rel=0.1)
    assert np.var(truth) == pytest.approx(expected, rel=0.2)


def test_difference_interval_pairs_seeds_broadcasts_a_zero_shot_row_and_adds_unpaired_seed_shares():
    from scipy.stats import t

    from mpcl_tevatron.xmrc.analysis.statistics import crossed_variance, difference_interval

    rng = np.random.default_rng(2)
    a, b = rng.normal(0.5, 0.2, (3, 2, 50)), rng.normal(0.4, 0.2, (3, 2, 50))
    assert difference_interval(a, b) == pytest.approx(difference_interval(a - b, np.zeros((3, 2, 50))))
    zero_shot = rng.normal(0.3, 0.2, (1, 2, 50))
    assert difference_interval(a, zero_shot) == pytest.approx(difference_interval(a - zero_shot, np.zeros((1, 2, 50))))
    # seeds that disagree widen the interval past 0 although every seed's questions are tight
    lo, hi = difference_interval(np.array([[[0.2] * 500], [[-0.05] * 500], [[-0.04] * 500]]), np.zeros((3, 1, 500)))
    assert lo < 0 < hi
    # 4 seeds against 2: each row's seed share plus the crossed variance of the seed-averaged difference
    c = rng.normal(0.4, 0.2, (2, 2, 50))
    d4 = np.concatenate([a, rng.normal(0.5, 0.2, (1, 2, 50))])
    parts = [(d4.reshape(4, -1).mean(axis=1).var(ddof=1) / 4, 3), (c.reshape(2, -1).mean(axis=1).var(ddof=1) / 2, 1),
             crossed_variance(d4.mean(axis=0) - c.mean(axis=0))]
    var = sum(v for v, _ in parts)
    df = var ** 2 / sum(v ** 2 / k for v, k in parts)
    half = t.ppf(0.975, df) * np.sqrt(var)
    assert difference_interval(d4, c) == pytest.approx((d4.mean() - c.mean() - half, d4.mean() - c.mean() + half))


def test_typo_gap_is_the_relative_drop():
    from mpcl_tevatron.xmrc.analysis.results import typo_gap

    assert typo_gap(0.8, 0.6) == pytest.approx(0.25) and typo_gap(0.5, 0.55) == pytest.approx(-0.1)
    assert np.isnan(typo_gap(0.0, 0.0))


@pytest.fixture
def saved_figures(monkeypatch):
    """{file name: matplotlib Figure} of every plot saved while the test runs (the files are still written)."""
    import matplotlib.figure

    figures, savefig = {}, matplotlib.figure.Figure.savefig

    def save(fig, path, **kwargs):
        figures[os.path.basename(path)] = fig
        savefig(fig, path, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", save)
    return figures


def test_typo_gap_of_one_language_and_of_the_mean_over_languages(tmp_path, saved_figures):
    """Results.typo_gap(row, condition, lang) reads that language's X->X figures; without a language, the means
    over languages (the gap of the means, not the mean of the gaps). The report's robustness tables show both;
    its gap plot, each language's."""
    from mpcl_tevatron.xmrc.analysis.report import _robustness_markdown, plot_gap
    from mpcl_tevatron.xmrc.analysis.results import Results

    def fig(clean, typo):
        return {"clean": {"mrr@10": np.array([clean])}, "w1": {"mrr@10": np.array([typo])}}

    r = Results(rows=["a"], seeds={"a": ["a"]}, tasks=[Task("en", "en", ("en",), ""), Task("de", "de", ("de",), "")],
                severities=["w1"], reference="a", correction="holm", settings={}, per_seed={},
                scores={"a": {"en->en": fig(1.0, 0.5), "de->de": fig(0.6, 0.6)}}, marks={}, twin_marks={}, n_runs=2)
    assert r.typo_gap("a", "w1", "en") == pytest.approx(0.5) and r.typo_gap("a", "w1", "de") == pytest.approx(0.0)
    assert r.typo_gap("a", "w1") == pytest.approx(1 - 0.55 / 0.8)
    plot_gap(str(tmp_path), r)
    assert [p.get_height() for p in saved_figures["report_gap.png"].axes[0].containers[0]] == \
        pytest.approx([50.0, 0.0])
    md = "\n".join(_robustness_markdown(r))  # the curve: means over languages; then the gap per language
    assert "| row | clean | w1 | gap w1 |\n|---|---|---|---|\n| a | 0.800 | 0.550 | 31.2% |" in md
    assert "| row | en | de |\n|---|---|---|\n| a | 50.0% | 0.0% |" in md


def test_mean_over_languages_weighs_languages_equally_and_a_question_id_is_one_unit():
    """MLQA-R: a language holds a subset of the questions (en q0 q1 q2, de q1 q2). The difference is the mean
    over languages of each language's mean difference, by hand; its interval treats a question id as one unit
    (its languages' contributions summed, each weighted by 1 / (languages x that language's questions))."""
    from mpcl_tevatron.xmrc.analysis.results import Results
    from mpcl_tevatron.xmrc.analysis.statistics import difference_interval

    rng = np.random.default_rng(3)
    arrays = {row: {"en->en": rng.random((2, 1, 3)), "de->de": rng.random((2, 1, 2))} for row in ("infonce", "b")}
    per_seed = {row: {t: {c: {"mrr@10": a, "map@20": a} for c in ("clean",)} for t, a in tasks.items()}
                for row, tasks in arrays.items()}
    r = Results(rows=["infonce", "b"], seeds={}, tasks=[Task("en", "en", ("en",), ""), Task("de", "de", ("de",), "")],
                severities=[], reference="infonce", correction="holm", settings={}, per_seed=per_seed, scores={},
                marks={}, twin_marks={}, n_runs=0, questions={"en->en": ["q0", "q1", "q2"], "de->de": ["q1", "q2"]})
    got = r.mean_differences()["b"]["X->X MRR@10 | clean"]
    by_language = [arrays["b"][t].mean() - arrays["infonce"][t].mean() for t in ("en->en", "de->de")]
    assert got["diff"] == pytest.approx(np.mean(by_language))

    def units(row):
        en, de = arrays[row]["en->en"], arrays[row]["de->de"]
        return np.concatenate([en[:, :, :1] * 3 / (2 * 3), en[:, :, 1:] * 3 / (2 * 3) + de * 3 / (2 * 2)], axis=2)

    assert (got["low"], got["high"]) == pytest.approx(difference_interval(units("b"), units("infonce")))


def test_report_from_runs(tmp_path):
    """Three rows over one language: the better row gets ▲ on clean queries; figures match a hand count, the
    typo'd figure being the mean over two copies that differ."""
    n = 60
    first_hit = {}
    for row, rank_of_answer in (("infonce", lambda i: 1 + i % 4), ("mp_infonce", lambda i: 1),
                                ("dual_infonce", lambda i: 1 + i % 4)):
        tasks = _write_runs(tmp_path, rank_of_answer, row, n=n)
        first_hit[row] = np.mean([1 / rank_of_answer(i) for i in range(n)])
    data = write_report(str(tmp_path), ["infonce", "mp_infonce", "dual_infonce"], tasks, ["w1"],
                        reference="infonce")
    fig = data["figures"]
    assert fig["mp_infonce"]["en->en"]["clean"]["mrr@10"] == pytest.approx(1.0)
    assert fig["infonce"]["en->en"]["clean"]["mrr@10"] == pytest.approx(first_hit["infonce"])
    # copy w1.0 puts the answer at rank 2, copy w1.1 at rank 3: the mean of 1/2 and 1/3, not copy 0's 1/2
    assert fig["mp_infonce"]["en->en"]["w1"]["mrr@10"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    sig = data["significance"]["mp_infonce | en->en | clean | mrr@10"]
    assert sig["mark"] == "▲" and sig["p_student"] < 0.05 and sig["p_fisher"] < 0.05
    assert data["significance"]["dual_infonce | en->en | clean | mrr@10"]["mark"] == ""  # the same ranking
    twin = data["twins"]["mp_infonce | en->en | clean | mrr@10"]  # mp_infonce against its one-positive twin
    assert twin["one_positive"] == "dual_infonce" and twin["mark"] == "▲"
    mean = data["mean_differences"]["mp_infonce"]["X->X MRR@10 | clean"]
    assert mean["diff"] == pytest.approx(1.0 - first_hit["infonce"]) and 0 < mean["low"] < mean["high"]
    md = open(tmp_path / "report.md").read()
    assert "1.000▲" in md and "Holm" in md
    diff = 1.0 - first_hit["infonce"]
    assert data["seed_sd"]["mp_infonce"]["en->en"]["clean"]["mrr@10"] == 0.0  # one seed: no spread, not nan
    twin_mean = data["twin_mean_differences"]["mp_infonce"]["X->X MRR@10 | clean"]  # dual_infonce ranks as infonce
    assert twin_mean["diff"] == pytest.approx(diff) and 0 < twin_mean["low"] < diff < twin_mean["high"]
    low, high = twin_mean["low"], twin_mean["high"]
    assert f"| mp_infonce vs dual_infonce | {diff:+.4f} [{low:+.4f}, {high:+.4f}] ▲1 ▼0 |" in md
    assert (tmp_path / "report.tex").exists() and (tmp_path / "report_xx.png").stat().st_size > 1000
    assert (tmp_path / "report_gap.png").exists()


def test_pivot_tables_leave_the_pivot_out_and_average_the_others(tmp_path):
    """X->en and en->X: one column pair per language other than en, and their mean over those languages only
    (en->en is X->X's; it once leaked into these means)."""
    langs = ("en", "de", "zh")
    for row, rank_of_answer in (("infonce", lambda i: 1 + i % 4), ("mp_infonce", lambda i: 1 + i % 2)):
        tasks = _write_runs(tmp_path, rank_of_answer, row, langs=langs)
    data = write_report(str(tmp_path), ["infonce", "mp_infonce"], tasks, ["w1"])
    md = (tmp_path / "report.md").read_text()
    fig = data["figures"]["mp_infonce"]
    for title, names in (("X->en MRR@10 (X != en)", ["de->en", "zh->en"]),
                         ("en->X MRR@10 (X != en)", ["en->de", "en->zh"])):
        section = md.split(f"## {title}\n")[1].split("## ")[0]
        header, _, infonce, mp = [line for line in section.splitlines() if line.startswith("|")]
        assert header == "| row | de clean | de typo w1 | zh clean | zh typo w1 | mean clean | mean typo w1 |"
        cells = [c.strip() for c in mp.strip("|").split("|")]
        assert cells[0] == "mp_infonce" and len(cells) == 7
        assert cells[1].rstrip("▲▼") == f"{fig[names[0]]['clean']['mrr@10']:.3f}"
        assert cells[5] == f"{np.mean([fig[t]['clean']['mrr@10'] for t in names]):.3f}"
        assert cells[6] == f"{np.mean([fig[t]['w1']['mrr@10'] for t in names]):.3f}"
    main = md.split("## X->X MRR@10, clean and typo'd (main table)\n")[1].split("## ")[0]
    assert "| row | en clean | en typo w1 | de clean | de typo w1 | zh clean | zh typo w1 |" in main
    assert "## X->pool mAP@20" in md


GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _three_language_runs(tmp_path):
    """The runs of a fixed synthetic XMRC run: 3 languages (pivot en), 3 rows with a multi-positive twin, 2
    seeds. Returns (languages, {row: rank of question i's answer in seed k}, tasks, {row: its runs})."""
    langs = ("en", "de", "zh")
    ranks = {"infonce": lambda i, k: 1 + i % 4, "mp_infonce": lambda i, k: 1 + (i + k) % 2 + k * (i % 7 == 0),
             "dual_infonce": lambda i, k: 1 + (i * (k + 1)) % 3}
    for k in range(2):
        for row, rank_of_answer in ranks.items():
            tasks = _write_runs(tmp_path, lambda i: rank_of_answer(i, k), f"{row}.seed{k}", noise_seed=k, langs=langs)
    return langs, ranks, tasks, {row: [f"{row}.seed{k}" for k in range(2)] for row in ranks}


def test_report_renders_exactly_as_recorded(tmp_path):
    """report.md and report.tex of a fixed synthetic run (3 languages, pivot en, 3 rows with a multi-positive
    twin, 2 seeds, one typo'd severity) are byte for byte the recorded ones, and report.json holds what
    write_report returns. The figures themselves are checked against independent computations elsewhere; this
    pins the format (headers, marks, sds, intervals, the LaTeX escapes). After an intended change of format:
    UPDATE_GOLDEN=1 pytest -k renders_exactly, then read the diff of tests/golden/."""
    langs, ranks, tasks, seeds = _three_language_runs(tmp_path)
    data = write_report(str(tmp_path), list(ranks), tasks, ["w1"], seeds=seeds)
    text = (tmp_path / "report.json").read_text(encoding="utf-8")
    assert json.loads(text) == json.loads(json.dumps(data))
    assert text.startswith('{\n "settings": {\n  "seed": 1\n },\n "reference": "infonce",')  # indent 1
    assert '"mark": "▲"' in text  # marks written as themselves, not as \u escapes
    assert list(data) == ["settings", "reference", "correction", "alpha", "metrics", "rows", "seeds", "figures",
                          "seed_sd", "significance", "twins", "intervals_vs_reference", "mean_differences",
                          "twin_mean_differences", "n_runs", "primary"]
    assert (data["settings"], data["reference"], data["correction"], data["alpha"], data["metrics"], data["rows"]) \
        == ({"seed": 1}, "infonce", "holm", 0.05, ["mrr@10", "ndcg@10", "recall@100", "map@20", "map@100"], list(ranks))
    assert data["seeds"] == {row: [f"{row}.seed0", f"{row}.seed1"] for row in ranks}
    # the twin's difference is taken against its twin, not the reference: the mean of the language figures' gaps
    fig = data["figures"]
    for family, task, metric in (("X->X MRR@10", "{0}->{0}", "mrr@10"), ("X->pool mAP@20", "{0}->pool", "map@20")):
        twin = data["twin_mean_differences"]["mp_infonce"][f"{family} | w1"]
        gaps = [fig["mp_infonce"][task.format(x)]["w1"][metric] - fig["dual_infonce"][task.format(x)]["w1"][metric]
                for x in langs]
        assert twin["diff"] == pytest.approx(np.mean(gaps)) and twin["low"] < twin["diff"] < twin["high"]
        assert twin["diff"] != pytest.approx(data["mean_differences"]["mp_infonce"][f"{family} | w1"]["diff"])
    for name in ("report.md", "report.tex"):
        got = (tmp_path / name).read_text(encoding="utf-8")
        path = os.path.join(GOLDEN, name)
        if os.environ.get("UPDATE_GOLDEN"):
            os.makedirs(GOLDEN, exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(got)
        with open(path, encoding="utf-8") as f:
            assert got == f.read(), name


def test_pool_summary_gives_each_row_its_column_and_its_languages(tmp_path):
    """LAReQA's comparison with several rows: a column a row in the order given, each cell the row's mean over
    languages of X->pool on clean queries (mAP@20 by hand: the synthetic run has one relevant candidate, so
    AP@20 = 1 / rank within 20) with its interval around it; the published figures in the first line only; a
    per-language mAP@20 line a row; an unknown row refused in one line."""
    from mpcl_tevatron.xmrc.analysis.report import pool_summary
    from mpcl_tevatron.xmrc.analysis.results import Results

    langs, ranks, tasks, seeds = _three_language_runs(tmp_path)
    r = Results.build(str(tmp_path), list(ranks), tasks, ["w1"], seeds=seeds)
    text = pool_summary(r, "Toy", rows=("mp_infonce", "infonce"), published="X-Y 0.66")
    lines = text.splitlines()
    assert lines[0] == ("| Toy X->pool, clean, mean over 3 languages [95% interval] | mp_infonce | infonce | "
                        "published (mAP) |")
    by_hand = {row: np.mean([1 / ranks[row](i, k) for i in range(60) for k in range(2)]) for row in ranks}
    map_line = lines[2].split(" | ")
    assert map_line[0] == "| mAP@20 (LAReQA's measure, XTREME's depth)" and map_line[3] == "X-Y 0.66 |"
    for cell, row in zip(map_line[1:3], ("mp_infonce", "infonce")):
        mean, low, high = (float(x) for x in cell.replace("[", "").replace("]", "").replace(",", "").split())
        assert mean == pytest.approx(by_hand[row], abs=5e-4) and low <= mean <= high and low < high
    assert all(line.endswith(" |  |") for line in lines[3:5])
    per_language = [line for line in lines if line.startswith("| mp_infonce |") or line.startswith("| infonce |")]
    assert [line.split(" | ")[0] for line in per_language] == ["| mp_infonce", "| infonce"]
    assert per_language[1] == "| infonce | " + " | ".join([f"{by_hand['infonce']:.3f}"] * 3) + " |"
    with pytest.raises(InputError, match="no row typo_cl in this run"):
        pool_summary(r, "Toy", rows=("typo_cl",))


def test_readme_answer_sets_each_benchmarks_primary_comparison_and_lareqas_measure_side_by_side(tmp_path):
    """README's answer tables: a line per measure and condition of the primary comparison with each benchmark's
    figure, interval and Holm p in its column (the same figures as the report's primary table); LAReQA's measure
    of the rows by hand (one relevant candidate: AP@20 = 1 / rank) with intervals around them; the
    published baselines named per benchmark; a run without the primary comparison refused in one line."""
    from mpcl_tevatron.xmrc.analysis.report import LAREQA_PUBLISHED, readme_answer
    from mpcl_tevatron.xmrc.analysis.results import Results

    langs, ranks, tasks, seeds = _three_language_runs(tmp_path)
    r = Results.build(str(tmp_path), list(ranks), tasks, ["w1"], seeds=seeds)
    lines = readme_answer({"XQuAD-R": r, "MLQA-R": r}).splitlines()
    assert lines[0] == "mp_infonce minus infonce: mean over languages, 95% interval, Holm-corrected p"
    assert lines[1].split() == ["XQuAD-R", "(2", "v", "2", "seeds)", "MLQA-R", "(2", "v", "2", "seeds)"]
    assert len(r.primary) == 4  # two measures, clean and w1
    for e, line in zip(r.primary, lines[2:6]):
        cell = f"{e['diff']:+.4f} [{e['low']:+.4f}, {e['high']:+.4f}] p {e['p_holm']:.3g}"
        assert line.startswith(f"{e['measure']} {e['condition']}") and line.count(cell) == 2, line
    assert lines[6] == "" and lines[7].startswith("X->pool mAP@20 (LAReQA's measure), clean queries")
    by_hand = {row: np.mean([1 / ranks[row](i, k) for i in range(60) for k in range(2)]) for row in ranks}
    assert [line.split()[0] for line in lines[9:11]] == ["infonce", "mp_infonce"]
    for line in lines[9:11]:
        row, mean, low, high = line.split()[:4]
        assert float(mean) == pytest.approx(by_hand[row], abs=5e-4)
        assert float(low.strip("[,")) <= float(mean) <= float(high.strip("]")) and low != high
    assert lines[11:] == [f"LAReQA's mBERT, XQuAD-R: {LAREQA_PUBLISHED['XQuAD-R']}",
                          f"LAReQA's mBERT, MLQA-R: {LAREQA_PUBLISHED['MLQA-R']}"]
    r.primary[0].update(diff=-0.0123, low=-0.0456, high=-0.0001, p_holm=0.00253)  # the widest cell: 37 characters
    lines = readme_answer({"XQuAD-R": r, "MLQA-R": r}).splitlines()
    column = lines[1].index("MLQA-R")
    assert all(line[column - 2:column] == "  " and line[column] in "+-" for line in lines[2:6]), lines[1:6]
    one_row = Results.build(str(tmp_path), ["infonce"], tasks, ["w1"], seeds={"infonce": seeds["infonce"]})
    with pytest.raises(InputError, match="^MLQA-R: the run has no primary comparison"):
        readme_answer({"XQuAD-R": r, "MLQA-R": one_row})


def test_the_answer_page_shows_no_figure_until_the_run_is_merged_then_its_summary(tmp_path):
    """The report page's answer tables (docs/_ext/records_tables.py): while only per-run records exist, a count
    and no figure; from a records.npz, the summary: the primary comparison with its figures from the records,
    the twins, every row's mean difference, LAReQA's measure of the rows it has beside the published
    figures, headings one level below the page's; and docs/report.md includes both benchmarks' pages."""
    answer_page = records_tables().answer_page
    from mpcl_tevatron.xmrc.analysis.report import LAREQA_PUBLISHED
    from mpcl_tevatron.xmrc.analysis.results import Results

    (tmp_path / "records").mkdir()
    for name in ("zero-shot.npz", "infonce.seed42.npz", "notes.txt"):
        (tmp_path / "records" / name).write_text("")
    waiting = answer_page(str(tmp_path), "XQuAD-R")
    assert waiting.startswith("Not finished: 2 runs recorded so far.") and not re.search(r"\d\.\d", waiting)
    langs, ranks, tasks, seeds = _three_language_runs(tmp_path)
    r = Results.build(str(tmp_path), list(ranks), tasks, ["w1"], seeds=seeds)
    page = answer_page(str(tmp_path), "XQuAD-R")
    assert "\n## " not in page and page.startswith("### The primary comparison: `mp_infonce` minus `infonce`")
    for e in r.primary:
        assert f"| {e['measure']} | {e['condition']} | {e['diff']:+.4f} | [{e['low']:+.4f}, {e['high']:+.4f}] |" in page
    for heading in ("### Multi-positive vs its one-positive twin", "### Mean over languages: difference from",
                    "### XQuAD-R X->pool against LAReQA's published mAP"):
        assert heading in page, heading
    assert ("| XQuAD-R X->pool, clean, mean over 3 languages [95% interval] | infonce | mp_infonce | dual_infonce "
            "| published (mAP) |") in page and LAREQA_PUBLISHED["XQuAD-R"] in page
    report_page = open(os.path.join(ROOT, "docs", "report.md"), encoding="utf-8").read()
    assert all(f"```{{include}} _generated/answer_{name}.md" in report_page for name in ("xquad", "mlqa"))


def test_report_leaves_out_what_a_run_does_not_have_and_says_n_a(tmp_path):
    """One seed and no typo'd severity: no typo'd column, no seed note, no typo gap per language. With a
    severity: a row that never retrieves has an n/a typo gap; a twin below its one-positive twin is counted ▼;
    mean differences that could not be paired read n/a, and a twin without its interval gets none."""
    from mpcl_tevatron.xmrc.analysis.report import json_data, latex, markdown
    from mpcl_tevatron.xmrc.analysis.results import Results

    ranks = {"infonce": lambda i: 1 + i % 4, "dst": lambda i: 1 + i % 4, "dst_mp": lambda i: 2 + i % 4,
             "never": lambda i: 11}  # rank 11: outside the run's top 10
    for row, rank_of_answer in ranks.items():
        tasks = _write_runs(tmp_path, rank_of_answer, row)
    rows = list(ranks)
    md = markdown(Results.build(str(tmp_path), rows, tasks, []))
    assert "| row | en clean | mean clean |" in md and "typo None" not in md
    assert "training seeds" not in md and "## Typo gap per language" not in md
    assert "corrected p < 0.05 in both tests.\n" in md  # the sentence ends there: no seed note
    r = Results.build(str(tmp_path), rows, tasks, ["w1"])
    md = markdown(r)
    assert "| row | en clean | en typo w1 | mean clean | mean typo w1 |" in md
    assert "| never | 0.000 | 0.000 | n/a |" in md  # robustness curve: clean, w1, gap
    twin = next(line for line in md.splitlines() if line.startswith("| dst_mp vs dst |")).split(" | ")
    assert twin[1].endswith("▲0 ▼1") and "[" in twin[1]  # X->X MRR@10 clean
    tex = latex(r)
    assert "\ndst\\_mp & 0.321$^\\blacktriangledown$ & " in tex and "▼" not in tex
    twin = json_data(r)["twins"]["dst_mp | en->en | clean | mrr@10"]
    mark, p_student, p_fisher = r.twin_marks[("dst_mp", "en->en", "clean", "mrr@10")]
    assert twin == {"one_positive": "dst", "mark": mark, "p_student": p_student, "p_fisher": p_fisher}
    assert p_student != p_fisher
    r.mean_diffs = {row: {key: None for key in by_key} for row, by_key in r.mean_diffs.items()}
    r.twin_mean_diffs = None
    md = markdown(r)
    assert "| never | n/a | n/a | n/a | n/a |" in md
    twin = next(line for line in md.splitlines() if line.startswith("| dst_mp vs dst |")).split(" | ")
    assert twin[1] == "-0.2000 ▲0 ▼1"  # no interval


def test_plots_draw_the_reports_figures(tmp_path, saved_figures):
    """Each plot's bars and points are the report's numbers, per row and language, at the row's offset:
    report_xx.png clean and typo'd X->X MRR@10, report_gap.png 100 x the typo gap, report_diff.png the
    difference from the reference with its interval, one panel per condition."""
    from mpcl_tevatron.xmrc.analysis.report import plot_differences, plot_gap, plot_xx
    from mpcl_tevatron.xmrc.analysis.results import Results

    langs, ranks, tasks, seeds = _three_language_runs(tmp_path)
    r = Results.build(str(tmp_path), list(ranks), tasks, ["w1"], seeds=seeds)
    for plot in (plot_xx, plot_gap, plot_differences):
        plot(str(tmp_path), r)
    rows, width = list(ranks), 0.8 / 3

    def bars(container):
        return [p.get_x() + p.get_width() / 2 for p in container], [p.get_height() for p in container]

    def ticks(ax):  # each language's label at the middle of its group
        return list(ax.get_xticks()), [t.get_text() for t in ax.get_xticklabels()]

    group = (pytest.approx(np.arange(3) + 0.4 - width / 2), list(langs))
    assert ticks(saved_figures["report_xx.png"].axes[0]) == group
    assert ticks(saved_figures["report_gap.png"].axes[0]) == group
    assert all(ticks(ax) == (pytest.approx(np.arange(3)), list(langs)) for ax in saved_figures["report_diff.png"].axes)
    (ax,) = saved_figures["report_xx.png"].axes
    for i, row in enumerate(rows):
        for container, cond in zip(ax.containers[2 * i: 2 * i + 2], ("clean", "w1")):
            centres, heights = bars(container)
            assert centres == pytest.approx(np.arange(3) + i * width)
            assert heights == pytest.approx([r.mean(row, f"{x}->{x}", cond, "mrr@10") for x in langs])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["infonce clean", "typo'd (w1)", "mp_infonce clean", "dual_infonce clean"]
    (ax,) = saved_figures["report_gap.png"].axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == rows
    for i, row in enumerate(rows):
        centres, heights = bars(ax.containers[i])
        assert centres == pytest.approx(np.arange(3) + i * width)
        assert heights == pytest.approx([100 * r.typo_gap(row, "w1", x) for x in langs])
    axes = saved_figures["report_diff.png"].axes
    assert [ax.get_title() for ax in axes] == ["clean queries", "w1 queries"]
    assert [t.get_text() for t in axes[-1].get_legend().get_texts()] == rows[1:]
    for ax, cond in zip(axes, ("clean", "w1")):
        assert [list(line.get_ydata()) for line in ax.lines if line.get_label().startswith("_")][-1] == [0, 0]
        for i, row in enumerate(rows[1:]):
            points, _, (bar,) = ax.containers[i]
            offset = i * 0.4 - 0.4 + 0.2
            assert list(points.get_xdata()) == pytest.approx(np.arange(3) + offset)
            assert list(points.get_ydata()) == pytest.approx(
                [r.difference(row, f"{x}->{x}", cond, "mrr@10") for x in langs])
            ends = [end for seg in bar.get_segments() for end in (seg[0][1], seg[1][1])]
            assert ends == pytest.approx([end for x in langs for end in r.intervals[(row, f"{x}->{x}", cond)]])


@pytest.mark.parametrize("rejecting", ["student", "fisher"])
def test_a_mark_needs_both_tests_to_reject(tmp_path, monkeypatch, rejecting):
    """With one of the two tests made to accept every null hypothesis (p = 1), nothing is marked, though the
    other test still rejects."""
    import ranx.statistical_tests

    from mpcl_tevatron.xmrc.analysis import results

    for row, rank_of_answer in (("infonce", lambda i: 1 + i % 4), ("mp_infonce", lambda i: 1)):
        tasks = _write_runs(tmp_path, rank_of_answer, row)
    if rejecting == "student":
        monkeypatch.setattr(results, "randomization_p_values", lambda pairs, **kw: np.ones(len(pairs)))
    else:
        monkeypatch.setattr(ranx.statistical_tests, "paired_student_t_test", lambda c, t, max_p=0.05: (1.0, 0.0))
    data = write_report(str(tmp_path), ["infonce", "mp_infonce"], tasks, ["w1"])
    sig = data["significance"]["mp_infonce | en->en | clean | mrr@10"]
    assert sig[f"p_{rejecting}"] < 0.05 and sig["mark"] == ""


def _trec_eval_style(relevant, ranked):
    """The four report metrics of one question, from their trec_eval definitions (binary relevance):
    reciprocal rank within 10; nDCG@10 with log2(rank + 1) discounts; recall in the top 100; AP over the top
    20 divided by the number of relevant documents (trec_eval's map_cut_20)."""
    hits = [d in relevant for d in ranked]
    rr = next((1.0 / (i + 1) for i, h in enumerate(hits[:10]) if h), 0.0)
    dcg = sum(1.0 / math.log2(i + 2) for i, h in enumerate(hits[:10]) if h)
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), 10)))
    recall = sum(hits[:100]) / len(relevant)
    ap = {k: sum(sum(hits[:i + 1]) / (i + 1) for i, h in enumerate(hits[:k]) if h) / len(relevant)
          for k in (20, 100)}
    return {"mrr@10": rr, "ndcg@10": dcg / idcg, "recall@100": recall, "map@20": ap[20], "map@100": ap[100]}


def test_report_metrics_match_an_independent_implementation():
    """ranx's per-question figures computed from records (the rank of each relevant candidate) against the
    trec_eval definitions, on a run shaped like X->pool: up to 11 relevant candidates per question among 6,000
    (so record rows are padded), depth 100, with relevant candidates the search never saw."""
    from mpcl_tevatron.xmrc.analysis.records import METRICS, _ranks_of_relevant, metric_arrays

    rng = np.random.default_rng(0)
    qids = [f"q{i}" for i in range(200)]
    relevant = {q: {f"d{j}" for j in rng.choice(6000, rng.integers(1, 12), replace=False)} for q in qids}
    docids = []
    for q in qids:  # a ranking that holds some relevant candidates, at random depths
        pool = list(rng.choice(sorted(relevant[q]), rng.integers(0, len(relevant[q]) + 1), replace=False))
        pool += [f"d{j}" for j in rng.choice(6000, 150, replace=False) if f"d{j}" not in pool]
        docids.append(list(rng.permutation(pool[:100])))
    doc_ids = [f"d{j}" for j in range(6000) if j % 7]  # every 7th candidate never searched: still relevant
    index = {d: i for i, d in enumerate(doc_ids)}
    docids = [[d for d in ds if d in index] for ds in docids]
    ranks = np.full((len(qids), 100), -1)
    for i, ds in enumerate(docids):
        ranks[i, :len(ds)] = [index[d] for d in ds]
    run = {"set": ["clean"] * len(qids), "qid": qids, "doc_ids": doc_ids, "ranks": ranks}
    records = _ranks_of_relevant(run, {q: {d: 1 for d in relevant[q]} for q in qids}, qids)
    ours = metric_arrays(records["clean"], 100)
    for n, q in enumerate(qids):
        expected = _trec_eval_style(relevant[q], docids[n])
        for metric in METRICS:
            assert ours[metric][n] == pytest.approx(expected[metric], abs=1e-12), (q, metric)
    assert 0 < ours["map@20"].mean() < ours["map@100"].mean() < ours["recall@100"].mean() < 1


def test_map_at_20_is_lareqas_which_divides_by_min_r_20():
    """XTREME's LAReQA mAP@20 divides by min(R, 20): equal to ranx's (which divides by R) up to 20 relevant
    candidates, so records refuse a question with more."""
    from mpcl_tevatron.xmrc.analysis.records import PAD, metric_arrays

    ranks = np.array([[1, 3, 0, PAD], [2, 4, 21, 5]], dtype=np.uint8)  # q0: R = 3, q1: R = 4 (one below 20)
    got = metric_arrays(ranks, 100)["map@20"]
    assert list(got) == pytest.approx([(1 / 1 + 2 / 3) / 3, (1 / 2 + 2 / 4 + 3 / 5) / 4])
    with pytest.raises(ValueError, match="min"):
        metric_arrays(np.arange(1, 22, dtype=np.uint8)[None, :], 100)


def test_records_refuse_graded_relevance():
    from mpcl_tevatron.io import InputError
    from mpcl_tevatron.xmrc.analysis.records import _ranks_of_relevant

    run = {"set": ["clean"], "qid": ["q0"], "doc_ids": ["d0"], "ranks": np.array([[0]])}
    with pytest.raises(InputError, match="graded"):
        _ranks_of_relevant(run, {"q0": {"d0": 2}}, ["q0"])


def test_xmrc_tasks_name_what_each_task_searches_and_scores_with():
    from mpcl_tevatron.xmrc.data.tasks import xmrc_tasks

    def qrels(target):
        return os.path.join("d", target, "qrels.txt")

    assert xmrc_tasks("d", ["en", "de", "zh"], "en") == [
        Task("en", "en", ("en",), qrels("en")), Task("de", "de", ("de",), qrels("de")),
        Task("zh", "zh", ("zh",), qrels("zh")),
        Task("de", "en", ("en",), qrels("en")), Task("en", "de", ("de",), qrels("de")),
        Task("zh", "en", ("en",), qrels("en")), Task("en", "zh", ("zh",), qrels("zh")),
        Task("en", "pool", ("en", "de", "zh"), qrels("pool")), Task("de", "pool", ("en", "de", "zh"), qrels("pool")),
        Task("zh", "pool", ("en", "de", "zh"), qrels("pool"))]


def test_recording_a_task_keeps_each_question_in_its_row():
    """A run line whose question is not the task's is dropped (it takes no question's row); a question missing
    from a query set ranks nothing (0), also when its relevant candidate was never searched; each typo'd copy
    keeps its own scores, and the condition's figure is their mean."""
    from mpcl_tevatron.xmrc.analysis.records import PAD, Records, _ranks_of_relevant

    qrels = {"q0": {"d0": 1}, "q1": {"d1": 1}, "q2": {"unsearched": 1}}
    lines = [("clean", "q0", [0, 1]), ("clean", "extra", [1, 0]), ("w1.0", "q1", [1, 0]), ("w1.1", "q1", [0, 1]),
             ("w1.0", "q0", [1, 0])]
    r = {"set": [s for s, _, _ in lines], "qid": [q for _, q, _ in lines], "doc_ids": ["d0", "d1"],
         "ranks": np.array([ranks for _, _, ranks in lines])}
    got = _ranks_of_relevant(r, qrels, ["q0", "q1", "q2"])
    assert {k: v.tolist() for k, v in got.items()} == {"clean": [[1], [0], [0]], "w1.0": [[2], [1], [0]],
                                                      "w1.1": [[0], [2], [0]]}
    records = Records({"depth": 2, "sets": {"clean": ["clean"], "w1": ["w1.0", "w1.1"]}},
                      {f"run|t|{k}": v for k, v in got.items()})
    scores = records.scores("run", "t", "w1")["mrr@10"]
    assert scores.tolist() == [[0.5, 1.0, 0.0], [0.0, 0.5, 0.0]]  # [copies, questions]
    assert scores.mean(axis=0).tolist() == [0.25, 0.75, 0.0]
    wide = _ranks_of_relevant(r, {"q0": {"d0": 1, "d1": 1}, "q1": {"d1": 1}}, ["q0", "q1"])["clean"]
    assert wide.tolist() == [[1, 2], [0, PAD]]


def test_seed_mean_differences_pair_seeds_or_take_the_controls_mean():
    """Seed k minus seed k when both rows have as many seeds; otherwise minus the control's mean over its seeds
    (a zero-shot row has one run, the trained reference three)."""
    from mpcl_tevatron.xmrc.analysis.results import seed_mean_differences

    one, three, two = (np.array(x, dtype=float)[:, None, :] for x in
                       ([[0.5, 0.5]], [[1, 0], [0, 1], [1, 1]], [[1, 1], [0, 0]]))
    np.testing.assert_allclose(seed_mean_differences(one, three), [0.5 - 2 / 3])
    np.testing.assert_allclose(seed_mean_differences(three, one), [0, 0, 0.5])
    np.testing.assert_allclose(seed_mean_differences(two, two), [0, 0])
    np.testing.assert_allclose(seed_mean_differences(three, two), [0, 0, 0.5])
    np.testing.assert_allclose(seed_mean_differences(two, three), [1 / 3, -2 / 3])


def test_sweep_table_holds_every_point_and_marks_the_best_on_dev(tmp_path):
    """The sweep reads each point's dev report: mean over languages of clean and typo'd X->X MRR@10, the
    point with the best mean of the two chosen, seeds and their spread shown."""
    from mpcl_tevatron.recipes.sweep import collect, table

    def point(name, lr, steps, temp, infonce, seeds=1, sd=0.0):
        d = tmp_path / name
        d.mkdir()
        json.dump({"learning_rate": lr, "max_steps": steps, "temperature": temp}, open(d / "settings.json", "w"))
        fig = lambda c, t: {"clean": {"mrr@10": c}, "w1": {"mrr@10": t}}  # noqa: E731
        sds = {"en->en": {"clean": {"mrr@10": sd}, "w1": {"mrr@10": sd}},
               "de->de": {"clean": {"mrr@10": sd}, "w1": {"mrr@10": sd}}}
        json.dump({"figures": {"zero-shot": {"en->en": fig(0.8, 0.7), "de->de": fig(0.6, 0.5)},
                               "infonce": {"en->en": fig(*infonce[0]), "de->de": fig(*infonce[1]),
                                           "en->pool": fig(0.0, 0.0)}},
                   "seeds": {"infonce": [f"infonce.seed{k}" for k in range(seeds)]},
                   "seed_sd": {"infonce": sds}}, open(d / "report.json", "w"))

    point("a", 1e-5, 60, 0.01, [(0.9, 0.8), (0.7, 0.6)])          # mean 0.75
    point("b", 2e-5, 60, 0.01, [(0.9, 0.9), (0.7, 0.7)], 3, 0.01)  # mean 0.80: chosen
    (tmp_path / "unfinished").mkdir()                              # no report yet: not a row
    results, zero_shot = collect(str(tmp_path), "w1")
    assert [r["learning_rate"] for r in results] == [1e-5, 2e-5]
    assert zero_shot["clean"] == pytest.approx(0.7) and zero_shot["typo"] == pytest.approx(0.6)
    assert results[0]["criterion"] == pytest.approx(0.75) and results[1]["seeds"] == 3
    text = table(results, zero_shot, "w1")
    assert "| 2e-05 | 60 | 0.01 | 3 | 0.800 | 0.800 | 0.800 ± 0.010 **(chosen)** |" in text
    assert "| 1e-05 | 60 | 0.01 | 1 | 0.800 | 0.700 | 0.750 |" in text


def test_xx_table_prints_each_language_and_the_mean_clean_and_typod():
    """What the quickstart prints: per language and on average, clean / typo'd X->X MRR@10 of every row."""
    from mpcl_tevatron.xmrc.analysis.report import xx_table

    fig = lambda c, t: {"clean": {"mrr@10": c}, "w1": {"mrr@10": t}}  # noqa: E731
    report = {"rows": ["zero-shot", "infonce"],
              "figures": {"zero-shot": {"en->en": fig(0.8, 0.7), "de->de": fig(0.6, 0.5), "de->en": fig(0, 0)},
                          "infonce": {"en->en": fig(0.9, 0.8), "de->de": fig(0.7, 0.4), "de->en": fig(0, 0)}}}
    assert xx_table(report).splitlines() == [  # columns right-aligned, 15 wide (a cell is 13 characters)
        "X->X MRR@10, clean / typo'd (w1)",
        "lang        zero-shot        infonce",
        "en      0.800 / 0.700  0.900 / 0.800",
        "de      0.600 / 0.500  0.700 / 0.400",
        "mean    0.700 / 0.600  0.800 / 0.600"]
    report["rows"] = ["zero-shot", "a-much-longer-row-name"]  # a long name widens every column to its length + 2
    report["figures"]["a-much-longer-row-name"] = report["figures"].pop("infonce")
    assert xx_table(report).splitlines()[1:3] == ["lang" + " " * 17 + "zero-shot" + "  a-much-longer-row-name",
                                                  "en  " + " " * 13 + "0.800 / 0.700" + " " * 11 + "0.900 / 0.800"]
    one = {"rows": ["infonce"], "figures": {"infonce": {"th->th": {"clean": {"mrr@10": 0.5}, "w1": {"mrr@10": 0.25},
                                                               "r50": {"mrr@10": 0.125}}}}}  # one row, one language
    assert xx_table(one).splitlines()[2:] == ["th      0.500 / 0.250", "mean    0.500 / 0.250"]
    assert xx_table(one, "r50").splitlines()[0::2] == ["X->X MRR@10, clean / typo'd (r50)", "th      0.500 / 0.125"]


def test_compare_two_recipe_folders_pairs_seeds_and_questions(tmp_path, capsys):
    """Folder A ranks every answer second, folder B first (clean), with one seed of B as A: B - A is +0.5 in
    two seeds and 0 in the third, so the mean is +1/3, and the interval over seeds spans both."""
    from scipy.stats import t

    from mpcl_tevatron.xmrc.analysis.compare import main

    settings = {"langs": ["en"], "pivot": "en", "split": "test", "candidate_text": "sentence", "copies": 2,
                "severities": ["w1"], "typo_seed": 0}
    for name, ranks in (("A", [2, 2, 2]), ("B", [1, 1, 2])):
        folder = tmp_path / name
        folder.mkdir()
        json.dump(dict(settings, mask_false_negatives=name == "B"), open(folder / "settings.json", "w"))
        seeds = range(3) if name == "A" else range(7, 10)  # B's own seed names: each folder reads its own runs
        for k, r in zip(seeds, ranks):
            _write_runs(folder, lambda i, r=r: r, f"mp_infonce.seed{k}", langs=["en"])
        json.dump({"seeds": {"mp_infonce": [f"mp_infonce.seed{k}" for k in seeds]}},
                  open(folder / "report.json", "w"))
    assert main([str(tmp_path / "A"), str(tmp_path / "B"), "--json", str(tmp_path / "c.json")]) == 0
    records = {(r["task"], r["condition"]): r for r in json.load(open(tmp_path / "c.json"))}
    clean = records[("en->en", "clean")]
    assert clean["mean_a"] == pytest.approx(0.5) and clean["mean_b"] == pytest.approx(5 / 6)
    assert clean["difference"] == pytest.approx(1 / 3) and clean["seeds_b_above"] == 2 and clean["seeds"] == 3
    low, high = clean["interval"]  # the seeds' spread alone (every question alike): t with 2 df
    se = np.std([0.5, 0.5, 0.0], ddof=1) / np.sqrt(3)
    assert (low, high) == pytest.approx((1 / 3 - t.ppf(0.975, 2) * se, 1 / 3 + t.ppf(0.975, 2) * se))
    # the typo'd copies rank one and two lower: B's seeds 0-1 at 1/2 and 1/3, A's at 1/3 and 1/4
    assert records[("en->en", "w1")]["difference"] == pytest.approx(2 / 3 * ((1 / 2 + 1 / 3) - (1 / 3 + 1 / 4)) / 2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["| task | condition | A mrr@10 | B mrr@10 | B - A | 95% interval | seeds B > A |",
                         "|---|---|---|---|---|---|---|"]
    assert any(line.startswith("| en->en | clean | 0.5000 | 0.8333 | +0.3333 | [") and line.endswith("| 2/3 |")
               for line in lines)
    # a folder with records compares from them alone: the same figures with its runs gone
    from mpcl_tevatron.xmrc.analysis.records import collect
    from mpcl_tevatron.xmrc.data.tasks import xmrc_tasks

    for name in ("A", "B"):
        folder = tmp_path / name
        runs = json.load(open(folder / "report.json"))["seeds"]
        collect(str(folder), runs, xmrc_tasks(str(folder / "data"), ["en"], "en"), ["w1"], {}).save(
            str(folder / "records.npz"))
        shutil.rmtree(folder / "runs")
    assert main([str(tmp_path / "A"), str(tmp_path / "B"), "--json", str(tmp_path / "r.json")]) == 0
    assert json.load(open(tmp_path / "r.json")) == json.load(open(tmp_path / "c.json"))
    json.dump(dict(settings, copies=3), open(tmp_path / "B" / "settings.json", "w"))
    assert main([str(tmp_path / "A"), str(tmp_path / "B")]) == 2
    assert "evaluate on different data: {'copies': (2, 3)}" in capsys.readouterr().err


def test_compare_pairs_seed_k_with_seed_k_when_the_controls_scores_vary_by_seed(tmp_path):
    """A's seeds rank the answers 1st, 2nd and 4th; B's the same, seed by seed: paired, B - A is 0 in every seed,
    so the interval is [0, 0]. Against A's mean, or another seed of A, it would not be."""
    from mpcl_tevatron.xmrc.analysis.compare import compare

    settings = {"langs": ["en"], "pivot": "en", "split": "test", "candidate_text": "sentence", "copies": 2,
                "severities": ["w1"], "typo_seed": 0}
    for name in ("A", "B"):
        folder = tmp_path / name
        folder.mkdir()
        json.dump(settings, open(folder / "settings.json", "w"))
        for k, r in zip(range(3), (1, 2, 4)):
            _write_runs(folder, lambda i, r=r: r, f"mp_infonce.seed{k}", langs=["en"])
        json.dump({"seeds": {"mp_infonce": [f"mp_infonce.seed{k}" for k in range(3)]}},
                  open(folder / "report.json", "w"))
    for record in compare(str(tmp_path / "A"), str(tmp_path / "B"), "mp_infonce"):
        assert record["difference"] == 0 and record["interval"] == [0, 0], record
        assert record["seeds_b_above"] == 0 and record["seeds"] == 3
        assert record["mean_a"] == record["mean_b"] > 0


def test_compare_refuses_bad_input_with_one_line(tmp_path, capsys):
    """A folder without its report, an unknown metric, a row one folder lacks, and unequal seed counts: rc 2,
    one line naming what is wrong."""
    from mpcl_tevatron.xmrc.analysis.compare import main

    settings = {"langs": ["en"], "pivot": "en", "split": "test", "candidate_text": "sentence", "copies": 1,
                "severities": ["w1"], "typo_seed": 0}
    for name, seeds in (("A", 3), ("B", 2)):
        (tmp_path / name).mkdir()
        json.dump(settings, open(tmp_path / name / "settings.json", "w"))
    a, b = str(tmp_path / "A"), str(tmp_path / "B")

    def error(*argv):
        assert main(list(argv)) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: ")
        return err

    path = os.path.join(a, "report.json")
    assert error(a, b) == f"error: {path}: missing (is {a} a finished XMRC recipe folder?)\n"
    assert error(a, b, "--metric", "p@5") == \
        "error: --metric 'p@5': use one of mrr@10, ndcg@10, recall@100, map@20, map@100\n"
    for name, seeds in (("A", 3), ("B", 2)):
        json.dump({"seeds": {"infonce": ["i"], "mp_infonce": [f"s{k}" for k in range(seeds)]}},
                  open(tmp_path / name / "report.json", "w"))
    assert error(a, b, "--row", "dst") == f"error: {a} has no row 'dst'; its rows: infonce, mp_infonce\n"
    assert error(a, b) == f"error: mp_infonce: 3 seeds in {a}, 2 in {b}; pair them by seed\n"


@pytest.mark.parametrize("text, expected", [
    ("J.R. Tolkien wrote it. Then more came.", ["J.R. Tolkien wrote it.", "Then more came."]),  # dotted initials
    ("A. Smith wrote it. Then more came.", ["A. Smith wrote it.", "Then more came."]),  # an initial opens the text
    ("He met A. Smith there. Then more came.", ["He met A. Smith there.", "Then more came."]),
])
def test_initials_do_not_end_a_sentence_anywhere_in_the_text(text, expected):
    from mpcl_tevatron.xmrc.data.segmenter import segment

    assert [text[s:e] for s, e in segment(text, "en")] == expected
