"""The Tevatron v2 adapter. v2 (``tevatron.retriever``) is not on PyPI: the README's test command (v1 installed)
skips these, and ``.ci/run`` runs them again in a venv with ``../shared/tevatron-v2`` installed over the project
(``pip install --no-deps <tevatron checkout> peft``)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch

from mpcl_tevatron.arguments import PositivesArguments, TypoArguments
from mpcl_tevatron.evaluation import evaluate, read_qrels, read_run
from mpcl_tevatron.losses import get_loss
from mpcl_tevatron.passages import REPEAT, passage_id

from .conftest import run_module

pytest.importorskip("tevatron.retriever", reason="Tevatron v2 (tevatron.retriever, installed from source) is "
                                                 "not installed; PyPI's tevatron is v1")


def _data_args(**overrides):
    from tevatron.retriever.arguments import DataArguments

    return DataArguments(**{"query_max_len": 16, "passage_max_len": 24, "train_group_size": 2, **overrides})


def _dataset(synthetic, k=3, augment=0.0, epoch=0, prefix="query: ", uses_typos=True):
    from mpcl_tevatron.adapters.v2 import TypoTrainDataset

    data_args = _data_args(dataset_path=str(synthetic / "train" / "train.jsonl"), query_prefix=prefix)
    typo_args = TypoArguments(typo_variants=k, typo_augment_prob=augment, typo_seed=1)
    ds = TypoTrainDataset(data_args, typo_args, uses_typos=uses_typos)
    ds.set_trainer(SimpleNamespace(state=SimpleNamespace(epoch=epoch), args=SimpleNamespace(seed=42)))
    return ds


def test_dataset_items_carry_k_prefixed_deterministic_variants(synthetic):
    query, documents, typos, group = _dataset(synthetic)[1]
    assert group is None  # one positive, no masking: v2's own sampling
    assert query[0] == "query: where is the " + query[0].split()[-2] + " found" and len(documents) == 2
    assert len(typos) == 3 and all(t.startswith("query: ") and t != query[0] for t in typos)
    assert _dataset(synthetic)[1][2] == typos  # same seed, same epoch: same variants
    assert _dataset(synthetic, epoch=1)[1][2] != typos  # regenerated every epoch
    always = _dataset(synthetic, augment=1.0)
    assert all(always[i][0][0] in always[i][2] for i in range(4))
    # an objective that reads no variant (infonce) gets none, while augmentation picks the same variants
    skips = _dataset(synthetic, augment=1.0, uses_typos=False)
    assert all(skips[i][2] == [] and skips[i][0] == always[i][0] for i in range(4))


def test_collator_tokenizes_typo_queries_as_v2_tokenizes_queries(synthetic, tiny_model_dir):
    from transformers import AutoTokenizer

    from mpcl_tevatron.adapters.v2 import TypoTrainCollator

    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    ds = _dataset(synthetic, k=2, prefix="")
    features = [ds[i] for i in range(4)]
    collator = TypoTrainCollator(ds.data_args, tok)
    q, p, t, ids = collator(features)
    assert ids is None
    assert q["input_ids"].shape[0] == 4 and p["input_ids"].shape[0] == 8 and t["input_ids"].shape[0] == 8
    again = collator.tokenize_queries([f[0][0] for f in features])
    assert torch.equal(again["input_ids"], q["input_ids"]) and torch.equal(again["attention_mask"],
                                                                           q["attention_mask"])
    assert collator([(f[0], f[1], [], None) for f in features])[2] is None


@pytest.mark.parametrize("temperature", [1.0, 0.05])
def test_infonce_through_the_adapter_is_v2s_own_loss(tiny_model_dir, temperature):
    from tevatron.retriever.arguments import ModelArguments, TevatronTrainingArguments
    from tevatron.retriever.modeling import DenseModel

    from mpcl_tevatron.adapters.v2 import TypoDenseModel

    model_args = ModelArguments(model_name_or_path=str(tiny_model_dir), pooling="mean", temperature=temperature)
    train_args = TevatronTrainingArguments(output_dir="unused", report_to="none")
    ours = TypoDenseModel.build(model_args, train_args, objective=get_loss("infonce", n_passages=2))
    theirs = DenseModel.build(model_args, train_args)
    torch.manual_seed(0)
    query = {"input_ids": torch.randint(5, 40, (3, 7)), "attention_mask": torch.ones(3, 7, dtype=torch.long)}
    passage = {"input_ids": torch.randint(5, 40, (6, 9)), "attention_mask": torch.ones(6, 9, dtype=torch.long)}
    ours.train(), theirs.train()
    a, b = ours(query=query, passage=passage).loss, theirs(query=query, passage=passage).loss
    if temperature == 1.0:
        assert torch.equal(a, b)  # bit for bit
    else:
        assert float(a.detach()) == pytest.approx(float(b.detach()), rel=1e-5)


def _v2_files(synthetic, d):
    """v2's encode input: corpus with docid/text, queries with query_id/query."""
    for name, key, out_id, out_text in (("corpus", "text", "docid", "text"), ("queries", "text", "query_id",
                                                                                   "query")):
        with open(synthetic / f"{name}.jsonl") as f, open(d / f"{name}_v2.jsonl", "w") as o:
            for line in f:
                r = json.loads(line)
                o.write(json.dumps({out_id: r["text_id"], out_text: r[key]}) + "\n")


@pytest.mark.slow
def test_train_with_mp_infonce_then_v2s_own_encode_and_search(tmp_path, tiny_model_dir, synthetic):
    model = tmp_path / "model"
    run_module("mpcl_tevatron.driver.train", "--model_name_or_path", tiny_model_dir, "--output_dir", model,
               "--dataset_path", synthetic / "train" / "train.jsonl", "--loss", "mp_infonce", "--typo_variants", 3,
               "--pooling", "mean", "--train_group_size", 2, "--per_device_train_batch_size", 8,
               "--max_steps", 20, "--learning_rate", 1e-3, "--seed", 7, "--query_max_len", 16,
               "--passage_max_len", 24, "--save_strategy", "no", "--report_to", "none", "--use_cpu")
    assert json.load(open(model / "mpcl_config.json"))["pooling"] == "mean"
    _v2_files(synthetic, tmp_path)
    common = ["--model_name_or_path", model, "--output_dir", tmp_path / "tmp", "--pooling", "mean",
              "--attn_implementation", "sdpa", "--query_max_len", 16, "--passage_max_len", 24,
              "--per_device_eval_batch_size", 16]
    for shard in (0, 1):  # v2's own sharded encoding
        run_module("tevatron.retriever.driver.encode", *common, "--dataset_path", tmp_path / "corpus_v2.jsonl",
                   "--encode_output_path", tmp_path / f"corpus.{shard}.pkl", "--dataset_number_of_shards", 2,
                   "--dataset_shard_index", shard)
    run_module("tevatron.retriever.driver.encode", *common, "--dataset_path", tmp_path / "queries_v2.jsonl",
               "--encode_output_path", tmp_path / "q.pkl", "--encode_is_query")
    # The plugin's encode reads pooling from mpcl_config.json: the same query representations with no flags.
    run_module("mpcl_tevatron.driver.encode", "--model_name_or_path", model, "--output_dir", tmp_path / "tmp",
               "--query_max_len", 16, "--per_device_eval_batch_size", 16, "--dataset_path",
               tmp_path / "queries_v2.jsonl", "--encode_output_path", tmp_path / "q_plugin.pkl", "--encode_is_query")
    import pickle

    (ra, ia), (rb, ib) = (pickle.load(open(tmp_path / n, "rb")) for n in ("q.pkl", "q_plugin.pkl"))
    assert ia == ib and torch.allclose(torch.as_tensor(ra), torch.as_tensor(rb), atol=1e-6)
    run_module("tevatron.retriever.driver.search", "--query_reps", tmp_path / "q.pkl", "--passage_reps",
               tmp_path / "corpus.*.pkl", "--depth", 20, "--batch_size", -1, "--save_text",
               "--save_ranking_to", tmp_path / "run.txt")
    scores = evaluate(read_qrels(str(synthetic / "qrels.txt")), read_run(str(tmp_path / "run.txt")))
    random_mrr10 = sum(1.0 / r for r in range(1, 11)) / 48
    assert scores["mrr@10"] > 3 * random_mrr10 and scores["recall@100"] == 1.0


def test_v2_driver_rejects_grad_cache_and_unknown_loss(tmp_path, tiny_model_dir):
    for flags, message in ((["--grad_cache"], "--grad_cache"), (["--loss", "nope"], "unknown --loss 'nope'")):
        proc = run_module("mpcl_tevatron.driver.train", "--model_name_or_path", tiny_model_dir, "--output_dir",
                          tmp_path / "out", "--dataset_path", "x.jsonl", *flags, check=False)
        assert proc.returncode == 2 and message in proc.stderr


def _multi_files(tmp_path):
    """v2's two formats, the same 4 queries: legacy (passages inline) and docid (a corpus). Query 0 has 2
    positives, query 1 one; query 1's negatives hold query 0's first positive (a false negative)."""
    docs = {f"{w}-{x}": f"{w} {x} text" for w in "abcd" for x in "pq"}
    rows = [{"query_id": f"q{i}", "query": f"where is {w}", "pos": [f"{w}-p", f"{w}-q"][: 1 if i == 1 else 2],
             "neg": ["a-p", "c-q"] if i == 1 else [f"{v}-q" for v in "abcd" if v != w][:2]}
            for i, w in enumerate("abcd")]
    legacy, docid, corpus = tmp_path / "legacy.jsonl", tmp_path / "docid.jsonl", tmp_path / "corpus.jsonl"
    legacy.write_text("".join(json.dumps({"query_id": r["query_id"], "query": r["query"],
                                          "positive_passages": [{"docid": d, "text": docs[d]}
                                                                for d in r["pos"]],
                                          "negative_passages": [{"docid": d, "text": docs[d]}
                                                                for d in r["neg"]]}) + "\n" for r in rows))
    docid.write_text("".join(json.dumps({"query_id": r["query_id"], "query_text": r["query"],
                                         "positive_document_ids": r["pos"], "negative_document_ids": r["neg"]})
                             + "\n" for r in rows))
    corpus.write_text("".join(json.dumps({"docid": d, "text": t}) + "\n" for d, t in docs.items()))
    return legacy, docid, corpus


@pytest.mark.parametrize("layout", ["legacy", "docid"])
def test_several_positives_per_group_in_both_v2_formats(tmp_path, tiny_model_dir, layout):
    from transformers import AutoTokenizer

    from mpcl_tevatron.adapters.v2 import TypoTrainCollator, TypoTrainDataset

    legacy, docid, corpus = _multi_files(tmp_path)
    extra = {"dataset_path": str(legacy)} if layout == "legacy" else {"dataset_path": str(docid),
                                                                      "corpus_name": "json",
                                                                      "corpus_path": str(corpus)}
    data_args = _data_args(train_group_size=4, passage_prefix="passage: ", **extra)
    ds = TypoTrainDataset(data_args, TypoArguments(typo_variants=0),
                          positives_args=PositivesArguments(positives_per_query=2))
    ds.set_trainer(SimpleNamespace(state=SimpleNamespace(epoch=0), args=SimpleNamespace(seed=42)))
    query, documents, typos, group = ds[0]
    texts = [d[0] for d in documents]
    assert len(texts) == 4 and sorted(texts[:2]) == ["passage: a p text", "passage: a q text"]
    assert group.slot_ids[:2] == [passage_id(f"docid:{t.split()[1]}-{t.split()[2]}") for t in texts[:2]]
    single = ds[1][3]
    assert single.slot_ids[1] == REPEAT and ds[1][1][0] == ds[1][1][1]
    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    q, p, t, ids = TypoTrainCollator(data_args, tok, mask_false_negatives=True)([ds[i] for i in range(4)])
    labels = ids.labels()
    assert p["input_ids"].shape[0] == 16 and (labels == 1).sum(dim=1).tolist() == [2, 1, 2, 2]
    false_negative = [c for c in range(4, 8) if ids.passage_ids[c] == passage_id("docid:a-p")]
    assert false_negative and all(labels[0, c] == -1 and labels[1, c] == 0 for c in false_negative)


@pytest.mark.slow
def test_v2_trains_with_several_positives(tmp_path, tiny_model_dir):
    legacy, _, _ = _multi_files(tmp_path)
    run_module("mpcl_tevatron.driver.train", "--model_name_or_path", tiny_model_dir, "--output_dir",
               tmp_path / "model", "--dataset_path", legacy, "--loss", "mp_infonce", "--typo_variants", 2,
               "--positives_per_query", 2, "--pooling", "mean", "--train_group_size", 3,
               "--per_device_train_batch_size", 4, "--max_steps", 2, "--query_max_len", 16,
               "--passage_max_len", 16, "--save_strategy", "no", "--report_to", "none", "--use_cpu")
    assert (tmp_path / "model" / "mpcl_config.json").exists()


def test_driver_help_says_the_encoder_settings_come_from_the_base_model():
    """v2's own --pooling, --normalize and --temperature (its ModelArguments) default, under the plugin, to
    the base model's mpcl_config.json: --help says so instead of v2's fallback."""
    from mpcl_tevatron.adapters.v2.train import V2TrainRun
    from mpcl_tevatron.training import MODEL_DEFAULTS

    parser = V2TrainRun().parser()
    formatter = parser._get_formatter()
    texts = {a.dest: formatter._get_help_string(a) for a in parser._actions}
    for dest in set(MODEL_DEFAULTS) & set(texts):
        assert "base model" in texts[dest], dest
    assert {"pooling", "normalize", "temperature"} <= set(texts)
    assert texts["pooling"].endswith("(default: the base model's own, from its mpcl_config.json; else %(default)s)")


def _patched_upstream() -> bool:
    """Whether the installed Tevatron v2 carries the upstream series (its --positives_per_query)."""
    import dataclasses

    from tevatron.retriever.arguments import DataArguments
    return "positives_per_query" in {f.name for f in dataclasses.fields(DataArguments)}


@pytest.mark.skipif(not _patched_upstream(), reason="needs Tevatron v2 with upstream/tevatron-v2's patches (CI)")
def test_the_plugins_dst_mp_trains_at_two_positives_under_the_patched_upstream_driver(tmp_path, tiny_model_dir):
    """Upstream's own driver, with the plugin installed: --loss dst_mp (the plugin's, through the entry-point
    group) at --positives_per_query 2, on variants the plugin's CLI wrote. The driver hands the loss
    passage_mask (patch 4), which every plugin objective takes."""
    legacy, _, _ = _multi_files(tmp_path)
    run_module("mpcl_tevatron.typos", legacy, "--out_dir", tmp_path / "variants", "--query_variants", 2)
    (train,) = (tmp_path / "variants").glob("*.variants.jsonl")
    run_module("tevatron.retriever.driver.train", "--model_name_or_path", tiny_model_dir, "--output_dir",
               tmp_path / "model", "--dataset_path", train, "--loss", "dst_mp", "--query_variants", 2,
               "--positives_per_query", 2, "--pooling", "mean", "--train_group_size", 3,
               "--per_device_train_batch_size", 4, "--max_steps", 2, "--query_max_len", 16,
               "--passage_max_len", 16, "--save_strategy", "no", "--report_to", "none", "--use_cpu",
               "--attn_implementation", "sdpa")  # v2's default, FlashAttention2, is not on a CPU
    assert any((tmp_path / "model").glob("*.safetensors"))


@pytest.mark.skipif(not _patched_upstream(), reason="needs Tevatron v2 with upstream/tevatron-v2's patches (CI)")
def test_the_plugins_infonce_reads_passage_mask_as_upstreams_own_infonce_does():
    """The same representations and mask: the plugin's infonce equals the series' built-in one."""
    from tevatron.retriever.loss import InfoNCELoss

    from mpcl_tevatron.losses.infonce import InfoNCE

    torch.manual_seed(0)
    q, p = torch.randn(2, 8), torch.randn(6, 8)
    mask = torch.tensor([1, 1, 0, 1, -1, 0])
    ours = InfoNCE(n_passages=3)(q, p, None, passage_mask=mask)
    theirs = InfoNCELoss(n_passages=3)(q, p, None, passage_mask=mask)
    assert torch.allclose(ours, theirs, atol=1e-6)
