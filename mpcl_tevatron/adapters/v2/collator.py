from __future__ import annotations

from dataclasses import dataclass
from typing import List

from tevatron.retriever.collator import TrainCollator

from ...passages import PassageIds


@dataclass
class TypoTrainCollator(TrainCollator):
    """v2's ``TrainCollator`` plus the typo'd queries and the passages' ids: returns ``(queries [B],
    passages [B*n], typo_queries [B*K] query-major or None when K = 0, passages.PassageIds or None when the
    items carry no group)``. ``mask_false_negatives``: the ids' flag (``--mask_false_negatives``)."""

    mask_false_negatives: bool = False

    def tokenize_queries(self, texts: List[str]):
        """Queries tokenized and padded with v2's settings for queries (the clean ones go through v2's own
        code; a test checks that both agree)."""
        args = self.data_args
        eos = args.append_eos_token
        encoded = self.tokenizer(texts, padding=False, truncation=True,
                                 max_length=args.query_max_len - 1 if eos else args.query_max_len,
                                 return_attention_mask=False, return_token_type_ids=False,
                                 add_special_tokens=args.add_special_tokens)
        if eos:
            encoded["input_ids"] = [ids + [self.tokenizer.eos_token_id] for ids in encoded["input_ids"]]
        return self.tokenizer.pad(encoded, padding=True, pad_to_multiple_of=args.pad_to_multiple_of,
                                  return_attention_mask=True, return_tensors="pt")

    def __call__(self, features):
        # [:2]: with the upstream series' --positives_per_query, v2 adds its own passage mask; ours is below
        queries, passages = super().__call__([(f[0], f[1]) for f in features])[:2]
        typos = [t for f in features for t in f[2]]
        groups = [f[3] for f in features]
        return (queries, passages, self.tokenize_queries(typos) if typos else None,
                PassageIds.collate(groups, self.mask_false_negatives) if groups[0] is not None else None)
