#!/usr/bin/env bash
# The XMRC recipe: every objective trained on English XQuAD-R questions, evaluated zero-shot on all 11
# languages (X->X, X->en, en->X, X->pool), clean and typo'd, scored with ranx into one report.
# Resumable: rerun the same command after an interruption. Flags: python -m mpcl_tevatron.driver.xmrc --help
#   usage: bash recipes/xmrc.sh [--out runs/xmrc] [--model e5|minilm|<dir or hub name>] [--objectives ...]
set -euo pipefail
cd "$(dirname "$0")/.."
export TOKENIZERS_PARALLELISM=false
python -m mpcl_tevatron.driver.xmrc "$@"
