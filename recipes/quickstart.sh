#!/usr/bin/env bash
# The main job on the embedded defaults: does multi-positive training help typo'd queries in other languages?
# Builds XMRC from XQuAD-R (train: English questions of articles 0-19; test: en, de and zh questions of
# articles 24-47, clean and one typo'd copy), fine-tunes the offline multilingual-e5-small with --loss infonce
# and with --loss mp_infonce (score temperature 0.01, seed 42), encodes and searches with Tevatron's flow, and
# prints X->X MRR@10 per language, clean / typo'd, for e5 zero-shot and both objectives. float32, so any CPU
# gives the same numbers; under 10 minutes on 2 cores. Every seed is fixed: rerunning gives the same numbers.
# The full comparison (7 objectives x 3 seeds x 11 languages, significance) is recipes/xmrc.sh.
#   usage: bash recipes/quickstart.sh            (SKIP_INSTALL=1 to skip the pip step; OUT=... to move it)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/quickstart_e5}
if [ -z "${SKIP_INSTALL:-}" ]; then
  python -m pip install -q torch==2.13.0          # the CPU wheel; install torch first, or pip pulls CUDA
  python -m pip install -q -e ".[all,test,models,docs]"
fi
export TOKENIZERS_PARALLELISM=false
python -m mpcl_tevatron.driver.xmrc --out "$OUT" --model e5 --langs en de zh --objectives infonce mp_infonce \
  --baselines --seeds 42 --typo_seed 0 --copies 1 --severities w1 --precision fp32 --temperature 0.01 \
  --max_steps 30 --typo_variants 4 "$@"
python -m mpcl_tevatron.xmrc.analysis.report "$OUT"
