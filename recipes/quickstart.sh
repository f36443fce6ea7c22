#!/usr/bin/env bash
# The main job on the embedded defaults: set up, build a small XMRC set from XQuAD-R (train: English questions
# of articles 0-23; test: en and de questions of articles 24-47, clean and one typo'd copy), train the offline
# English MiniLM with --loss mp_infonce for a few steps, encode and search with Tevatron's own flow, score
# with ranx. About 3-5 minutes on 2 CPU cores. Every seed is fixed: rerunning gives the same numbers.
#   usage: bash recipes/quickstart.sh            (SKIP_INSTALL=1 to skip the pip step)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${XQUAD_R:-../shared/data/xquad-r}
OUT=${OUT:-runs/quickstart}
if [ -z "${SKIP_INSTALL:-}" ]; then
  python -m pip install -q torch==2.13.0          # the CPU wheel; install torch first, or pip pulls CUDA
  python -m pip install -q -e ".[test,models]"
fi
export TOKENIZERS_PARALLELISM=false
mkdir -p "$OUT"

python -m mpcl_tevatron.xmrc.build --data_dir "$DATA" --out "$OUT/data" --langs en de --copies 1 --seed 0 --severities w1

MODEL=$(python -m mpcl_tevatron.models minilm)
python -m mpcl_tevatron.driver.train \
  --model_name_or_path "$MODEL" --output_dir "$OUT/model" --overwrite_output_dir \
  --train_dir "$OUT/data/train" --do_train --loss mp_infonce --typo_variants 4 --typo_seed 0 \
  --pooling mean --normalize --per_device_train_batch_size 16 --train_n_passages 4 --q_max_len 32 \
  --p_max_len 96 --max_steps 30 --learning_rate 2e-5 --warmup_ratio 0.1 --seed 42 \
  --dataset_proc_num 1 --save_strategy no --report_to none --logging_steps 10

encode() {  # encode <input.jsonl> <output.pkl> [--encode_is_qry]
  python -m mpcl_tevatron.driver.encode --model_name_or_path "$OUT/model" --output_dir "$OUT/tmp" \
    --encode_in_path "$1" --encoded_save_path "$2" "${@:3}" --q_max_len 32 --p_max_len 96 \
    --per_device_eval_batch_size 64 --dataset_proc_num 1 --report_to none
}
for lang in en de; do
  d="$OUT/data/$lang"; r="$OUT/runs/$lang"; mkdir -p "$r"
  encode "$d/corpus.jsonl" "$r/corpus.pkl"
  for q in "$d/queries.jsonl" "$d/typos/w1/queries.typo0.jsonl"; do
    name=$(basename "$q" .jsonl)
    encode "$q" "$r/$name.pkl" --encode_is_qry
    python -m tevatron.faiss_retriever --query_reps "$r/$name.pkl" --passage_reps "$r/corpus.pkl" \
      --depth 100 --batch_size -1 --save_text --save_ranking_to "$r/$name.run.txt"
  done
done
for lang in en de; do
  echo "== $lang (clean, typo'd)"
  python -m mpcl_tevatron.evaluation --qrels "$OUT/data/$lang/qrels.txt" \
    "$OUT/runs/$lang/queries.run.txt" "$OUT/runs/$lang/queries.typo0.run.txt"
done
