"""Run by test_distributed.py under ``torchrun`` (gloo), and once without it: the installed Tevatron's adapter
model (v1 or v2) computes an objective on a global batch of 4 queries split over the processes; every process
writes its loss and the DDP-averaged gradient of the word embeddings to OUT/rank<r>.pt. With a fourth argument
``labelled``, the batch also carries passage ids (``passages.PassageIds``) whose false negatives cross the
processes and whose rows differ in width between them."""

import os
import sys
from types import SimpleNamespace

import torch
import torch.distributed as dist

from mpcl_tevatron.adapters import detect
from mpcl_tevatron.encoder_config import EncoderConfig
from mpcl_tevatron.losses import get_loss
from mpcl_tevatron.passages import GroupSlots, PassageIds, passage_id

model_dir, loss_name, out = sys.argv[1:4]
labelled = sys.argv[4:] == ["labelled"]
distributed = "WORLD_SIZE" in os.environ
if distributed:
    dist.init_process_group("gloo")
rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)

from transformers import AutoTokenizer  # noqa: E402

N, K = 2, 3
QUERIES = ["where is the abc found", "which city is near xyz", "what old river", "famous north city"]
PASSAGES = [f"{w} is found in the city of {v}" for w in ("abc", "xyz", "river", "north") for v in ("a", "b")]
TYPOS = [f"{q[:-1]}{c}" for q in QUERIES for c in "xyz"]

# each query's group: its positive, then a negative; query 0 also counts passage 7 (in query 3's group, on the
# other process) among its positives, and query 2 passage 1 (query 0's negative): both masked as false negatives
EXTRA = {0: [7, None], 2: [1]}
GROUPS = [GroupSlots(positives=PASSAGES[2 * i: 2 * i + 1], negatives=PASSAGES[2 * i + 1: 2 * i + 2],
                     slot_ids=[passage_id(PASSAGES[2 * i]), passage_id(PASSAGES[2 * i + 1])],
                     positive_ids=[passage_id(PASSAGES[2 * i])] + [passage_id(PASSAGES[j] if j is not None else "x")
                                                                  for j in EXTRA.get(i, [])])
          for i in range(len(QUERIES))]

tok = AutoTokenizer.from_pretrained(model_dir)
per = len(QUERIES) // world
mine = slice(rank * per, (rank + 1) * per)


def enc(texts):
    return dict(tok(texts, padding="max_length", max_length=16, truncation=True, return_tensors="pt"))


torch.manual_seed(0)
objective = get_loss(loss_name, n_passages=N)
if detect() == "v2":
    from transformers import AutoModel

    from mpcl_tevatron.adapters.v2 import TypoDenseModel

    model = TypoDenseModel(AutoModel.from_pretrained(model_dir), pooling="mean")  # gathers when DDP is up
    model.objective = objective
    word_embeddings = model.encoder.embeddings.word_embeddings
else:
    from mpcl_tevatron.adapters.v1 import TypoDenseModel

    args = SimpleNamespace(model_name_or_path=model_dir, untie_encoder=False, add_pooler=False)
    train_args = SimpleNamespace(negatives_x_device=distributed, per_device_train_batch_size=per)
    model = TypoDenseModel.build(args, SimpleNamespace(train_n_passages=N), train_args, objective=objective,
                                 encoder_config=EncoderConfig(pooling="mean"))
    word_embeddings = model.lm_q.embeddings.word_embeddings
model.train()
out_ = model(query=enc(QUERIES[mine]), passage=enc(PASSAGES[mine.start * N:mine.stop * N]),
             typo_query=enc(TYPOS[mine.start * K:mine.stop * K]),
             passage_ids=PassageIds.collate(GROUPS[mine]) if labelled else None)
out_.loss.backward()
grad = word_embeddings.weight.grad.clone()
if distributed:  # what DDP does with gradients
    dist.all_reduce(grad)
    grad /= world
torch.save({"loss": out_.loss.detach() / world, "grad": grad}, os.path.join(out, f"rank{rank}.pt"))
if distributed:
    dist.destroy_process_group()
