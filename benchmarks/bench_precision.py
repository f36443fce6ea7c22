"""float32 against bfloat16 autocast for one encoder on this CPU: a training step and an encoding batch.

    python benchmarks/bench_precision.py [--model e5|minilm|DIR] [--threads N]

Prints the CPU (name, PyTorch's capability level, native bf16 or not), then seconds per training step (forward
and backward of 16 queries + 64 typo'd variants x 24 tokens and 32 passages x 48 tokens, AdamW, word embeddings
frozen, as the XMRC recipe trains) and texts per second encoded (32 x 40 tokens, no gradient), each the mean of
3 repetitions after one warm-up, in both precisions and as a ratio. ``precision.resolve_precision("auto")`` is
printed beside it: on a CPU where bf16 is not faster, ``auto`` must say fp32.
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch


def autocast(bf16: bool):
    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def main(argv=None) -> int:
    from transformers import AutoModel

    from mpcl_tevatron.models import OFFLINE_MODELS
    from mpcl_tevatron.precision import cpu_description, resolve_precision

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="e5", help="e5, minilm, or a model folder (default e5)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: PyTorch's)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    path = OFFLINE_MODELS[args.model]() if args.model in OFFLINE_MODELS else args.model
    torch.manual_seed(0)
    model = AutoModel.from_pretrained(path)
    model.get_input_embeddings().weight.requires_grad_(False)
    opt = torch.optim.AdamW([w for w in model.parameters() if w.requires_grad], lr=1e-5)
    queries, passages = torch.randint(5, 1000, (16 + 64, 24)), torch.randint(5, 1000, (32, 48))
    texts = torch.randint(5, 1000, (32, 40))

    def train_step(bf16):
        with autocast(bf16):
            q = model(input_ids=queries, attention_mask=torch.ones_like(queries)).last_hidden_state.float().mean(1)
            d = model(input_ids=passages, attention_mask=torch.ones_like(passages)).last_hidden_state.float().mean(1)
        loss = torch.logsumexp(q[:16] @ d.T, dim=1).mean()
        loss.backward()
        opt.step()
        opt.zero_grad()

    @torch.no_grad()
    def encode(bf16):
        with autocast(bf16):
            model(input_ids=texts, attention_mask=torch.ones_like(texts))

    def timed(fn, bf16):
        fn(bf16)
        start = time.perf_counter()
        for _ in range(3):
            fn(bf16)
        return (time.perf_counter() - start) / 3

    print(f"CPU: {cpu_description()}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"precision auto -> {resolve_precision('auto')}\n")
    step = {bf16: timed(train_step, bf16) for bf16 in (False, True)}
    enc = {bf16: texts.size(0) / timed(encode, bf16) for bf16 in (False, True)}
    print("| measure | float32 | bf16 autocast | bf16 / float32 |\n|---|---|---|---|")
    print(f"| training step, s | {step[False]:.2f} | {step[True]:.2f} | {step[False] / step[True]:.2f}x faster |")
    print(f"| encoding, texts/s | {enc[False]:.0f} | {enc[True]:.0f} | {enc[True] / enc[False]:.2f}x faster |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
