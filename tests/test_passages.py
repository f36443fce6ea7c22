"""Several positive passages per query: group sampling, the label matrix, and every objective with labels."""

import math

import pytest
import torch
import torch.nn.functional as F

from mpcl_tevatron.arguments import PositivesArguments
from mpcl_tevatron.losses import available_losses, get_loss
from mpcl_tevatron.losses.functional import passage_retrieval
from mpcl_tevatron.passages import (IGNORED, NEGATIVE, NO_ID, POSITIVE, REPEAT, GroupSlots, PassageIds,
                                    passage_id, sample_group)

POS = ["p0", "p1", "p2"]
NEG = [f"n{i}" for i in range(6)]


def _sample(positives=POS, negatives=NEG, size=5, p=2, seed=3, epoch=0):
    return sample_group(positives, negatives, positives, negatives, size, p, seed, epoch)


def test_group_takes_p_positives_in_turn_then_the_rest_negatives():
    g = _sample()
    assert g.positives == ["p0", "p1"] and len(g.negatives) == 3 and set(g.negatives) <= set(NEG)
    assert len(set(g.negatives)) == 3  # enough negatives: drawn without replacement
    assert g.passages == g.positives + g.negatives
    assert g.slot_ids == [passage_id(x) for x in g.passages]
    assert g.positive_ids == [passage_id(x) for x in POS]  # all of them, sampled or not
    assert _sample(epoch=1).positives == ["p1", "p2"]  # the next epoch starts at the next positive
    assert _sample(epoch=2).positives == ["p2", "p0"]
    assert _sample(seed=4).positives == ["p1", "p2"]
    assert _sample() == _sample()  # seeded
    assert _sample(epoch=1).negatives != g.negatives  # the offset moves with the epoch


def test_fewer_positives_than_slots_repeat_and_the_repeats_have_no_id():
    g = _sample(positives=["p0", "p1"], p=4, size=6, seed=2)
    assert g.positives == ["p0", "p1", "p0", "p1"]
    assert g.slot_ids[:4] == [passage_id("p0"), passage_id("p1"), REPEAT, REPEAT]
    assert len(g.negatives) == 2


def test_too_few_negatives_are_drawn_with_replacement_and_none_is_an_error():
    assert len(_sample(negatives=["n0"], size=4, p=1).negatives) == 3
    assert _sample(negatives=[], size=2, p=2).negatives == []  # no negative slot, none needed
    with pytest.raises(ValueError, match="needs negatives"):
        _sample(negatives=[], size=3, p=2)
    with pytest.raises(ValueError, match="at least one positive"):
        _sample(positives=[])


def test_passage_ids_are_stable_63_bit_integers():
    assert passage_id("docid:7") == passage_id("docid:7") != passage_id("docid:8")
    assert 0 <= passage_id("x") < 2 ** 63
    assert passage_id("abc") == 0x6c5d8a6c19eacaac  # blake2b-64 of "abc", shifted right by one (fixed forever)
    assert passage_id(b"abc") == passage_id("abc")  # bytes (the ST adapter's token ids) hash as they are


def _group(positives, negatives, all_positives=None, p=None):
    """A GroupSlots from ids given by name (``"r"``: a repeat)."""
    p = p if p is not None else len(positives)
    ids = [REPEAT if x == "r" else passage_id(x) for x in positives + negatives]
    return GroupSlots(positives=list(positives), negatives=list(negatives), slot_ids=ids,
                      positive_ids=[passage_id(x) for x in (all_positives or [x for x in positives if x != "r"])])


def test_labels_by_hand():
    """Query 0: positives a, b and the negative x. Query 1: positive c, a repeat, and the negative a (query 0's
    positive); query 1 also has the positive x, not sampled this step (it is in query 0's group)."""
    groups = [_group(["a", "b"], ["x"]), _group(["c", "r"], ["a"], all_positives=["c", "x"])]
    ids = PassageIds.collate(groups)
    assert ids.passage_ids.tolist() == [passage_id("a"), passage_id("b"), passage_id("x"),
                                        passage_id("c"), REPEAT, passage_id("a")]
    assert ids.positive_slots.tolist() == [True, True, False, True, True, False]
    assert ids.query_positive_ids.tolist() == [[passage_id("a"), passage_id("b")],
                                               [passage_id("c"), passage_id("x")]]
    P, N, I = POSITIVE, NEGATIVE, IGNORED  # noqa: E741
    assert ids.labels().tolist() == [
        # a  b  x  c  r  a'
        [P, P, N, N, I, I],  # query 0: column 5 is passage a again, its own positive: not a negative
        [N, N, I, P, I, N],  # query 1: column 2 is x, its unsampled positive; the repeat counts for no one
    ]
    ids.mask_false_negatives = False
    assert ids.labels().tolist() == [[P, P, N, N, I, N], [N, N, N, P, I, N]]


def test_collate_pads_the_positive_ids():
    ids = PassageIds.collate([_group(["a"], ["x"]), _group(["b"], ["y"], all_positives=["b", "c", "d"])])
    assert ids.query_positive_ids[0].tolist() == [passage_id("a"), NO_ID, NO_ID]
    assert ids.labels().dtype == torch.int8 and ids.labels().shape == (2, 4)


def _reps(b=3, n=4, k=2, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = F.normalize(torch.randn(b, d, generator=g), dim=-1) * 2
    p = F.normalize(torch.randn(b * n, d, generator=g), dim=-1) * 2
    t = F.normalize(torch.randn(b * k, d, generator=g), dim=-1) * 2
    return q.requires_grad_(), p.requires_grad_(), t.requires_grad_()


def _labels(b=3, n=4, p=2, ignored=()):
    """Query i's first p slots its positives; ``ignored``: (row, column) pairs."""
    labels = torch.zeros(b, b * n, dtype=torch.int8)
    for i in range(b):
        labels[i, i * n: i * n + p] = POSITIVE
    for r, c in ignored:
        labels[r, c] = IGNORED
    return labels


def test_passage_retrieval_with_labels_by_hand():
    q, p, _ = _reps()
    labels = _labels(ignored=[(0, 4), (2, 1)])
    scores = (q @ p.T).detach()
    expected = 0.0
    for i in range(3):
        negatives = [c for c in range(12) if labels[i, c] == NEGATIVE]
        positives = [c for c in range(12) if labels[i, c] == POSITIVE]
        neg_sum = sum(math.exp(scores[i, c]) for c in negatives)
        expected += -sum(math.log(math.exp(scores[i, c]) / (math.exp(scores[i, c]) + neg_sum))
                         for c in positives) / len(positives)
    assert float(passage_retrieval(scores, 4, labels)) == pytest.approx(expected / 3, rel=1e-5)


def test_without_labels_infonce_is_tevatrons_cross_entropy_bit_for_bit():
    q, p, _ = _reps()
    ours = get_loss("infonce", n_passages=4)(q, p)
    theirs = F.cross_entropy(q @ p.T, torch.arange(3) * 4)
    assert torch.equal(ours, theirs)
    g_ours = torch.autograd.grad(ours, (q, p))
    g_theirs = torch.autograd.grad(theirs, (q, p))
    assert all(torch.equal(a, b) for a, b in zip(g_ours, g_theirs))


@pytest.mark.parametrize("name", sorted(available_losses()))
def test_single_positive_labels_equal_no_labels_in_every_objective(name):
    """Labels that say what Tevatron's layout says (row 0 of each group, nothing ignored) change no value or
    gradient beyond rounding: the labelled path is the same objective."""
    q, p, t = _reps()
    loss = get_loss(name, n_passages=4)
    plain = loss(q, p, t)
    labelled = loss(q, p, t, passage_labels=_labels(p=1))
    assert float(labelled.detach()) == pytest.approx(float(plain.detach()), rel=1e-5)
    for a, b in zip(torch.autograd.grad(plain, (q, p, t), allow_unused=True),
                    torch.autograd.grad(labelled, (q, p, t), allow_unused=True)):
        assert (a is None and b is None) or torch.allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("name, weight", [("infonce", lambda o: 1.0), ("dual_infonce", lambda o: 1 - o.gamma),
                                          ("mp_infonce", lambda o: 1 - o.gamma),
                                          ("dst", lambda o: (1 - o.beta) * (1 - o.gamma)),
                                          ("dst_mp", lambda o: (1 - o.beta) * (1 - o.gamma))])
def test_labels_change_only_the_passage_retrieval_term(name, weight):
    """With P = 2 positives and an ignored column, each objective moves by exactly its weight on passage
    retrieval times the change of that term: the other terms (query retrieval, self-teaching) are untouched."""
    q, p, t = (x.detach() for x in _reps())  # values only
    labels = _labels(p=2, ignored=[(1, 0)])
    loss = get_loss(name, n_passages=4)
    scores = q @ p.T
    term_change = passage_retrieval(scores, 4, labels) - passage_retrieval(scores, 4)
    moved = loss(q, p, t, passage_labels=labels) - loss(q, p, t)
    assert float(moved) == pytest.approx(weight(loss) * float(term_change), rel=1e-4, abs=1e-6)
    assert abs(float(term_change)) > 1e-3  # the case does change the term


@pytest.mark.parametrize("name", ["typo_cl", "typo_cl_mp"])
def test_typo_cl_labels_serve_the_clean_and_the_typo_d_queries(name):
    q, p, t = (x.detach() for x in _reps(k=2))  # values only
    labels = _labels(p=2, ignored=[(2, 3)])
    loss = get_loss(name, n_passages=4)
    change = (passage_retrieval(q @ p.T, 4, labels) - passage_retrieval(q @ p.T, 4)
              + passage_retrieval(t @ p.T, 4, labels, k=2) - passage_retrieval(t @ p.T, 4, k=2))
    moved = loss(q, p, t, passage_labels=labels) - loss(q, p, t)
    assert float(moved) == pytest.approx(float(change), rel=1e-4, abs=1e-6)
    # the typo'd rows share their query's labels: row i*k + j against query i's positives
    typo_scores = t @ p.T
    by_rows = sum(passage_retrieval(typo_scores[i * 2: i * 2 + 2], 4, labels[i: i + 1], k=2) for i in range(3)) / 3
    assert float(passage_retrieval(typo_scores, 4, labels, k=2)) == pytest.approx(float(by_rows), rel=1e-5)


def test_dst_mp_with_p_positive_passages_and_k_variants_trains():
    q, p, t = _reps(b=4, n=5, k=3)
    ids = PassageIds.collate([_sample(positives=[f"q{i}a", f"q{i}b"], negatives=NEG, size=5, p=3, seed=i)
                              for i in range(4)])
    loss = get_loss("dst_mp", n_passages=5)(q, p, t, passage_labels=ids.labels())
    grads = torch.autograd.grad(loss, (q, p, t))
    assert torch.isfinite(loss) and all(torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)


def test_labels_of_the_wrong_shape_are_refused():
    q, p, t = _reps()
    with pytest.raises(ValueError, match=r"passage_labels is \(3, 4\); expected"):
        get_loss("mp_infonce", n_passages=4)(q, p, t, passage_labels=torch.zeros(3, 4, dtype=torch.int8))


def test_positives_arguments_defaults_and_range():
    assert not PositivesArguments().labelled  # P = 1: Tevatron's own sampling and loss
    assert PositivesArguments(positives_per_query=2).masking  # masking follows P unless given
    assert not PositivesArguments(positives_per_query=2, mask_false_negatives=False).masking
    assert PositivesArguments(mask_false_negatives=True).labelled
    assert PositivesArguments(positives_per_query=0).validate(4).startswith("--positives_per_query must be")
    assert PositivesArguments(positives_per_query=5).validate(4) is not None
    assert PositivesArguments(positives_per_query=4).validate(4) is None


def test_exactly_enough_negatives_are_all_used_once():
    g = _sample(negatives=["n0", "n1", "n2"], size=5, p=2)
    assert sorted(g.negatives) == ["n0", "n1", "n2"]  # a shuffle, not draws with replacement


def test_collate_keeps_the_masking_choice():
    groups = [_group(["a"], ["x"]), _group(["b"], ["a"])]
    assert PassageIds.collate(groups, mask_false_negatives=False).labels()[0, 3] == NEGATIVE
    assert PassageIds.collate(groups).labels()[0, 3] == IGNORED


def test_negatives_rotate_by_one_group_per_epoch_and_wrap_around():
    """Tevatron's hard-negative draw: one seeded shuffle of the negatives, read from offset epoch * slots (mod
    their number), so that over the epochs every negative is read in turn; past the end it wraps to the start."""
    import random

    negatives = [f"n{i}" for i in range(5)]
    shuffled = list(range(5))
    random.Random(3).shuffle(shuffled)  # the draw as Tevatron makes it, for seed 3
    read = [negatives[i] for i in shuffled]
    # 2 negative slots: offsets 0, 2, 4 (wraps: the last and then the first), 1 (6 mod 5), 3
    expected = {0: read[0:2], 1: read[2:4], 2: [read[4], read[0]], 3: read[1:3], 4: read[3:5], 5: read[0:2]}
    for epoch, want in expected.items():
        assert _sample(negatives=negatives, size=3, p=1, seed=3, epoch=epoch).negatives == want, epoch
