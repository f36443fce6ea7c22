from __future__ import annotations

from tevatron.retriever.dataset import TrainDataset

from ...arguments import TypoArguments
from ...typos.training import TrainingVariants


class TypoTrainDataset(TrainDataset):
    """v2's ``TrainDataset`` (same data formats, same passage sampling) whose items also carry K typo'd
    variants of the query, with v2's ``--query_prefix``: ``(query, documents, typo_queries)``, where
    ``typo_queries`` is a list of K strings. The variants are ``typos.TrainingVariants``' (the same as under
    the v1 adapter); ``--typo_augment_prob`` swaps the query itself for one of them (DR+Aug).
    """

    def __init__(self, data_args, typo_args: TypoArguments, trainer=None, uses_typos: bool = True, **kwargs):
        super().__init__(data_args, trainer=trainer, **kwargs)
        self.variants = TrainingVariants.from_args(typo_args, for_objective=uses_typos)

    def __getitem__(self, item):
        query, documents = super().__getitem__(item)
        group = self.train_data[item]
        # v2 reads "query" in its legacy format (positive_passages) and "query_text" in its docid format.
        text = group["query"] if "positive_passages" in group else (group.get("query_text") or "")
        augmented, variants = self.variants.for_item(text, item, self.trainer)
        prefix = self.data_args.query_prefix
        if augmented is not None:
            query = (prefix + augmented, *query[1:])
        return query, documents, [prefix + v for v in variants]
