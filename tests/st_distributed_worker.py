"""Run by test_st_adapter.py under ``torchrun`` (gloo, 2 processes), and once without it: a sentence-transformers
model over the tiny BERT computes ``TypoRobustLoss(gather_across_devices=True)`` on a global batch of 4 rows split
over the processes (row 0's second positive is row 3's negative: a false negative across the processes); every
process writes its loss and the DDP-averaged gradient of the word embeddings to OUT/rank<r>.pt. A third
argument ``cached`` computes it with ``CachedTypoRobustLoss`` instead, one text a mini-batch."""

import os
import sys
from functools import partial

import torch
import torch.distributed as dist
from sentence_transformers import SentenceTransformer

from mpcl_tevatron.adapters.st import CachedTypoRobustLoss, TypoDataCollator, TypoRobustLoss

model_dir, out = sys.argv[1:3]
cached = sys.argv[3:] == ["cached"]
distributed = "WORLD_SIZE" in os.environ
if distributed:
    dist.init_process_group("gloo")
rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)

ROWS = [{"anchor": q, "positive": f"{w} is found in the city of a", "positive_2": f"the {w} city b",
         "negative_1": f"{w} is not in c"}
        for q, w in [("where is the abc found", "abc"), ("which city is near xyz", "xyz"),
                     ("what old river", "river"), ("famous north city", "north")]]
ROWS[3]["negative_1"] = ROWS[0]["positive_2"]

torch.manual_seed(0)
model = SentenceTransformer(model_dir, device="cpu")
model.eval()  # no dropout: the processes and the single process compute the same embeddings
share = len(ROWS) // world
rows = ROWS[rank * share: (rank + 1) * share]
features = TypoDataCollator(preprocess_fn=model.preprocess, typo_variants=2)(rows)
columns = ["anchor", "positive", "positive_2", "negative_1", "anchor_typo_1", "anchor_typo_2"]
features = [{k[len(c) + 1:]: v for k, v in features.items() if k.startswith(c + "_")
             and not k[len(c) + 1:].startswith(("typo_", "2_"))} for c in columns]
objective = partial(CachedTypoRobustLoss, mini_batch_size=1) if cached else TypoRobustLoss
loss = objective(model, "dst_mp", typo_variants=2, scale=20.0, gather_across_devices=True)(features)
loss.backward()
grad = next(p for n, p in model.named_parameters() if "word_embeddings" in n).grad
if distributed:  # as DDP does
    dist.all_reduce(grad)
    grad /= world
torch.save({"loss": loss.detach() / world, "grad": grad, "cached": cached}, os.path.join(out, f"rank{rank}.pt"))
if distributed:
    dist.destroy_process_group()
