"""Train a sentence-transformers model with the plugin's objectives (``pip install mpcl-tevatron[st]``): several
positives per query and typo'd anchors made on the fly, through ``SentenceTransformerTrainer``.

    python examples/train_sentence_transformers.py --train train.jsonl --out runs/st_mp \
        [--model minilm] [--objective mp_infonce] [--positives 1] [--typo_variants 4] [--max_steps 60]

``--train``: Tevatron train JSONL (``query``, ``positive_passages``, ``negative_passages``), e.g. the XMRC
recipe's ``<out>/data/train/train.jsonl``. The saved folder is a sentence-transformers model and a Tevatron
model folder at once: ``python -m mpcl_tevatron.driver.encode`` reads its pooling and normalisation, so the
XMRC recipe scores it as a row (``--baselines <folder>``). Without --train, a 32-question synthetic task is made
so that the script runs anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile

from mpcl_tevatron.adapters.st import TypoDataCollator, TypoRobustLoss, columns_from_tevatron
from mpcl_tevatron.losses import available_losses


def synthetic_train(path: str) -> str:
    things = ["river", "bridge", "castle", "tower", "harbour", "market", "garden", "temple"]
    places = ["paris", "lyon", "rome", "porto"]
    with open(path, "w") as f:
        for t in things:
            for p in places:
                f.write(json.dumps({"query": f"where is the old {t} of {p}",
                                    "positive_passages": [{"text": f"the old {t} stands in {p}"},
                                                          {"text": f"{p} is home to an old {t}"}],
                                    "negative_passages": [{"text": f"the new {t} of {q}"} for q in places if q != p]})
                        + "\n")
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", help="Tevatron train JSONL (default: a small synthetic task)")
    p.add_argument("--out", default=None, help="output folder (default: a temporary one)")
    p.add_argument("--model", default="minilm", help="minilm, e5 (the offline models), a folder or a hub name")
    p.add_argument("--objective", default="mp_infonce", choices=available_losses())
    p.add_argument("--positives", type=int, default=1, help="P, positive columns per query")
    p.add_argument("--negatives", type=int, default=1, help="hard-negative columns per query")
    p.add_argument("--typo_variants", type=int, default=4, help="K typo'd anchors per query")
    p.add_argument("--scale", type=float, default=100.0, help="scores are cosine * scale (1 / temperature)")
    p.add_argument("--max_steps", type=int, default=60)
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--learning_rate", type=float, default=2e-5)
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()

    from sentence_transformers import (SentenceTransformer, SentenceTransformerTrainer,
                                       SentenceTransformerTrainingArguments)

    from mpcl_tevatron.models import OFFLINE_MODELS

    out = a.out or tempfile.mkdtemp()
    train = a.train or synthetic_train(os.path.join(tempfile.mkdtemp(), "train.jsonl"))
    model = SentenceTransformer(OFFLINE_MODELS[a.model]() if a.model in OFFLINE_MODELS else a.model, device="cpu")
    dataset = columns_from_tevatron([train], positives=a.positives, negatives=a.negatives)
    loss = TypoRobustLoss(model, a.objective, typo_variants=a.typo_variants, positives=a.positives, scale=a.scale)
    args = SentenceTransformerTrainingArguments(
        output_dir=tempfile.mkdtemp(), max_steps=a.max_steps, per_device_train_batch_size=a.batch_size,
        learning_rate=a.learning_rate, warmup_steps=max(1, a.max_steps // 10),  # the recipe's warmup_ratio 0.1
        seed=a.seed, save_strategy="no", report_to="none", logging_steps=10, use_cpu=True, dataloader_drop_last=True)
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=dataset, loss=loss,
        data_collator=TypoDataCollator(preprocess_fn=model.preprocess, typo_variants=a.typo_variants))
    result = trainer.train()
    model.save(out)
    print(json.dumps({"out": out, "steps": result.global_step, "training_loss": round(result.training_loss, 4),
                      "loss": loss.get_config_dict()}))


if __name__ == "__main__":
    main()
