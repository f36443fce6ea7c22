from __future__ import annotations

from dataclasses import dataclass
from typing import List

from tevatron.retriever.collator import TrainCollator


@dataclass
class TypoTrainCollator(TrainCollator):
    """v2's ``TrainCollator`` plus the typo'd queries: returns ``(queries [B], passages [B*n], typo_queries
    [B*K] query-major, or None when K = 0)``."""

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
        queries, passages = super().__call__([(f[0], f[1]) for f in features])
        typos = [t for f in features for t in f[2]]
        return queries, passages, (self.tokenize_queries(typos) if typos else None)
