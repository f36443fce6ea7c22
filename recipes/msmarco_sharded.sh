#!/usr/bin/env bash
# A corpus far larger than memory, MS MARCO passage (8.8M passages) as the worked example: Tevatron encodes it
# in shards, one process (or machine) per shard, and searches all shards. At 384 dimensions in float32 the
# full index is 8.8M x 384 x 4 B = 13.5 GB; 20 shards of 0.7 GB each can be encoded anywhere, in parallel.
# Under v2, --shard_search also keeps search memory to one shard plus the running top-k.
#   MODEL=runs/model CORPUS=msmarco-corpus.jsonl QUERIES=dev.jsonl SHARDS=20 bash recipes/msmarco_sharded.sh
# (v1 reads Tevatron/msmarco-passage-corpus by name with --dataset_name instead of --encode_in_path; with a
# network, v2 with --dataset_name Tevatron/msmarco-passage-corpus.)
# tests/test_end_to_end.py (v1) and tests/test_v2_adapter.py (v2) check on a small corpus that the sharded
# ranking equals the unsharded one.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${MODEL:?set MODEL}" "${CORPUS:?set CORPUS}" "${QUERIES:?set QUERIES}"
SHARDS=${SHARDS:-20}
DEPTH=${DEPTH:-1000}  # at most the corpus size: v1 pads a shorter result list with bogus entries
OUT=${OUT:-runs/msmarco}
mkdir -p "$OUT"
export TOKENIZERS_PARALLELISM=false
VERSION=$(python -c 'from mpcl_tevatron.adapters import detect; print(detect())')
for ((s = 0; s < SHARDS; s++)); do  # independent: run them on different machines if you have them
  if [ -f "$OUT/corpus.$s.pkl" ]; then continue; fi
  if [ "$VERSION" = v1 ]; then
    python -m mpcl_tevatron.driver.encode --model_name_or_path "$MODEL" --output_dir "$OUT/tmp" \
      --encode_in_path "$CORPUS" --p_max_len 128 --per_device_eval_batch_size 256 \
      --encode_num_shard "$SHARDS" --encode_shard_index "$s" --encoded_save_path "$OUT/corpus.$s.pkl.partial"
  else
    python -m mpcl_tevatron.driver.encode --model_name_or_path "$MODEL" --output_dir "$OUT/tmp" \
      --dataset_path "$CORPUS" --passage_max_len 128 --per_device_eval_batch_size 256 \
      --dataset_number_of_shards "$SHARDS" --dataset_shard_index "$s" --encode_output_path "$OUT/corpus.$s.pkl.partial"
  fi
  mv "$OUT/corpus.$s.pkl.partial" "$OUT/corpus.$s.pkl"  # a shard counts as done only when complete
done
if [ "$VERSION" = v1 ]; then
  python -m mpcl_tevatron.driver.encode --model_name_or_path "$MODEL" --output_dir "$OUT/tmp" --encode_is_qry \
    --encode_in_path "$QUERIES" --q_max_len 32 --encoded_save_path "$OUT/queries.pkl"
  python -m tevatron.faiss_retriever --query_reps "$OUT/queries.pkl" --passage_reps "$OUT/corpus.*.pkl" \
    --depth "$DEPTH" --batch_size 128 --save_text --save_ranking_to "$OUT/run.txt"
else
  python -m mpcl_tevatron.driver.encode --model_name_or_path "$MODEL" --output_dir "$OUT/tmp" --encode_is_query \
    --dataset_path "$QUERIES" --query_max_len 32 --encode_output_path "$OUT/queries.pkl"
  python -m tevatron.retriever.driver.search --query_reps "$OUT/queries.pkl" --passage_reps "$OUT/corpus.*.pkl" \
    --depth "$DEPTH" --batch_size 128 --shard_search --save_text --save_ranking_to "$OUT/run.txt"
fi
echo "run: $OUT/run.txt (score it: python -m mpcl_tevatron.evaluation --qrels <qrels> $OUT/run.txt)"
