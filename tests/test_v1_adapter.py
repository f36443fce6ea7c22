"""Tevatron v1 adapter: training-data reading, dataset, collator, driver argument errors."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest

from mpcl_tevatron.arguments import EncoderArguments, PositivesArguments, TypoArguments
from mpcl_tevatron.io import InputError, read_train_jsonl
from mpcl_tevatron.passages import REPEAT, passage_id

from .conftest import run_module

pytest.importorskip("tevatron.trainer", reason="Tevatron v1 (pip install tevatron) is not installed")

from mpcl_tevatron.adapters.v1 import TypoQPCollator, TypoTrainDataset, tokenize  # noqa: E402


def _write(tmp_path, lines, name="train.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)


GOOD = json.dumps({"query": "where is the abc found", "positive_passages": [{"docid": "1", "title": "t",
                   "text": "abc is found"}], "negative_passages": [{"docid": "2", "text": "xyz"}]})


def test_bad_training_lines_name_file_and_line(tmp_path):
    cases = {
        "not json": "not valid JSON",
        json.dumps({"positives": ["p"]}): "missing 'query'",
        json.dumps({"query": "q", "positive_passages": []}): "no positive passage",
        json.dumps({"query": [101, 102], "positives": ["p"]}): "must be text",
        json.dumps({"query": "q", "positives": [{"title": "no text"}]}): "a passage must be",
    }
    for bad, message in cases.items():
        path = _write(tmp_path, [GOOD, bad])
        with pytest.raises(InputError, match=message) as err:
            read_train_jsonl([path])
        assert f"{path}:2" in str(err.value)
    with pytest.raises(FileNotFoundError):
        read_train_jsonl([str(tmp_path / "missing.jsonl")])


def test_empty_queries_are_skipped_and_counted(tmp_path):
    empty = json.dumps({"query": "  ", "positives": ["p"]})
    groups, skipped = read_train_jsonl([_write(tmp_path, [GOOD, empty, GOOD])])
    assert len(groups) == 2 and skipped == 1
    assert groups[0]["positives"] == ["t abc is found"] and groups[0]["negatives"] == ["xyz"]


def _dataset(tiny_model_dir, k=3, augment=0.0, epoch=0, uses_typos=True):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    data_args = SimpleNamespace(q_max_len=32, p_max_len=16, train_n_passages=3, positive_passage_no_shuffle=False,
                                negative_passage_no_shuffle=False)
    groups = [{"query": f"where is the city {w} found", "positives": [f"{w} is found"],
               "negatives": [f"neg {i}" for i in range(4)]} for w in ("abc", "north", "river", "south")]
    typo_args = TypoArguments(typo_variants=k, typo_augment_prob=augment, typo_seed=1)
    trainer = SimpleNamespace(state=SimpleNamespace(epoch=epoch), args=SimpleNamespace(seed=42))
    return TypoTrainDataset(data_args, groups, tok, typo_args, EncoderArguments(), trainer=trainer,
                            uses_typos=uses_typos), tok


def test_dataset_items_carry_k_deterministic_variants_regenerated_per_epoch(tiny_model_dir):
    ds, tok = _dataset(tiny_model_dir)
    q, passages, typos, group = ds[1]
    assert group is None  # one positive, no masking: Tevatron's own sampling
    assert len(passages) == 3 and len(typos) == 3
    assert q["input_ids"][0] == tok.cls_token_id and len(q["input_ids"]) <= 32
    again, _ = _dataset(tiny_model_dir)
    assert [t["input_ids"] for t in again[1][2]] == [t["input_ids"] for t in typos]
    later, _ = _dataset(tiny_model_dir, epoch=1)
    assert [t["input_ids"] for t in later[1][2]] != [t["input_ids"] for t in typos]
    texts = ds.variants.variants("where is the city north found", 0)
    assert len(set(texts)) == 3 and all(t != "where is the city north found" for t in texts)


def test_typo_augmentation_replaces_some_queries(tiny_model_dir):
    always, _ = _dataset(tiny_model_dir, augment=1.0)
    never, _ = _dataset(tiny_model_dir, augment=0.0)
    for i in range(4):
        assert always[i][0]["input_ids"] in [t["input_ids"] for t in always[i][2]]
        assert never[i][0]["input_ids"] not in [t["input_ids"] for t in never[i][2]]


def test_training_items_are_cut_to_their_sides_max_length_and_augmented_queries_are_queries(tiny_model_dir):
    """A query longer than --q_max_len and a passage longer than --p_max_len are truncated to them (special tokens
    included); a query swapped for its typo'd variant (DR+Aug) is still a query: the query prefix and length."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    data_args = SimpleNamespace(q_max_len=6, p_max_len=5, train_n_passages=2, positive_passage_no_shuffle=False,
                                negative_passage_no_shuffle=False)
    long = "where is the old famous city near the river found north south"
    groups = [{"query": long, "positives": [long], "negatives": [long]}]
    trainer = SimpleNamespace(state=SimpleNamespace(epoch=0), args=SimpleNamespace(seed=42))
    for augment in (0.0, 1.0):
        ds = TypoTrainDataset(data_args, groups, tok, TypoArguments(typo_variants=1, typo_augment_prob=augment),
                              EncoderArguments(query_prefix="north ", passage_prefix="south "), trainer=trainer)
        query, passages, typos, _ = ds[0]
        assert len(query["input_ids"]) == 6 and all(len(p["input_ids"]) == 5 for p in passages)
        assert query["input_ids"][:2] == tok("north")["input_ids"][:2]  # [CLS] north
        assert passages[0]["input_ids"][:2] == tok("south")["input_ids"][:2]
        assert len(typos[0]["input_ids"]) == 6


def test_augmentation_is_drawn_per_item(tiny_model_dir):
    """DR+Aug's draw follows the item (``TrainingVariants.for_item``): of 40 groups sharing one query, at
    probability 0.5 some are swapped for a variant and some are not."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    data_args = SimpleNamespace(q_max_len=32, p_max_len=16, train_n_passages=1, positive_passage_no_shuffle=False,
                                negative_passage_no_shuffle=False)
    query = "where is the famous old city located"
    groups = [{"query": query, "positives": ["p"], "negatives": []}] * 40
    trainer = SimpleNamespace(state=SimpleNamespace(epoch=0), args=SimpleNamespace(seed=42))
    ds = TypoTrainDataset(data_args, groups, tok, TypoArguments(typo_variants=3, typo_seed=1, typo_augment_prob=0.5),
                          EncoderArguments(), trainer=trainer)
    clean = tok(query)["input_ids"]
    swapped = sum(ds[i][0]["input_ids"] != clean for i in range(40))
    assert 5 < swapped < 35


def test_an_objective_that_reads_no_variant_gets_none_yet_augmentation_still_works(tiny_model_dir):
    """infonce under --typo_variants K: no variant is handed out (none is encoded), while DR+Aug still swaps
    queries for the same variants an objective that reads them would get."""
    reads, tok = _dataset(tiny_model_dir, augment=1.0)
    skips, _ = _dataset(tiny_model_dir, augment=1.0, uses_typos=False)
    for i in range(4):
        assert skips[i][2] == [] and skips[i][0] == reads[i][0]
        assert skips[i][0]["input_ids"] in [t["input_ids"] for t in reads[i][2]]
    assert TypoQPCollator(tok)([skips[0], skips[1]])[2] is None


def test_collator_shapes_and_query_major_typo_order(tiny_model_dir):
    ds, tok = _dataset(tiny_model_dir, k=2)
    features = [ds[i] for i in range(4)]
    q, p, t, ids = TypoQPCollator(tok, max_q_len=32, max_p_len=16)(features)
    assert ids is None
    assert q["input_ids"].shape[0] == 4 and p["input_ids"].shape[0] == 12 and t["input_ids"].shape[0] == 8
    assert t["input_ids"][2].tolist()[:len(features[1][2][0]["input_ids"])] == features[1][2][0]["input_ids"]
    assert q["attention_mask"].shape == q["input_ids"].shape
    no_typos, _ = _dataset(tiny_model_dir, k=0)
    assert TypoQPCollator(tok)([no_typos[0], no_typos[1]])[2] is None


def test_tokenize_handles_pre_tokenized_ids(tiny_model_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    ids = tokenize(tok, [10, 11, 12, 13, 14], max_length=5)["input_ids"]
    assert ids == [tok.cls_token_id, 10, 11, 12, tok.sep_token_id]
    assert tokenize(tok, "abc", 8, prefix="where ")["input_ids"] == tok("where abc")["input_ids"]


@pytest.mark.parametrize("extra, message", [
    (["--typo_variants", "-1"], "--typo_variants must be >= 0"),
    (["--loss", "nope"], "known losses: dst, dst_mp, dual_infonce, infonce, mp_infonce"),
    (["--loss", "mp_infonce"], "give --typo_variants >= 1"),
    (["--typo_augment_prob", "2"], "typo_augment_prob must be in [0, 1]"),
    (["--loss", "mp_infonce", "--typo_variants", "1", "--multi_positive_form", "nope"],
     "--loss mp_infonce: form must be one of eq4, supcon_out, log_sum, sample_one, got 'nope'"),
    (["--positives_per_query", "0"], "--positives_per_query must be between 1 and the group size (8), got 0"),
    (["--positives_per_query", "9"], "--positives_per_query must be between 1 and the group size (8), got 9"),
    (["--positives_per_query", "2", "--positive_passage_no_shuffle"], "give one or the other"),
])
def test_driver_argument_errors(tmp_path, tiny_model_dir, extra, message):
    proc = run_module("mpcl_tevatron.driver.train", "--model_name_or_path", tiny_model_dir, "--output_dir",
                      tmp_path / "out", "--do_train", *extra, check=False)
    assert proc.returncode == 2 and message in proc.stderr


def test_driver_bad_training_file_is_one_line_error(tmp_path, tiny_model_dir):
    d = tmp_path / "train"
    d.mkdir()
    _write(d, [GOOD, "{broken"])
    proc = run_module("mpcl_tevatron.driver.train", "--model_name_or_path", tiny_model_dir, "--output_dir",
                      tmp_path / "out", "--do_train", "--train_dir", d, check=False)
    assert proc.returncode == 2 and proc.stderr.strip().endswith(f"{d}/train.jsonl:2: not valid JSON "
                                                                 "(Expecting property name enclosed in double quotes)")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("where, message", [("file", "a file, not a folder"), ("empty", "no *.json or *.jsonl"),
                                            ("missing", "no such folder")])
def test_driver_train_dir_that_is_no_data_folder_is_one_line_error(tmp_path, tiny_model_dir, where, message):
    target = tmp_path / where
    if where == "file":
        target.write_text(GOOD + "\n")
    elif where == "empty":
        target.mkdir()
    proc = run_module("mpcl_tevatron.driver.train", "--model_name_or_path", tiny_model_dir, "--output_dir",
                      tmp_path / "out", "--do_train", "--train_dir", target, check=False)
    assert proc.returncode == 2 and proc.stderr.strip() == f"error: --train_dir {target}: {message}" + (
        " (give the folder of the train JSONL)" if where != "empty" else " file in it")


def test_driver_help_lists_the_objectives():
    out = run_module("mpcl_tevatron.driver.train", "--help").stdout
    assert "mp_infonce" in out and "--typo_variants" in out and "--negatives_x_device" in out


def test_driver_help_says_the_encoder_settings_come_from_the_base_model():
    """--pooling, --normalize, the prefixes and --temperature default to the base model's own: --help must not
    print the dataclass's fallback as "the default" (it did: "(default: cls)", "(default: 1.0)"); every other
    flag keeps HfArgumentParser's "(default: ...)"."""
    from mpcl_tevatron.adapters.v1.train import V1TrainRun
    from mpcl_tevatron.training import MODEL_DEFAULTS

    parser = V1TrainRun().parser()
    formatter = parser._get_formatter()
    texts = {a.dest: formatter._get_help_string(a) for a in parser._actions}
    for dest in MODEL_DEFAULTS:
        assert not texts[dest].endswith("(default: %(default)s)") and "base model" in texts[dest], dest
    assert texts["typo_variants"].endswith("(default: %(default)s)")


def test_encoder_settings_come_from_the_base_model_unless_a_flag_is_given(tmp_path):
    from mpcl_tevatron.arguments import resolve_encoder
    from mpcl_tevatron.encoder_config import EncoderConfig
    EncoderConfig(pooling="mean", normalize=True, query_prefix="query: ", passage_prefix="passage: ").save(tmp_path)
    args = EncoderArguments(normalize=False)
    config = resolve_encoder(str(tmp_path), {"loss", "normalize"}, args)
    assert config == EncoderConfig(pooling="mean", normalize=False, query_prefix="query: ",
                                   passage_prefix="passage: ", temperature=1.0)
    assert args.query_prefix == "query: "  # written back, so the dataset's prefixes follow
    assert resolve_encoder(str(tmp_path / "nothing"), set(), EncoderArguments()) == EncoderConfig(temperature=1.0)


@pytest.mark.parametrize("recorded, normalize, given, expected", [
    (None, True, None, 0.01),    # a normalised encoder with no recorded temperature: e5's 0.01
    (None, False, None, 1.0),    # an unnormalised one: plain dot products
    (0.05, True, None, 0.05),    # the base model's recorded temperature wins over the default
    (0.05, True, 0.2, 0.2),      # and a flag wins over both
])
def test_score_temperature_default_comes_from_the_base_model(tmp_path, recorded, normalize, given, expected):
    from mpcl_tevatron.arguments import resolve_encoder
    from mpcl_tevatron.encoder_config import EncoderConfig
    EncoderConfig(pooling="mean", normalize=normalize, temperature=recorded).save(tmp_path)
    args = EncoderArguments(**({} if given is None else {"temperature": given}))
    config = resolve_encoder(str(tmp_path), set() if given is None else {"temperature"}, args)
    assert config.temperature == expected == args.temperature
    assert EncoderConfig.for_model("intfloat/multilingual-e5-small").score_temperature == 0.01


def test_v1_model_divides_the_objective_scores_by_the_temperature(tiny_model_dir):
    """The v1 model's training loss at the recorded temperature is Tevatron's InfoNCE on cosine / tau."""
    import torch
    import torch.nn.functional as F
    from tevatron.arguments import DataArguments, DenseTrainingArguments, ModelArguments

    from mpcl_tevatron.adapters.v1 import TypoDenseModel
    from mpcl_tevatron.encoder_config import EncoderConfig
    from mpcl_tevatron.losses import get_loss

    model_args = ModelArguments(model_name_or_path=str(tiny_model_dir))
    train_args = DenseTrainingArguments(output_dir="unused", report_to="none")
    config = EncoderConfig(pooling="mean", normalize=True, temperature=0.05)
    model = TypoDenseModel.build(model_args, DataArguments(), train_args, encoder_config=config,
                                 objective=get_loss("infonce", n_passages=2))
    torch.manual_seed(0)
    query = {"input_ids": torch.randint(5, 40, (3, 7)), "attention_mask": torch.ones(3, 7, dtype=torch.long)}
    passage = {"input_ids": torch.randint(5, 40, (6, 9)), "attention_mask": torch.ones(6, 9, dtype=torch.long)}
    model.train()
    out = model(query=query, passage=passage)
    expected = F.cross_entropy(out.q_reps @ out.p_reps.T / 0.05, torch.arange(3) * 2)
    assert float(out.loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-5)
    # normalize: every training representation has unit norm (cosine logits)
    for reps in (out.q_reps, out.p_reps):
        assert torch.allclose(reps.detach().norm(dim=-1), torch.ones(len(reps)), atol=1e-5)


def _model_with(tmp_path, tiny_model_dir, name, **settings):
    """A copy of the tiny model whose ``mpcl_config.json`` records ``settings``."""
    import shutil

    from mpcl_tevatron.encoder_config import EncoderConfig

    d = tmp_path / name
    shutil.copytree(tiny_model_dir, d)
    EncoderConfig(**settings).save(str(d))
    return d


def _encode(tmp_path, model, texts, is_query, name):
    import pickle

    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps({"text_id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
    run_module("mpcl_tevatron.driver.encode", "--model_name_or_path", model, "--output_dir", tmp_path / "tmp",
               "--encode_in_path", path, "--encoded_save_path", tmp_path / f"{name}.pkl", "--q_max_len", 16,
               "--p_max_len", 16, *(["--encode_is_qry"] if is_query else []))
    reps, ids = pickle.load(open(tmp_path / f"{name}.pkl", "rb"))
    return reps[[list(ids).index(str(i)) for i in range(len(texts))]]


def test_encode_applies_the_models_normalisation_and_each_sides_prefix_as_tokens(tmp_path, tiny_model_dir):
    """A model recording normalisation and prefixes encodes a query as the plain model encodes its query prefix
    and text (the prefix is tokens before the text), a passage with the passage prefix, and both at unit norm;
    the plain model's vectors are not (so a dropped normalisation shows)."""
    import numpy as np

    texts = ["found", "north city"]
    tuned = _model_with(tmp_path, tiny_model_dir, "tuned", pooling="mean", normalize=True, query_prefix="where ",
                        passage_prefix="river ")
    plain = _model_with(tmp_path, tiny_model_dir, "plain", pooling="mean", normalize=False)
    queries = _encode(tmp_path, tuned, texts, True, "q")
    passages = _encode(tmp_path, tuned, texts, False, "p")
    by_hand_q = _encode(tmp_path, plain, [f"where {t}" for t in texts], False, "hq")
    by_hand_p = _encode(tmp_path, plain, [f"river {t}" for t in texts], True, "hp")  # the side takes no prefix
    assert np.allclose(np.linalg.norm(queries, axis=1), 1, atol=1e-5)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1, atol=1e-5)
    assert not np.allclose(np.linalg.norm(by_hand_q, axis=1), 1, atol=1e-2)
    assert np.allclose(queries, by_hand_q / np.linalg.norm(by_hand_q, axis=1, keepdims=True), atol=1e-5)
    assert np.allclose(passages, by_hand_p / np.linalg.norm(by_hand_p, axis=1, keepdims=True), atol=1e-5)
    assert not np.allclose(queries, passages, atol=1e-3)


def test_training_items_carry_each_sides_prefix_as_tokens(tiny_model_dir):
    """The query (and its typo'd variants) start with the query prefix's tokens, every passage with the
    passage prefix's, in Tevatron's own sampling and in the plugin's (P > 1)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    data_args = SimpleNamespace(q_max_len=32, p_max_len=16, train_n_passages=3, positive_passage_no_shuffle=False,
                                negative_passage_no_shuffle=False)
    groups = [{"query": "where is the abc found", "positives": ["abc is found", "abc lies"],
               "positive_keys": ["a", "b"], "negatives": ["neg one", "neg two"], "negative_keys": ["n1", "n2"]}]
    trainer = SimpleNamespace(state=SimpleNamespace(epoch=0), args=SimpleNamespace(seed=42))
    encoder = EncoderArguments(query_prefix="north ", passage_prefix="south ")
    for positives in (PositivesArguments(), PositivesArguments(positives_per_query=2)):
        ds = TypoTrainDataset(data_args, groups, tok, TypoArguments(typo_variants=2, typo_seed=1), encoder,
                              trainer=trainer, positives_args=positives)
        query, passages, typos, _ = ds[0]
        assert query["input_ids"] == tok("north where is the abc found")["input_ids"]
        assert len(typos) == 2 and all(t["input_ids"][:2] == tok("north")["input_ids"][:2] for t in typos)
        texts = {tuple(tok(f"south {t}")["input_ids"]) for t in ["abc is found", "abc lies", "neg one", "neg two"]}
        assert len(passages) == 3 and all(tuple(p["input_ids"]) in texts for p in passages)


@pytest.mark.parametrize("labelled", [False, True])
def test_group_sampling_follows_the_training_seed(tiny_model_dir, labelled):
    """Tevatron's sampling and the plugin's (P > 1 or masking) draw each item's negatives from the training
    seed: the same seed gives the same groups, seeds 42 and 43 different ones."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    data_args = SimpleNamespace(q_max_len=32, p_max_len=16, train_n_passages=3, positive_passage_no_shuffle=False,
                                negative_passage_no_shuffle=False)
    groups = [{"query": f"where is the {w} found", "positives": [f"{w} is found"], "positive_keys": [w],
               "negatives": [f"{w} {c}" for c in "abcdefgh"], "negative_keys": [f"{w}{c}" for c in "abcdefgh"]}
              for w in ("abc", "north", "river", "south")]
    positives = PositivesArguments(mask_false_negatives=True) if labelled else PositivesArguments()
    assert positives.labelled == labelled

    def passages(seed):
        trainer = SimpleNamespace(state=SimpleNamespace(epoch=0), args=SimpleNamespace(seed=seed))
        ds = TypoTrainDataset(data_args, groups, tok, TypoArguments(), EncoderArguments(), trainer=trainer,
                              positives_args=positives)
        return [[tuple(p["input_ids"]) for p in ds[i][1]] for i in range(len(groups))]

    assert passages(42) == passages(42)
    assert passages(42) != passages(43)


def test_mask_false_negatives_reaches_the_collator_as_given(tmp_path, tiny_model_dir, monkeypatch):
    """--mask_false_negatives false at P = 2 reaches the collator off; the default at P = 2 is on, and so is the
    bare flag (README's spelling)."""
    from transformers import AutoTokenizer

    from mpcl_tevatron.adapters.v1 import train as v1_train
    from mpcl_tevatron.arguments import parse_arguments

    run = v1_train.V1TrainRun()
    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    made = []
    monkeypatch.setattr(v1_train, "TypoDenseTrainer", lambda **kwargs: made.append(kwargs["data_collator"]))
    common = ["--model_name_or_path", str(tiny_model_dir), "--output_dir", str(tmp_path), "--train_n_passages", "4",
              "--positives_per_query", "2"]
    for extra, expected in ((["--mask_false_negatives", "false"], False), ([], True),
                            (["--mask_false_negatives", "true"], True), (["--mask_false_negatives"], True),
                            (["--mask_false_negatives", "--seed", "3"], True)):
        s = run.settings(*parse_arguments(run.parser(), common + extra))
        run.build_trainer(s, None, None, tok)
        assert made[-1].mask_false_negatives is expected


def test_teacher_temperature_reaches_the_self_teaching_objectives(tmp_path, tiny_model_dir):
    """--teacher_temperature, parsed by the train driver, is the objective's teacher temperature, and it changes
    the loss."""
    import torch

    from mpcl_tevatron.adapters.v1.train import V1TrainRun
    from mpcl_tevatron.arguments import parse_arguments
    from mpcl_tevatron.losses import get_loss

    run = V1TrainRun()
    for name in ("dst", "dst_mp"):
        s = run.settings(*parse_arguments(run.parser(), ["--model_name_or_path", str(tiny_model_dir), "--output_dir",
                                                         str(tmp_path), "--teacher_temperature", "3.5"]))
        objective = get_loss(name, **s.objective.hyperparameters(2, name))
        assert objective.temperature == 3.5
        torch.manual_seed(0)
        q, p, t = torch.randn(3, 8), torch.randn(6, 8), torch.randn(6, 8)
        at_1 = get_loss(name, **s.objective.hyperparameters(2, name) | {"temperature": 1.0})(q, p, t)
        assert not torch.isclose(objective(q, p, t), at_1)


def test_sentence_transformers_prompts_map_to_the_query_and_passage_sides(tmp_path):
    from mpcl_tevatron.encoder_config import EncoderConfig

    (tmp_path / "modules.json").write_text("[]")
    for prompts, expected in (({"query": "q: ", "document": "d: "}, ("q: ", "d: ")),
                              ({"query": "q: ", "passage": "p: ", "document": "d: "}, ("q: ", "p: ")),
                              ({"passage": "p: "}, ("", "p: "))):
        (tmp_path / "config_sentence_transformers.json").write_text(json.dumps({"prompts": prompts}))
        config = EncoderConfig.for_model(str(tmp_path))
        assert (config.query_prefix, config.passage_prefix) == expected


def test_encode_missing_input_is_one_line_and_exit_2_as_train(tmp_path, tiny_model_dir):
    """The encode main ends bad input as the train main does: one line naming the file, exit code 2."""
    missing = tmp_path / "nowhere.jsonl"
    proc = run_module("mpcl_tevatron.driver.encode", "--model_name_or_path", tiny_model_dir, "--output_dir",
                      tmp_path / "tmp", "--encode_in_path", missing, "--encoded_save_path", tmp_path / "q.pkl",
                      check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and str(missing) in last


def test_encode_bf16_runs_the_encoder_in_bfloat16_and_keeps_the_ids(tmp_path, tiny_model_dir, synthetic):
    """``--bf16`` changes the arithmetic (the representations differ from float32's) but not what is encoded:
    the same ids in the same order, float32 output, each representation close to its float32 twin."""
    import pickle

    import numpy as np

    reps = {}
    for name, flags in (("fp32", []), ("bf16", ["--bf16", "--use_cpu"])):  # HF wants --use_cpu with it
        run_module("mpcl_tevatron.driver.encode", "--model_name_or_path", tiny_model_dir, "--output_dir",
                   tmp_path / "tmp", "--encode_in_path", synthetic / "queries.jsonl", "--encoded_save_path",
                   tmp_path / f"{name}.pkl", "--encode_is_qry", "--q_max_len", 16, "--per_device_eval_batch_size",
                   8, "--dataset_proc_num", 1, *flags)
        with open(tmp_path / f"{name}.pkl", "rb") as f:
            reps[name] = pickle.load(f)
    (fp32, ids32), (bf16, ids16) = reps["fp32"], reps["bf16"]
    assert ids32 == ids16 and bf16.dtype == np.float32 and fp32.shape == bf16.shape
    assert not np.array_equal(fp32, bf16)
    cosine = (fp32 * bf16).sum(1) / np.linalg.norm(fp32, axis=1) / np.linalg.norm(bf16, axis=1)
    assert cosine.min() > 0.99


UPSTREAM_CONTRACT_LOSS = """
import torch
from torch import nn


class HalfInfoNCE(nn.Module):
    \"\"\"Written to the upstream patch's contract only: cls(n_passages=8), loss(q, p, variant_reps).\"\"\"

    def __init__(self, n_passages=8):
        super().__init__()
        self.n_passages = n_passages

    def forward(self, q_reps, p_reps, variant_reps=None):
        scores = q_reps @ p_reps.T
        target = torch.arange(scores.size(0)) * self.n_passages
        return 0.5 * torch.nn.functional.cross_entropy(scores, target)
"""


@pytest.mark.slow
def test_a_loss_written_to_the_upstream_contract_trains_under_the_plugin(tmp_path, tiny_model_dir, synthetic):
    """An installed package (a dist-info with a 'tevatron.losses' entry point) adds a loss written exactly to
    the upstream registry's contract; the plugin's driver trains with it, the named flags given or not."""
    site = tmp_path / "site"
    (site / "half_loss_pkg").mkdir(parents=True)
    (site / "half_loss_pkg" / "__init__.py").write_text(UPSTREAM_CONTRACT_LOSS)
    info = site / "half_loss_pkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: half-loss-pkg\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[tevatron.losses]\nhalf_infonce = half_loss_pkg:HalfInfoNCE\n")
    from .conftest import ROOT
    env = {"PYTHONPATH": f"{site}:{ROOT}"}
    proc = run_module("mpcl_tevatron.driver.train", "--model_name_or_path", tiny_model_dir, "--output_dir",
                      tmp_path / "out", "--train_dir", synthetic / "train", "--do_train", "--loss", "half_infonce",
                      "--gamma", 0.3, "--per_device_train_batch_size", 8, "--train_n_passages", 2, "--max_steps", 2,
                      "--q_max_len", 16, "--p_max_len", 16, "--save_strategy", "no", "--report_to", "none",
                      "--dataset_proc_num", 1, "--use_cpu", env=env)
    assert "objective: HalfInfoNCE" in proc.stderr and (tmp_path / "out" / "mpcl_config.json").exists()
    proc = run_module("mpcl_tevatron.driver.train", "--model_name_or_path", tiny_model_dir, "--output_dir",
                      tmp_path / "out2", "--train_dir", synthetic / "train", "--do_train", "--loss", "half_infonce",
                      "--loss_kwargs", '{"gamma": 0.3}', env=env, check=False)
    assert proc.returncode == 2 and "half_infonce takes no gamma" in proc.stderr
    proc = run_module("mpcl_tevatron.driver.train", "--model_name_or_path", tiny_model_dir, "--output_dir",
                      tmp_path / "out3", "--train_dir", synthetic / "train", "--do_train", "--loss", "half_infonce",
                      "--train_n_passages", 2, "--positives_per_query", 2, env=env, check=False)
    assert proc.returncode == 2 and proc.stderr.strip().endswith(
        "error: --loss half_infonce takes no passage_labels, so it cannot train with --positives_per_query > 1 or "
        "--mask_false_negatives")


MULTI = [{"query": f"where is the city {w} found",
          "positive_passages": [{"docid": f"{w}-a", "text": f"{w} is found"}, {"docid": f"{w}-b", "text": f"{w} lies"}]
          [:n_pos], "negative_passages": [{"docid": f"n{i}", "text": f"neg {i}"} for i in range(4)]}
         for w, n_pos in (("abc", 2), ("north", 1), ("river", 2), ("south", 2))]
# query 1's negatives: query 0's positive (a false negative) and one more, both drawn into its 2 negative slots
MULTI[1]["negative_passages"] = [{"docid": "abc-a", "text": "abc is found"}, {"docid": "n1", "text": "neg 1"}]


def _multi_dataset(tmp_path, tiny_model_dir, p=2, mask=None, epoch=0):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    groups, _ = read_train_jsonl([_write(tmp_path, [json.dumps(r) for r in MULTI])])
    data_args = SimpleNamespace(q_max_len=32, p_max_len=16, train_n_passages=4, positive_passage_no_shuffle=False,
                                negative_passage_no_shuffle=False)
    trainer = SimpleNamespace(state=SimpleNamespace(epoch=epoch), args=SimpleNamespace(seed=42))
    positives = PositivesArguments(positives_per_query=p, mask_false_negatives=mask)
    return TypoTrainDataset(data_args, groups, tok, TypoArguments(typo_variants=0), EncoderArguments(),
                            trainer=trainer, positives_args=positives), tok


def test_several_positives_per_group_with_their_ids(tmp_path, tiny_model_dir):
    ds, tok = _multi_dataset(tmp_path, tiny_model_dir)
    q, passages, typos, group = ds[0]
    assert len(passages) == 4 and sorted(group.positives) == ["abc is found", "abc lies"]
    assert [p["input_ids"] for p in passages] == [tok(t)["input_ids"] for t in group.passages]
    _, _, _, single = ds[1]  # one positive for two slots: repeated, the repeat without an id
    assert single.positives == ["north is found"] * 2 and single.slot_ids[1] == REPEAT
    later, _ = _multi_dataset(tmp_path, tiny_model_dir, epoch=1)
    assert later[0][3].positives == group.positives[::-1]  # the next epoch starts at the next positive
    q, p, t, ids = TypoQPCollator(tok, mask_false_negatives=True)([ds[i] for i in range(4)])
    assert p["input_ids"].shape[0] == 16 and t is None
    labels = ids.labels()
    assert labels.shape == (4, 16) and (labels == 1).sum(dim=1).tolist() == [2, 1, 2, 2]
    # query 0's positive abc-a sits among query 1's passages when sampled there: not query 0's negative
    column = [c for c in range(4, 8) if ids.passage_ids[c] == passage_id("docid:abc-a")]
    assert column and all(labels[0, c] == -1 for c in column) and all(labels[1, c] == 0 for c in column)
    off = TypoQPCollator(tok, mask_false_negatives=False)([ds[i] for i in range(4)])[3].labels()
    assert all(off[0, c] == 0 for c in column)


@pytest.mark.slow
def test_train_with_several_positives_and_masking(tmp_path, tiny_model_dir):
    d = tmp_path / "train"
    d.mkdir()
    rows = [dict(r, query=r["query"] + f" {i}") for i in range(4) for r in MULTI]
    _write(d, [json.dumps(r) for r in rows])
    proc = run_module("mpcl_tevatron.driver.train", "--model_name_or_path", tiny_model_dir, "--output_dir",
                      tmp_path / "out", "--train_dir", d, "--do_train", "--loss", "dst_mp", "--typo_variants", 2,
                      "--positives_per_query", 2, "--per_device_train_batch_size", 4, "--train_n_passages", 4,
                      "--max_steps", 3, "--q_max_len", 16, "--p_max_len", 16, "--save_strategy", "no",
                      "--report_to", "none", "--dataset_proc_num", 1, "--use_cpu", "--logging_steps", 1)
    assert (tmp_path / "out" / "mpcl_config.json").exists() and "'loss'" in proc.stderr + proc.stdout
    assert "form=eq4); positives per query 2, false negatives masked" in proc.stderr  # what is in effect, logged


@pytest.mark.parametrize("pooling, expected", [
    ({"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}, "mean"),  # sentence-transformers <= 5
    ({"pooling_mode_cls_token": True}, "cls"),
    ({"pooling_mode": "mean"}, "mean"),  # sentence-transformers 6
    ({"pooling_mode": "cls"}, "cls"),
    ({"pooling_mode": "max"}, "pooling ['max'] is not supported"),
    ({"pooling_mode_max_tokens": True}, "pooling ['pooling_mode_max_tokens'] is not supported"),
])
def test_sentence_transformers_pooling_in_both_formats(tmp_path, pooling, expected):
    from mpcl_tevatron.encoder_config import EncoderConfig

    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"embedding_dimension": 8, **pooling}))
    (tmp_path / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]))
    if expected in ("mean", "cls"):
        config = EncoderConfig.from_sentence_transformers(str(tmp_path))
        assert config.pooling == expected and config.normalize
    else:
        with pytest.raises(ValueError, match=re.escape(expected)):
            EncoderConfig.from_sentence_transformers(str(tmp_path))
