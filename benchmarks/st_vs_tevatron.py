"""The same objective trained through both toolkits: the Tevatron v1 adapter's model and the sentence-transformers
adapter's loss, from the same MiniLM weights, on the same batches, with the same AdamW steps.

    python benchmarks/st_vs_tevatron.py --train TRAIN_JSONL [--objective dst_mp] [--positives 2] [--steps 10]

TRAIN_JSONL: Tevatron train JSONL (the XMRC recipe writes ``<out>/data/train/train.jsonl``: XQuAD-R's English
training questions). Batches are its first ``steps * batch`` groups in order; each group is the query, P
positive columns (``sample_group``'s choice at epoch 0, repeats included) and one hard negative; the K typo'd
variants are ``TrainingVariants``' of epoch 0, which is what both adapters hand out. Dropout is switched off in
both models (the two toolkits draw dropout masks in a different order). Scores are cosines / 0.01 on both sides.

Prints one table: each step's loss through each toolkit, their difference, and at the end the largest weight
difference between the two trained models. Needs ``pip install mpcl-tevatron[v1,st,models]``.
"""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import torch
from torch import nn

from mpcl_tevatron.encoder_config import EncoderConfig
from mpcl_tevatron.io import read_train_jsonl
from mpcl_tevatron.losses import get_loss
from mpcl_tevatron.models import minilm_path
from mpcl_tevatron.passages import PassageIds, sample_group
from mpcl_tevatron.typos.training import TrainingVariants


def no_dropout(model: nn.Module) -> nn.Module:
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    return model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", required=True, help="Tevatron train JSONL")
    p.add_argument("--objective", default="dst_mp")
    p.add_argument("--positives", type=int, default=2, help="P, positive passages per query")
    p.add_argument("--typo_variants", type=int, default=4)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--learning_rate", type=float, default=2e-5)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()

    from sentence_transformers import SentenceTransformer

    from mpcl_tevatron.adapters.st import TypoDataCollator, TypoRobustLoss
    from mpcl_tevatron.adapters.v1 import TypoDenseModel

    torch.manual_seed(a.seed)
    groups, _ = read_train_jsonl([a.train])
    groups = groups[: a.steps * a.batch]
    n = a.positives + 1
    temperature = 0.01
    labelled = a.positives > 1

    # Tevatron v1: the adapter's model over the objective (tied encoders, mean pooling, L2-normalised)
    args = SimpleNamespace(model_name_or_path=minilm_path(), untie_encoder=False, add_pooler=False)
    tevatron = no_dropout(TypoDenseModel.build(
        args, SimpleNamespace(train_n_passages=n), SimpleNamespace(negatives_x_device=False),
        objective=get_loss(a.objective, n_passages=n),
        encoder_config=EncoderConfig(pooling="mean", normalize=True, temperature=temperature)))
    tevatron.train()
    # sentence-transformers: the offline MiniLM's own modules (Transformer, mean Pooling, Normalize)
    st_model = no_dropout(SentenceTransformer(minilm_path(), device="cpu"))
    st_model.train()
    st_loss = TypoRobustLoss(st_model, a.objective, typo_variants=a.typo_variants, positives=a.positives,
                             scale=1 / temperature, mask_false_negatives=labelled)
    collator = TypoDataCollator(preprocess_fn=st_model.preprocess, typo_variants=a.typo_variants)
    variants = TrainingVariants(a.typo_variants)
    tokenizer = st_model.tokenizer
    start = [w.detach().clone() for w in tevatron.lm_q.parameters()]
    opt_t = torch.optim.AdamW(tevatron.parameters(), lr=a.learning_rate)
    opt_s = torch.optim.AdamW(st_model.parameters(), lr=a.learning_rate)

    def tok(texts):
        return dict(tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt"))

    print(f"| step | {a.objective} via Tevatron v1 | via sentence-transformers | abs diff |")
    print("|---|---|---|---|")
    worst = 0.0
    for step in range(a.steps):
        batch = groups[step * a.batch: (step + 1) * a.batch]
        slots = [sample_group(g["positives"], g["negatives"], g["positive_keys"], g["negative_keys"], n,
                              a.positives, seed=0, epoch=0) for g in batch]
        queries = [g["query"] for g in batch]
        typos = [v for q in queries for v in variants.variants(q, 0)]
        ids = PassageIds.collate(slots, mask_false_negatives=True) if labelled else None
        loss_t = tevatron(query=tok(queries), passage=tok([x for s in slots for x in s.passages]),
                          typo_query=tok(typos) if typos else None, passage_ids=ids).loss
        rows = [{"anchor": q, **{f"positive_{j + 1}": s.passages[j] for j in range(a.positives)},
                 "negative_1": s.passages[-1]} for q, s in zip(queries, slots)]
        features = collator(rows)
        columns = list(rows[0]) + [f"anchor_typo_{j + 1}" for j in range(a.typo_variants)]
        per_column = [{k[len(c) + 1:]: v for k, v in features.items() if k.startswith(c + "_")
                       and not k[len(c) + 1:].startswith("typo_")} for c in columns]
        loss_s = st_loss(per_column)
        for loss, opt in ((loss_t, opt_t), (loss_s, opt_s)):
            opt.zero_grad()
            loss.backward()
            opt.step()
        diff = abs(float(loss_t.detach()) - float(loss_s.detach()))
        worst = max(worst, diff)
        print(f"| {step + 1} | {float(loss_t.detach()):.6f} | {float(loss_s.detach()):.6f} | {diff:.1e} |")
    pairs = list(zip(tevatron.lm_q.parameters(), st_model[0].auto_model.parameters(), start))
    apart = sum(float((x - y).pow(2).sum()) for x, y, _ in pairs) ** 0.5
    moved = sum(float((x - w).pow(2).sum()) for x, _, w in pairs) ** 0.5
    print(f"\nlargest loss difference {worst:.1e}; after {a.steps} steps the two models' weights are {apart:.1e} apart "
          f"(L2), {apart / moved:.1%} of the {moved:.1e} that training moved them "
          f"(objective {a.objective}, P = {a.positives}, K = {a.typo_variants}, batch {a.batch}, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
