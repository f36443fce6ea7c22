#!/usr/bin/env bash
# Multi-node training with torchrun through the Hugging Face Trainer (DDP). Run this same script on every
# node, with NODE_RANK 0..NNODES-1 and MASTER_ADDR set to node 0's address:
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 GPUS_PER_NODE=8 bash recipes/multinode.sh --output_dir out ...
# Extra arguments go to the train command (data, model, steps). Every objective sees the global batch: the
# plugin's model gathers query, passage and typo'd-query representations from all ranks
# (mpcl_tevatron.distributed.gather_with_grad) and scales the loss so DDP's averaged gradient is the
# global-batch gradient (tests/test_distributed.py checks this with 2 gloo processes, under v1 and v2).
#   Tevatron v1 (PyPI): the gather needs --negatives_x_device, added below.
#   Tevatron v2 (from source): it gathers whenever a process group is up; the flag does not exist there.
#   DeepSpeed, where installed: add --deepspeed <config.json> (a Trainer flag; v2 ships configs in deepspeed/).
set -euo pipefail
cd "$(dirname "$0")/.."
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
GPUS_PER_NODE=${GPUS_PER_NODE:-$(python -c "import torch; print(max(torch.cuda.device_count(), 1))")}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
MASTER_PORT=${MASTER_PORT:-29500}
X_DEVICE=()
if [ "$(python -c 'from mpcl_tevatron.adapters import detect; print(detect())')" = v1 ]; then
  X_DEVICE=(--negatives_x_device)
fi
export TOKENIZERS_PARALLELISM=false
exec torchrun --nnodes "$NNODES" --node_rank "$NODE_RANK" --nproc_per_node "$GPUS_PER_NODE" \
  --master_addr "$MASTER_ADDR" --master_port "$MASTER_PORT" \
  -m mpcl_tevatron.driver.train --loss "${LOSS:-mp_infonce}" --typo_variants "${TYPO_VARIANTS:-8}" \
  "${X_DEVICE[@]}" "$@"
