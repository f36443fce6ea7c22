#!/usr/bin/env bash
# The XMRC recipe's smaller preset, for a CPU without native bf16 (float32 there: bf16 would be emulated, ~10x
# slower): the research question's comparison only (infonce vs mp_infonce), 3 seeds, 4 languages in 3 scripts
# (en, de, zh, ru), clean + 2 typo'd copies at w1 and r50. Predicted about 50 minutes on 2 AVX2 cores from the
# rates measured there (e5 float32: 83 questions/s, 35 candidates/s encoded) at 120 training steps; the default
# is now 60, so less. README says how it was derived.
# Every flag of recipes/xmrc.sh may be added, and overrides these. Resumable: rerun the same command.
#   usage: bash recipes/xmrc_small.sh [--out runs/xmrc_small] [...]
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash recipes/xmrc.sh --out runs/xmrc_small --objectives infonce mp_infonce --langs en de zh ru \
  --copies 2 --baselines "$@"
