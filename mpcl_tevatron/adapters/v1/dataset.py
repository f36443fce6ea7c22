from __future__ import annotations

from typing import List, Sequence, Union

from tevatron.data import EncodeDataset, TrainDataset

from ...arguments import EncoderArguments, PositivesArguments, TypoArguments
from ...passages import sample_group
from ...typos.training import TrainingVariants


def tokenize(tokenizer, text: Union[str, Sequence[int]], max_length: int, prefix: str = "") -> dict:
    """``{"input_ids": [...]}`` with special tokens, truncated to ``max_length`` (what v1 got from the
    removed ``encode_plus``). Pre-tokenized input (v1's ``--dataset_name`` preprocessors give ids without
    special tokens) is wrapped in the tokenizer's own special tokens."""
    if isinstance(text, str):
        return {"input_ids": tokenizer(prefix + text, truncation=True, max_length=max_length,
                                       add_special_tokens=True)["input_ids"]}
    template = tokenizer("", add_special_tokens=True)["input_ids"]  # e.g. [CLS, SEP] or <s> </s>
    head, tail = template[:1], template[1:]
    ids = list(text)[: max(0, max_length - len(template))]
    return {"input_ids": head + ids + tail}


class TypoTrainDataset(TrainDataset):
    """Tevatron's ``TrainDataset`` (same passage sampling) whose items also carry K typo'd variants of the
    query (``typos.TrainingVariants``: regenerated every epoch from ``--typo_seed``, the epoch and the query
    text). Items are ``(query, passages, typo_queries, group)``: ``group`` is the ``passages.GroupSlots`` the
    passages came from when ``positives_args.labelled`` (``--positives_per_query`` > 1 or
    ``--mask_false_negatives``; ``passages.sample_group`` then picks them), else None and Tevatron's own
    sampling.

    ``groups``: ``[{"query": str, "positives": [str], "negatives": [str], "positive_keys": [str],
    "negative_keys": [str]}]`` (``io.read_train_jsonl``).
    """

    def __init__(self, data_args, groups: List[dict], tokenizer, typo_args: TypoArguments,
                 encoder_args: EncoderArguments, trainer=None, uses_typos: bool = True,
                 positives_args: PositivesArguments = None):
        super().__init__(data_args, groups, tokenizer, trainer)
        self.encoder_args = encoder_args
        self.variants = TrainingVariants.from_args(typo_args, for_objective=uses_typos)
        self.positives_args = positives_args or PositivesArguments()

    def create_one_example(self, text_encoding, is_query=False):
        if is_query:
            return tokenize(self.tok, text_encoding, self.data_args.q_max_len, self.encoder_args.query_prefix)
        return tokenize(self.tok, text_encoding, self.data_args.p_max_len, self.encoder_args.passage_prefix)

    def __getitem__(self, item):
        group = self.train_data[item]
        slots = None
        if self.positives_args.labelled:
            # Tevatron's per-item seed (an int hashes to itself) and epoch, as its own sampling uses them
            slots = sample_group(group["positives"], group["negatives"], group["positive_keys"],
                                 group["negative_keys"], self.data_args.train_n_passages,
                                 self.positives_args.positives_per_query, hash(item + self.trainer.args.seed),
                                 int(self.trainer.state.epoch))
            encoded_query = self.create_one_example(group["query"], is_query=True)
            encoded_passages = [self.create_one_example(p) for p in slots.passages]
        else:
            encoded_query, encoded_passages = super().__getitem__(item)
        augmented, variants = self.variants.for_item(group["query"], item, self.trainer)
        if augmented is not None:
            encoded_query = self.create_one_example(augmented, is_query=True)
        typo_queries = [self.create_one_example(v, is_query=True) for v in variants]
        return encoded_query, encoded_passages, typo_queries, slots


class TypoEncodeDataset(EncodeDataset):
    """Tevatron's ``EncodeDataset`` tokenizing without ``encode_plus`` and with the model's text prefix.

    Items come shortest text first: with the encode collator padding to each batch's longest, batches of
    similar lengths waste little compute on padding. The order changes nothing downstream, since Tevatron's
    pickle keeps each representation's id next to it."""

    def __init__(self, dataset, tokenizer, max_len=128, prefix: str = ""):
        super().__init__(dataset, tokenizer, max_len=max_len)
        self.prefix = prefix
        texts = self.encode_data[self.input_keys[1]]
        self.order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # characters, or token ids

    def __getitem__(self, item):
        text_id, text = (self.encode_data[self.order[item]][f] for f in self.input_keys)
        return text_id, tokenize(self.tok, text, self.max_len, self.prefix)
