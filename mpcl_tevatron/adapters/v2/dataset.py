from __future__ import annotations

from typing import Tuple

from tevatron.retriever.dataset import TrainDataset

from ...arguments import PositivesArguments, TypoArguments
from ...io import passage_key
from ...passages import GroupSlots, sample_group
from ...typos.training import TrainingVariants


class TypoTrainDataset(TrainDataset):
    """v2's ``TrainDataset`` (same data formats, same passage sampling) whose items also carry K typo'd
    variants of the query, with v2's ``--query_prefix``: ``(query, documents, typo_queries)``, where
    ``typo_queries`` is a list of K strings. The variants are ``typos.TrainingVariants``' (the same as under
    the v1 adapter); ``--typo_augment_prob`` swaps the query itself for one of them (DR+Aug).

    Items end with the ``passages.GroupSlots`` the documents came from when ``positives_args.labelled``
    (``--positives_per_query`` > 1 or ``--mask_false_negatives``: ``passages.sample_group`` picks them, in
    both of v2's formats), else None (v2's own sampling).
    """

    def __init__(self, data_args, typo_args: TypoArguments, trainer=None, uses_typos: bool = True,
                 positives_args: PositivesArguments = None, **kwargs):
        super().__init__(data_args, trainer=trainer, **kwargs)
        self.variants = TrainingVariants.from_args(typo_args, for_objective=uses_typos)
        self.positives_args = positives_args or PositivesArguments()

    def group_slots(self, group: dict, item: int) -> Tuple[GroupSlots, list]:
        """Up to P positives and the hard negatives of ``group``, and their documents as v2 formats them."""
        seed, epoch = hash(item + self.trainer.args.seed), int(self.trainer.state.epoch)  # as v2 seeds its own
        size, p, prefix = self.data_args.train_group_size, self.positives_args.positives_per_query, \
            self.data_args.passage_prefix
        if "positive_passages" in group:  # v2's legacy format: passages inline
            def text(d):
                return d["title"] + " " + d["text"] if "title" in d else d["text"]

            pos, neg = group["positive_passages"], group["negative_passages"] or []
            slots = sample_group(pos, neg, [passage_key(d, text(d)) for d in pos],
                                 [passage_key(d, text(d)) for d in neg], size, p, seed, epoch)
            return slots, [(prefix + text(d), None, None, None) for d in slots.passages]
        pos, neg = group["positive_document_ids"], group["negative_document_ids"] or []
        slots = sample_group(pos, neg, [passage_key({"docid": d}, "") for d in pos],
                             [passage_key({"docid": d}, "") for d in neg], size, p, seed, epoch)
        return slots, [self._get_info_from_docid(d, prefix) for d in slots.passages]

    def __getitem__(self, item):
        query, documents = super().__getitem__(item)
        group = self.train_data[item]
        slots = None
        if self.positives_args.labelled:
            slots, documents = self.group_slots(group, item)
        # v2 reads "query" in its legacy format (positive_passages) and "query_text" in its docid format.
        text = group["query"] if "positive_passages" in group else (group.get("query_text") or "")
        augmented, variants = self.variants.for_item(text, item, self.trainer)
        prefix = self.data_args.query_prefix
        if augmented is not None:
            query = (prefix + augmented, *query[1:])
        return query, documents, [prefix + v for v in variants], slots
