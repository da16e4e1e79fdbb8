#!/usr/bin/env bash
# Train several digit-conditioned SC09-recipe configurations side by side on one GPU (FSDD at
# 16 kHz, the same wall time each, run concurrently so that they share the GPU alike), then
# sample SC09_NUM (30) per digit from each with the fast schedule and score them with the evaluation
# classifier (trained beside them unless results/classifier already holds one). Experiments
# stay in results/sc09_<name>, so a later call resumes them (same flags, more minutes).
# SaShiMi at its default size takes ~65 GB at batch 32: run it alone.
# Usage: bash benchmarks/gpu_sc09_compare.sh OUT MINUTES "name|hparams/x.yaml|flags" ...
# Writes OUT/summary.txt, OUT/scores.json, OUT/samples.tgz, OUT/classifier.tgz, OUT/logs.tgz.
set -uo pipefail
out=${1:?output folder}; minutes=${2:?training minutes}; shift 2
start=$(date +%s); deadline=$((start + 570))
left() { echo $((deadline - $(date +%s))); }
mkdir -p "$out"; out=$(cd "$out" && pwd); repo=$(pwd); cls=$repo/results/classifier
log=$repo/results/compare_logs; mkdir -p "$log"
common="--digit_conditioned true --precision bf16 --eval_precision bf16 --number_of_epochs 100000
  --sample_every 100000 --ckpt_every 100000 --samples_per_label 1 --noprogressbar"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$out/summary.txt"
cls_pid=
# (a classifier at the recorded level, from an older run, is trained again)
grep -qs "^level_range_db: [0-9]" "$cls/hyperparams.yaml" || rm -rf "$cls"
if [ ! -f "$cls/test_accuracy.json" ]; then
  # (level-normalised features: the samples are peak-normalised; gpu_sc09_run.sh says why)
  timeout 420 python tools/score_digit_samples.py train --out "$cls" --epochs "${SC09_CLS_EPOCHS:-30}" \
    -- --level_range_db 80 > "$log/classifier.log" 2>&1 &
  cls_pid=$!
fi
# the training clock starts after start-up (~20-40 s) and the run ends with a validation and a
# checkpoint; sampling and scoring follow: cap MINUTES so that all of it fits (a guard that
# kills the training before its checkpoint loses the whole segment)
cap=$(python3 -c "print(round(($(left) - 150) / 60, 2))")
if python3 -c "import sys; sys.exit(not $minutes > $cap)"; then
  echo "MINUTES $minutes leaves no room for sampling: training $cap min" | tee -a "$out/summary.txt"
  minutes=$cap
fi
names=(); pids=()
for spec in "$@"; do
  IFS='|' read -r name hp flags <<< "$spec"
  names+=("$name")
  echo "$name: $hp $flags ($minutes min)" >> "$out/summary.txt"
  (cd recipes/SC09/diffwave && timeout $(( $(left) - 60 )) python train.py "$hp" $common $flags \
     --output_folder "$repo/results/sc09_$name" --max_train_minutes "$minutes" \
     > "$log/train_$name.log" 2>&1; echo "$name train rc=$?" >> "$log/rc.txt") &
  pids+=($!)
done
wait "${pids[@]}"; cat "$log/rc.txt" >> "$out/summary.txt"
[ -n "$cls_pid" ] && wait "$cls_pid"
tail -1 "$log/classifier.log" 2>/dev/null >> "$out/summary.txt"
echo "{" > "$out/scores.json"
for name in "${names[@]}"; do
  exp=$repo/results/sc09_$name
  grep -E "params" "$exp/log.txt" | tail -1 >> "$out/summary.txt"
  grep -E "epoch: " "$exp/train_log.txt" | tail -1 >> "$out/summary.txt"
  rm -rf "$exp/eval_fast"
  (cd recipes/SC09/diffwave && timeout $(( $(left) - 30 )) python generate.py "$exp" --num "${SC09_NUM:-30}" \
     --sampler fast --guidance_scale "${SC09_GUIDANCE:-2.0}" --batch_size 250 \
     --out "$exp/eval_fast" 2>>"$log/generate_$name.log") >> "$out/summary.txt"
  echo "score $name (fast, ${SC09_NUM:-30} per digit):" >> "$out/summary.txt"
  timeout $(( $(left) - 10 )) python tools/score_digit_samples.py score "$exp/eval_fast" \
    --classifier "$cls" --json_out "$log/score_$name.json" 2>&1 \
    | grep -E "^(num_samples|digit_acc|is|fid) " >> "$out/summary.txt"
  echo "\"$name\": $(cat "$log/score_$name.json" 2>/dev/null || echo null)," >> "$out/scores.json"
done
echo "\"_\": null}" >> "$out/scores.json"
( cd "$repo/results" && tar czf "$out/samples.tgz" sc09_*/eval_fast/wav/digit?_00[0-4].wav \
    sc09_*/eval_fast/spectrograms.png 2>/dev/null )
( cd "$repo/results" && tar czf "$out/classifier.tgz" --exclude="features_train*" classifier )
cp results/sc09_*/train_log.txt "$log/" 2>/dev/null
for name in "${names[@]}"; do cp "$repo/results/sc09_$name/train_log.txt" "$log/train_log_$name.txt"; done
tar czf "$out/logs.tgz" -C "$log" .
echo "total wall=$(( $(date +%s) - start )) s" >> "$out/summary.txt"
cat "$out/summary.txt"
