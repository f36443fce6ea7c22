"""Train a retriever with mp_infonce through the Python API (Tevatron v1, the PyPI release), on a tiny random
BERT and a synthetic task, then check that it retrieves. Run: python examples/train_python_api.py

The same objects the train command builds: the plugin's dataset, collator, model and trainer (subclasses of
Tevatron's), an objective from the registry, and Tevatron's own argument dataclasses. Under Tevatron v2 the
classes are ``mpcl_tevatron.adapters.v2``'s (see tests/test_v2_adapter.py).
"""

import random
import string
import tempfile

import torch
from tevatron.arguments import DataArguments, DenseTrainingArguments, ModelArguments
from transformers import BertConfig, BertModel, BertTokenizerFast

from mpcl_tevatron.adapters.v1 import TypoDenseModel, TypoDenseTrainer, TypoQPCollator, TypoTrainDataset
from mpcl_tevatron.arguments import EncoderArguments, ObjectiveArguments, TypoArguments
from mpcl_tevatron.encoder_config import EncoderConfig
from mpcl_tevatron.losses import get_loss

work = tempfile.mkdtemp()

# A tiny random BERT with a character-level WordPiece vocabulary (no download).
vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + list(string.ascii_lowercase) + \
    ["##" + c for c in string.ascii_lowercase] + ["where", "is", "the", "found", "near"]
tokenizer = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)})
tokenizer.save_pretrained(work + "/base")
torch.manual_seed(0)
BertModel(BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64)).save_pretrained(work + "/base")

# 32 entities: the query names one, its positive passage names it too; negatives are other passages.
rng = random.Random(0)
names = ["".join(rng.choice(string.ascii_lowercase) for _ in range(6)) for _ in range(32)]
passages = [f"{n} is found near {rng.choice(names)}" for n in names]
groups = [{"query": f"where is the {n} found", "positives": [passages[i]],
           "negatives": [passages[(i + 1) % 32]]} for i, n in enumerate(names)]

model_args = ModelArguments(model_name_or_path=work + "/base")
data_args = DataArguments(train_n_passages=2, q_max_len=16, p_max_len=24)
train_args = DenseTrainingArguments(output_dir=work + "/model", per_device_train_batch_size=8, max_steps=40,
                                    learning_rate=1e-3, seed=0, report_to="none", save_strategy="no",
                                    dataloader_drop_last=True, remove_unused_columns=False, use_cpu=True)
typo_args = TypoArguments(typo_variants=3, typo_seed=0)
encoder_args = EncoderArguments(pooling="mean")

objective = get_loss("mp_infonce", **ObjectiveArguments().hyperparameters(data_args.train_n_passages, "mp_infonce"))
encoder = EncoderConfig(pooling="mean")
model = TypoDenseModel.build(model_args, data_args, train_args, objective=objective, encoder_config=encoder)
dataset = TypoTrainDataset(data_args, groups, tokenizer, typo_args, encoder_args)
trainer = TypoDenseTrainer(model=model, args=train_args, train_dataset=dataset,
                           data_collator=TypoQPCollator(tokenizer, max_q_len=16, max_p_len=24))
dataset.trainer = trainer
trainer.train()
trainer.save_model()  # a Tevatron model directory plus mpcl_config.json

# Does each query now retrieve its own passage?
model.eval()
with torch.no_grad():
    q = model.encode_query(tokenizer([g["query"] for g in groups], padding=True, return_tensors="pt"))[1]
    p = model.encode_passage(tokenizer(passages, padding=True, return_tensors="pt"))[1]
top1 = (q @ p.T).argmax(1).eq(torch.arange(32)).float().mean().item()
print(f"trained {train_args.max_steps} steps with {objective.loss_name}; top-1 accuracy on 32 queries: {top1:.2f}")
