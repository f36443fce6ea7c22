"""The sentence-transformers adapter (``pip install mpcl-tevatron[st]``): the losses' values against the core
objectives and sentence-transformers' own loss, the collator's typo'd columns, the Tevatron-to-columns
transform, and training the offline MiniLM through ``SentenceTransformerTrainer``."""

from __future__ import annotations

import contextlib
import json

import pytest
import torch
import torch.nn.functional as F

pytest.importorskip("sentence_transformers", reason="sentence-transformers (pip install mpcl-tevatron[st])")

from mpcl_tevatron.adapters.st import (MultiplePositivesRankingLoss, TypoDataCollator, TypoEpochCallback,  # noqa: E402
                                       TypoRobustLoss, columns_from_tevatron)
from mpcl_tevatron.io import InputError  # noqa: E402
from mpcl_tevatron.losses import get_loss  # noqa: E402
from mpcl_tevatron.passages import IGNORED, NEGATIVE, POSITIVE  # noqa: E402
from mpcl_tevatron.typos.training import TrainingVariants  # noqa: E402

ROWS = [  # anchor, two positive columns, one negative; row 1 repeats its positive; row 2's negative is row 0's
    {"anchor": "where is the old river", "positive": "the old river runs north",
     "positive_2": "a river that is old", "negative_1": "the city has a bridge"},
    {"anchor": "who built the bridge", "positive": "the bridge was built by romans",
     "positive_2": "the bridge was built by romans", "negative_1": "rivers flow to the sea"},
    {"anchor": "what is north of town", "positive": "the hills lie north of town",
     "positive_2": "north of the town are hills", "negative_1": "the old river runs north"},
]


@pytest.fixture(scope="module")
def minilm():
    from sentence_transformers import SentenceTransformer

    from mpcl_tevatron.models import ModelNotInstalled, minilm_path

    try:
        path = minilm_path()
    except ModelNotInstalled as e:
        pytest.fail(str(e))  # the models extra is part of the test set-up: its absence is a failure
    model = SentenceTransformer(path, device="cpu")
    model.eval()  # no dropout: two computations over the same inputs must agree
    return model


def _collate(model, rows, k=0, **kwargs):
    collator = TypoDataCollator(preprocess_fn=model.preprocess, typo_variants=k, **kwargs)
    batch = collator(rows)
    columns = list(rows[0]) + [f"anchor_typo_{j + 1}" for j in range(k)]
    return [{key[len(c) + 1:]: v for key, v in batch.items() if key.startswith(c + "_") and
             not key[len(c) + 1:].startswith("typo_")} for c in columns]


def _embed(model, features):
    with torch.no_grad():
        return [model(dict(f))["sentence_embedding"] for f in features]


@pytest.mark.parametrize("name", ["cos_sim", "dot_score"])
def test_one_positive_without_masking_is_multiple_negatives_ranking_loss(minilm, name):
    """The same arguments as sentence-transformers' own loss (``scale``, ``similarity_fct``), the same value."""
    from sentence_transformers import util

    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    similarity_fct = getattr(util, name)
    rows = [{k: r[k] for k in ("anchor", "positive", "negative_1")} for r in ROWS]
    features = _collate(minilm, rows)
    with torch.no_grad():
        loss = MultiplePositivesRankingLoss(minilm, positives=1, scale=7.0, similarity_fct=similarity_fct)
        ours = loss(features)
        theirs = MultipleNegativesRankingLoss(minilm, scale=7.0, similarity_fct=similarity_fct)(features, None)
    assert float(ours) == pytest.approx(float(theirs), rel=1e-5)
    assert loss.get_config_dict()["similarity_fct"] == name and loss.get_config_dict()["scale"] == 7.0


def test_multiple_positives_by_hand(minilm):
    features = _collate(minilm, ROWS)
    a, p1, p2, n = (F.normalize(e, dim=-1) for e in _embed(minilm, features))
    with torch.no_grad():
        ours = float(MultiplePositivesRankingLoss(minilm, positives=2)(features))
    candidates = torch.stack([p1, p2, n], dim=1).reshape(9, -1)
    scores = 20.0 * a @ candidates.T
    # row 0: positives 0, 1; its passage "the old river runs north" is also row 2's negative (column 8)
    # row 1: positive 3 (column 4 repeats it); row 2: positives 6, 7
    positives = {0: [0, 1], 1: [3], 2: [6, 7]}
    ignored = {0: [4, 8], 1: [4], 2: [4]}
    expected = 0.0
    for i in range(3):
        negatives = [c for c in range(9) if c not in positives[i] + ignored[i]]
        neg = torch.logsumexp(scores[i, negatives], dim=0)
        expected += float(-torch.stack([scores[i, c] - torch.logaddexp(scores[i, c], neg)
                                        for c in positives[i]]).mean())
    assert ours == pytest.approx(expected / 3, rel=1e-5)
    with torch.no_grad():
        unmasked = float(MultiplePositivesRankingLoss(minilm, positives=2, mask_false_negatives=False)(features))
    assert abs(unmasked - ours) > 1e-3


@pytest.mark.parametrize("form", ["eq4", "supcon_out"])
@pytest.mark.parametrize("objective", ["mp_infonce", "dst_mp", "typo_cl_mp"])
def test_typo_robust_loss_is_the_core_objective_on_the_same_embeddings(minilm, objective, form):
    """The same loss as the core objective on the same embeddings, the multi-positive term's form included."""
    k = 2
    features = _collate(minilm, ROWS, k=k)
    weights = {} if objective == "typo_cl_mp" else {"gamma": 0.3}  # only what the objective declares
    loss = TypoRobustLoss(minilm, objective, typo_variants=k, positives=2, scale=50.0, form=form, **weights)
    with torch.no_grad():
        ours = float(loss(features))
    a, p1, p2, n, t1, t2 = (F.normalize(e, dim=-1) * 50.0 ** 0.5 for e in _embed(minilm, features))
    labels = torch.tensor([[POSITIVE, POSITIVE, NEGATIVE, NEGATIVE, IGNORED, NEGATIVE, NEGATIVE, NEGATIVE, IGNORED],
                           [NEGATIVE, NEGATIVE, NEGATIVE, POSITIVE, IGNORED, NEGATIVE, NEGATIVE, NEGATIVE, NEGATIVE],
                           [NEGATIVE, NEGATIVE, NEGATIVE, NEGATIVE, IGNORED, NEGATIVE, POSITIVE, POSITIVE, NEGATIVE]],
                          dtype=torch.int8)
    core = get_loss(objective, n_passages=3, form=form, **weights)(
        a, torch.stack([p1, p2, n], dim=1).reshape(9, -1), torch.stack([t1, t2], dim=1).reshape(6, -1),
        passage_labels=labels)
    assert ours == pytest.approx(float(core), rel=1e-5)
    assert loss.get_config_dict()["objective"] == objective and "2403.10939" in loss.citation
    assert loss.get_config_dict()["form"] == form


def test_bad_settings_fail_at_construction(minilm):
    with pytest.raises(KeyError):
        TypoRobustLoss(minilm, "nope")
    with pytest.raises(ValueError, match="similarity_fct must be sentence_transformers.util.cos_sim or "
                                         "util.dot_score, got 'l2'"):
        TypoRobustLoss(minilm, similarity_fct="l2")
    with pytest.raises(ValueError, match="3 columns; expected the anchor, 2 positive"):
        TypoRobustLoss(minilm, "infonce", typo_variants=1, positives=2)(_collate(minilm, [
            {k: r[k] for k in ("anchor", "positive", "negative_1")} for r in ROWS]))


def test_collator_appends_the_generators_variants_with_the_anchors_prompt(minilm):
    k = 3
    collator = TypoDataCollator(preprocess_fn=minilm.preprocess, typo_variants=k, typo_seed=5,
                                prompts={"anchor": "query: "})
    batch = collator([dict(r) for r in ROWS])
    expected = TrainingVariants(k, seed=5).variants(ROWS[0]["anchor"], 0)
    for j in range(k):
        ids = batch[f"anchor_typo_{j + 1}_input_ids"][0]
        ids = ids[batch[f"anchor_typo_{j + 1}_attention_mask"][0].bool()].tolist()
        assert ids == minilm.tokenizer("query: " + expected[j])["input_ids"]
    assert batch["anchor_typo_1_input_ids"].shape[0] == 3 and "positive_2_input_ids" in batch
    assert TypoDataCollator(preprocess_fn=minilm.preprocess, typo_variants=k, typo_seed=5)(
        [dict(r) for r in ROWS])["anchor_typo_2_input_ids"].tolist() != batch["anchor_typo_2_input_ids"].tolist()


def test_the_epoch_callback_gives_each_epoch_new_variants(minilm):
    from types import SimpleNamespace

    collator = TypoDataCollator(preprocess_fn=minilm.preprocess, typo_variants=3, typo_seed=5)
    rows = [dict(r) for r in ROWS]
    first = collator(rows)["anchor_typo_1_input_ids"].tolist()
    TypoEpochCallback(collator).on_epoch_begin(None, SimpleNamespace(epoch=1.0), None)
    assert collator.epoch == 1
    second = collator(rows)["anchor_typo_1_input_ids"].tolist()
    assert second != first
    expected = TrainingVariants(3, seed=5).variants(ROWS[0]["anchor"], 1)[0]
    ids = collator(rows)["anchor_typo_1_input_ids"][0]
    assert minilm.tokenizer.decode(ids, skip_special_tokens=True) == minilm.tokenizer.decode(
        minilm.tokenizer(expected)["input_ids"], skip_special_tokens=True)


def test_columns_from_tevatron(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"query": "q1", "positive_passages": [{"docid": "a", "title": "T", "text": "x"}, {"text": "y"},
                                              {"text": "z"}], "negative_passages": [{"text": "n"}]},
        {"query": "q2", "positive_passages": [{"text": "w"}], "negative_passages": [{"text": "m"}, {"text": "o"}]},
    ]) + "\n")
    ds = columns_from_tevatron([str(path)], positives=2, negatives=2)
    assert ds.column_names == ["anchor", "positive", "positive_2", "negative_1", "negative_2"]
    assert ds[0] == {"anchor": "q1", "positive": "T x", "positive_2": "y", "negative_1": "n", "negative_2": "n"}
    assert ds[1] == {"anchor": "q2", "positive": "w", "positive_2": "w", "negative_1": "m", "negative_2": "o"}
    path.write_text(json.dumps({"query": "q", "positive_passages": [{"text": "p"}]}) + "\n")
    with pytest.raises(InputError, match="has no negative passage"):
        columns_from_tevatron([str(path)], negatives=1)


@pytest.mark.slow
def test_minilm_trains_through_sentence_transformer_trainer(tmp_path):
    from datasets import Dataset
    from sentence_transformers import (SentenceTransformer, SentenceTransformerTrainer,
                                       SentenceTransformerTrainingArguments)

    from mpcl_tevatron.models import minilm_path

    model = SentenceTransformer(minilm_path(), device="cpu")
    before = [p.detach().clone() for p in model.parameters()]
    train = Dataset.from_list([dict(r, anchor=r["anchor"] + f" {i}") for i in range(4) for r in ROWS])
    loss = TypoRobustLoss(model, "dst_mp", typo_variants=2, positives=2)
    args = SentenceTransformerTrainingArguments(output_dir=str(tmp_path), max_steps=4, per_device_train_batch_size=4,
                                                learning_rate=1e-4, report_to="none", save_strategy="no",
                                                logging_steps=1, seed=3, use_cpu=True)
    collator = TypoDataCollator(preprocess_fn=model.preprocess, typo_variants=2)
    seen = []  # (epoch, first anchor's first variant) of every batch
    collate = collator.__call__
    collator.__class__ = type("Recording", (TypoDataCollator,), {"__call__": lambda self, rows: seen.append(
        (self.epoch, self._variants.variants(rows[0]["anchor"], self.epoch)[0])) or collate(rows)})
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train, loss=loss,
                                         data_collator=collator, callbacks=[TypoEpochCallback(collator)])
    trainer.train()
    # 12 rows at batch 4: 4 steps span epochs 0 and 1, and the collator drew each epoch's variants (the
    # trainer may collate a batch ahead of the last step)
    assert [epoch for epoch, _ in seen][:4] == [0, 0, 0, 1] and {epoch for epoch, _ in seen[3:]} == {1}
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 4 and all(l > 0 and l == l for l in losses)  # noqa: E741
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_a_rows_second_positive_is_masked_where_it_appears_in_another_row():
    """Row 1's negative has the token ids of row 0's *second* positive: for row 0 that column is neither positive
    nor negative; unmasked, it is a negative."""
    from mpcl_tevatron.adapters.st.typo_robust import candidate_ids

    def column(rows):
        return {"input_ids": torch.tensor(rows), "attention_mask": torch.ones(len(rows), len(rows[0]),
                                                                              dtype=torch.long)}
    columns = [column([[1, 11], [2, 21]]), column([[1, 12], [2, 22]]), column([[3, 31], [1, 12]])]
    # candidates: row 0's positive 1, positive 2, negative; then row 1's
    labels = candidate_ids(columns, positives=2, mask_false_negatives=True).labels()
    assert labels.tolist() == [[POSITIVE, POSITIVE, NEGATIVE, NEGATIVE, NEGATIVE, IGNORED],
                               [NEGATIVE, NEGATIVE, NEGATIVE, POSITIVE, POSITIVE, NEGATIVE]]
    unmasked = candidate_ids(columns, positives=2, mask_false_negatives=False).labels()
    assert unmasked[0].tolist() == [POSITIVE, POSITIVE, NEGATIVE, NEGATIVE, NEGATIVE, NEGATIVE]


def test_a_hyperparameter_the_objective_does_not_use_is_refused_never_recorded(minilm):
    """``temperature=0.01`` once left the scale at 20 while the model card recorded 0.01; ``sigma`` and ``beta``
    given to mp_infonce were recorded and ignored. Now: the score temperature is 1 / scale only, the teacher's
    is teacher_temperature, and what the objective does not declare is refused."""
    with pytest.raises(ValueError, match=r"temperature=0.01: the score temperature is 1 / scale \(scale=100 for it\)"):
        TypoRobustLoss(minilm, "mp_infonce", temperature=0.01)
    with pytest.raises(ValueError, match="mp_infonce takes no beta, sigma; it accepts form, gamma"):
        TypoRobustLoss(minilm, "mp_infonce", sigma=0.1, beta=0.2)
    with pytest.raises(ValueError, match="mp_infonce takes no teacher_temperature"):
        TypoRobustLoss(minilm, "mp_infonce", teacher_temperature=2.0)
    loss = TypoRobustLoss(minilm, "dst_mp", typo_variants=2, scale=100.0, teacher_temperature=2.0, gamma=0.3)
    assert loss.objective(2).temperature == 2.0 and loss.objective(2).gamma == 0.3
    assert loss.get_config_dict()["teacher_temperature"] == 2.0 and loss.temperature == 0.01
    assert "temperature" not in loss.get_config_dict()
    with pytest.raises(ValueError, match="gamma must be a finite number, got nan"):
        TypoRobustLoss(minilm, "dst_mp", gamma=float("nan"))


@pytest.mark.parametrize("name", ["cos_sim", "dot_score"])
def test_similarity_fct_is_the_score_on_embeddings_of_any_norm(minilm, name):
    """On embeddings that are not unit-norm (MiniLM's own are, where the two functions agree): the loss is the
    cross-entropy of ``scale * similarity_fct(anchor, positives)``."""
    from sentence_transformers import util

    similarity_fct = getattr(util, name)
    g = torch.Generator().manual_seed(0)
    anchor, positive = torch.randn(3, 5, generator=g) * 3, torch.randn(3, 5, generator=g) * 3
    loss = MultiplePositivesRankingLoss(minilm, positives=1, scale=4.0, similarity_fct=similarity_fct)
    ours = loss.compute_loss_from_embeddings([anchor, positive], [None])
    expected = F.cross_entropy(4.0 * similarity_fct(anchor, positive), torch.arange(3))
    assert float(ours) == pytest.approx(float(expected), rel=1e-5)


def test_training_that_ends_at_step_0_warns(tmp_path, minilm):
    """no_duplicates with rows that all share a positive leaves no full batch of 2 (drop_last): the trainer
    "finishes" at step 0,
    and the callback says why; one batch of real steps says nothing."""
    import warnings

    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers

    rows = [{"anchor": f"question {i}", "positive": "the one shared sentence", "negative_1": f"other {i}"}
            for i in range(4)]

    def train(sampler):
        collator = TypoDataCollator(preprocess_fn=minilm.preprocess, typo_variants=1)
        args = SentenceTransformerTrainingArguments(output_dir=str(tmp_path), num_train_epochs=1,
                                                    per_device_train_batch_size=2, batch_sampler=sampler,
                                                    report_to="none", save_strategy="no", use_cpu=True,
                                                    learning_rate=0.0, dataloader_drop_last=True)
        trainer = SentenceTransformerTrainer(model=minilm, args=args, train_dataset=Dataset.from_list(rows),
                                             loss=TypoRobustLoss(minilm, "mp_infonce", typo_variants=1),
                                             data_collator=collator, callbacks=[TypoEpochCallback(collator)])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                trainer.train()
            finally:
                minilm.eval()  # the trainer left it in training mode (dropout on) for the tests after this one
        return trainer.state.global_step, [str(w.message) for w in caught if "step 0" in str(w.message)]

    steps, said = train(BatchSamplers.NO_DUPLICATES)
    assert steps == 0 and len(said) == 1 and "NO_DUPLICATES" in said[0]
    steps, said = train(BatchSamplers.BATCH_SAMPLER)
    assert steps == 2 and not said


def test_the_column_names_decide_the_positives():
    """A dataset with columns positive_1, positive_2 once trained positive_2 as a hard negative (P defaulted to 1,
    columns read by position): P is now the number of columns named positive*, and what does not fit is
    refused."""
    from mpcl_tevatron.adapters.st.typo_robust import positives_in

    typos = ["anchor_typo_1", "anchor_typo_2"]
    assert positives_in(["anchor", "positive", "positive_2", "negative_1", *typos], 2, None) == 2
    assert positives_in(["anchor", "positive_1", "positive_2", "negative_1", *typos], 2, None) == 2
    assert positives_in(["anchor", "positive_1", "positive_2", "negative_1", *typos], 2, 2) == 2
    assert positives_in(["anchor", "positive", "negative_1"], 0, None) == 1
    assert positives_in(["query", "answer", "other"], 0, None) == 1  # no column named positive: by position
    assert positives_in(["query", "answer", "other"], 0, 2) == 2
    assert positives_in([None, None, None, None], 1, 2) == 2
    with pytest.raises(ValueError, match="carry no names .* give positives=P"):
        positives_in([None, None, None], 0, None)
    with pytest.raises(ValueError, match="positives=1, but the columns name 2: positive_1, positive_2"):
        positives_in(["anchor", "positive_1", "positive_2", "negative_1"], 0, 1)
    with pytest.raises(ValueError, match="must follow the anchor"):
        positives_in(["anchor", "negative_1", "positive", "negative_2"], 0, None)
    with pytest.raises(ValueError, match="give the collator and the loss the same K"):
        positives_in(["anchor", "positive", "negative_1", *typos], 1, None)
    with pytest.raises(ValueError, match="give the collator and the loss the same K"):  # the collator made none
        positives_in(["anchor", "positive", "negative_1"], 1, None)
    with pytest.raises(ValueError, match="give the collator and the loss the same K"):
        positives_in(["anchor", "positive", "anchor_typo_1", "anchor_typo_2", "negative_1"], 2, None)
    with pytest.raises(ValueError, match="3 columns; expected the anchor, 3 positive"):
        positives_in([None, None, None], 0, 3)


def test_a_second_positive_column_trains_as_a_positive_by_default(minilm):
    """The default reads the names TypoDataCollator hands over: the same value as P = 2 given on unnamed
    columns, not P = 1's."""
    rows = [{"anchor": r["anchor"], "positive_1": r["positive"], "positive_2": r["positive_2"],
             "negative_1": r["negative_1"]} for r in ROWS]
    features = _collate(minilm, rows, k=1)
    assert [f["column_name"] for f in features] == ["anchor", "positive_1", "positive_2", "negative_1",
                                                    "anchor_typo_1"]
    unnamed = [{k: v for k, v in f.items() if k != "column_name"} for f in features]
    with torch.no_grad():
        loss = TypoRobustLoss(minilm, "mp_infonce", typo_variants=1)
        by_name = float(loss(features))
        assert loss.get_config_dict()["positives"] == 2 and loss.get_config_dict()["mask_false_negatives"]
        given = float(TypoRobustLoss(minilm, "mp_infonce", typo_variants=1, positives=2)(unnamed))
        one = float(TypoRobustLoss(minilm, "mp_infonce", typo_variants=1, positives=1,
                                   mask_false_negatives=True)(unnamed))
    assert by_name == pytest.approx(given, rel=1e-6) and abs(by_name - one) > 1e-3
    with pytest.raises(ValueError, match="positives=1, but the columns name 2"):
        TypoRobustLoss(minilm, "mp_infonce", typo_variants=1, positives=1)(features)


def _parameter_grads(model, loss_fn, features, seed=0, factor=1.0):
    model.zero_grad()
    torch.manual_seed(seed)
    loss = loss_fn(features)
    (loss * factor).backward()
    grads = [p.grad.detach().clone() for p in model.parameters() if p.grad is not None]
    model.zero_grad()
    return float(loss.detach()), grads


def _same_gradient(a, b, factor=1.0):
    """The parameter gradients as one vector agree to float rounding (relative norm of the difference); per
    element, gradients near 0 differ in rounding far above their size."""
    a, b = torch.cat([x.flatten() for x in a]), factor * torch.cat([x.flatten() for x in b])
    return len(a) == len(b) and float((a - b).norm() / b.norm()) < 1e-4


@pytest.mark.parametrize("mini_batch_size", [1, 2, 3])
def test_the_gradient_cache_gives_the_uncached_loss_and_gradient(minilm, mini_batch_size):
    from mpcl_tevatron.adapters.st import CachedTypoRobustLoss

    features = _collate(minilm, ROWS, k=2)
    settings = dict(objective="dst_mp", typo_variants=2, scale=50.0, gamma=0.3)
    value, grads = _parameter_grads(minilm, TypoRobustLoss(minilm, **settings), features)
    cached = CachedTypoRobustLoss(minilm, mini_batch_size=mini_batch_size, **settings)
    cached_value, cached_grads = _parameter_grads(minilm, cached, features, factor=3.0)  # the chain rule too
    assert cached_value == pytest.approx(value, rel=1e-5) and _same_gradient(cached_grads, grads, factor=3.0)
    with torch.no_grad():  # evaluation: the value, no hook
        assert float(cached(features)) == pytest.approx(value, rel=1e-5)
    with pytest.raises(ValueError, match="mini_batch_size must be >= 1"):
        CachedTypoRobustLoss(minilm, mini_batch_size=0)


def test_the_gradient_cache_replays_dropout(minilm):
    """In training mode (dropout on), the second pass must draw the masks of the first: with one mini-batch per
    column the random draws are those of the uncached loss, so the gradients are equal; without the replay they
    are not."""
    from mpcl_tevatron.adapters.st import CachedTypoRobustLoss
    from mpcl_tevatron.adapters.st import cached_typo_robust

    features = _collate(minilm, ROWS, k=1)
    minilm.train()
    try:
        value, grads = _parameter_grads(minilm, TypoRobustLoss(minilm, typo_variants=1), features)
        cached = CachedTypoRobustLoss(minilm, typo_variants=1, mini_batch_size=8)
        cached_value, cached_grads = _parameter_grads(minilm, cached, features)
        assert cached_value == pytest.approx(value, rel=1e-5) and _same_gradient(cached_grads, grads)
        replay = cached_typo_robust.RandomState.replay
        cached_typo_robust.RandomState.replay = lambda self: contextlib.nullcontext()
        try:
            _, unreplayed = _parameter_grads(minilm, cached, features)
        finally:
            cached_typo_robust.RandomState.replay = replay
        assert not _same_gradient(unreplayed, grads)
    finally:
        minilm.eval()


@pytest.mark.slow
@pytest.mark.parametrize("cached", [[], ["cached"]], ids=["plain", "cached"])
def test_gathered_across_two_processes_equals_one_process(tmp_path, tiny_model_dir, cached):
    """``gather_across_devices``: two gloo processes with half the batch each compute the one-process loss (times
    the world size, as DDP's gradient averaging needs) and the same gradient, a false negative across the
    processes masked; with the gradient cache too (one text a mini-batch in each process), against the plain
    loss of one process."""
    import os
    import subprocess
    import sys

    from .conftest import ROOT

    worker = os.path.join(ROOT, "tests", "st_distributed_worker.py")
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    single, multi = tmp_path / "single", tmp_path / "multi"
    single.mkdir(), multi.mkdir()
    proc = subprocess.run([sys.executable, worker, str(tiny_model_dir), str(single)], env=env, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           worker, str(tiny_model_dir), str(multi), *cached], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    one = torch.load(single / "rank0.pt")
    assert one["grad"].abs().sum() > 0
    for rank in (0, 1):
        two = torch.load(multi / f"rank{rank}.pt")
        assert two["cached"] == bool(cached) and not one["cached"]
        assert torch.allclose(two["loss"], one["loss"], atol=1e-5), (rank, two["loss"], one["loss"])
        assert torch.allclose(two["grad"], one["grad"], atol=1e-6), rank
