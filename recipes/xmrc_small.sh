#!/usr/bin/env bash
# The XMRC recipe's smaller preset, for a CPU without native bf16 (float32 there: bf16 would be emulated, ~10x
# slower): the research question's comparison only (infonce vs mp_infonce), seeds 42 43 44, 4 languages in 3
# scripts (en, de, ru, zh), one typo'd copy at w1 and r50, and 30 training steps (the dev sweep's 30-step
# point is within seed noise of the default 60). Predicted 29 min from rates measured with AVX2 kernels only,
# about 39 min on a real AVX2-only 2-core EPYC (docs/performance.md, "Without native bf16", says how).
# Every flag of recipes/xmrc.sh may be added, and overrides these. Resumable: rerun the same command.
#   usage: bash recipes/xmrc_small.sh [--out runs/xmrc_small] [...]
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash recipes/xmrc.sh --out runs/xmrc_small --objectives infonce mp_infonce --langs en de zh ru \
  --copies 1 --max_steps 30 --baselines "$@"
