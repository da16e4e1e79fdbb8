#!/usr/bin/env bash
# One GPU run of the sentence-spectrogram DDPM (recipes/LJSpeech/spectrogram_ddpm), end to end
# in at most about 7 minutes: train on the carried LJSpeech feature cache (325 clips, the last
# 25 held out and never trained on) for TRAIN_MINUTES, generate 200 samples (DPM-Solver++, 25
# steps, Griffin-Lim), score them against held-out real crops and shuffled real frames (frame
# Frechet distance, 2-8 Hz modulation share, memorisation ratio; validation crops, never
# trained on and from the training distribution, as a second real control), and write to OUT_DIR:
#   summary.txt  metrics.json  table.md  grid.png  samples.tgz  logs.tgz
# Usage: bash benchmarks/gpu_sgram_run.sh OUT_DIR [TRAIN_MINUTES]     (default 4.5)
# Data: .gpu_data/sgram (git-ignored, about 19 MB; carry it), built where the audio is with
#   bash benchmarks/build_sgram_gpu_data.sh /work/data/LJSpeech-1.1
# CPU dry run (toy sizes): SGRAM_SIZE, SGRAM_TRAIN, SGRAM_NUM, SGRAM_STRIDE, SGRAM_DEVICE
# override the model size, training flags, sample count, nearest-crop stride and device.
set -uo pipefail
set -f  # no globbing: the list flags ([1,1,2,2,4]) are not patterns (back on for packaging)
out=${1:?output folder}; minutes=${2:-4.5}
start=$(date +%s); deadline=$((start + 420))   # the whole run stays within 7 minutes
left() { echo $((deadline - $(date +%s))); }
budget() { local s=$(( $(left) - $1 )); [ "$s" -lt 5 ] && s=5; echo "$s"; }  # timeout seconds
mkdir -p "$out"; out=$(cd "$out" && pwd); repo=$(pwd)
data=${SGRAM_DATA:-$repo/.gpu_data/sgram}
exp=$repo/results/gpu_sgram; log=$repo/results/gpu_sgram_logs; gen=$exp/eval_samples
rm -rf "$exp" "$log"; mkdir -p "$log"
summary=$out/summary.txt
note() { echo "$*" | tee -a "$summary"; }

# ---- the model: 20.2M parameters, 31 GFLOP per 64 x 256 image forward; five levels
# (64x256 .. 4x16), self-attention only at 8x32 (256 tokens) and 4x16 (64 tokens) ----------
size=${SGRAM_SIZE:-"--base_channels 64 --channel_mults [1,1,2,2,4] --num_res_blocks 2
  --attention_levels [3,4] --num_heads 4"}
train=${SGRAM_TRAIN:-"--batch_size 64 --lr 0.0003 --crops_per_clip 32 --precision bf16
  --eval_precision bf16"}
num=${SGRAM_NUM:-200}; stride=${SGRAM_STRIDE:-1}; device=${SGRAM_DEVICE:-}
dev_flag=${device:+--device $device}

: > "$summary"
if command -v nvidia-smi > /dev/null; then
  nvidia-smi --query-gpu=name,memory.total,memory.used,utilization.gpu --format=csv,noheader \
    | tee -a "$summary"
fi
note "model: $(echo $size); training: $(echo $train); $minutes min; $num samples"
if [ ! -f "$data/features_train.pt" ]; then
  note "error: no feature cache in $data: build it with bash benchmarks/build_sgram_gpu_data.sh"
  exit 1
fi

# ---- train: stops itself after $minutes (max_train_minutes), then validates, writes the
# last epoch's samples and a checkpoint; the timeout is only a guard ----------------------
cd recipes/LJSpeech/spectrogram_ddpm
t0=$(date +%s)
timeout "$(budget 70)" python train.py hparams/train.yaml $size $train \
  --output_folder "$exp" --prepare_folder "$data" --skip_prep true --held_out_last 25 \
  --max_train_minutes "$minutes" --number_of_epochs 100000 --sample_every 100000 \
  --ckpt_every 4 --noprogressbar > "$log/train_stdout.log" 2>&1
rc=$?; note "train rc=$rc wall=$(( $(date +%s) - t0 )) s"
grep -E "params|clips:" "$exp/log.txt" 2>/dev/null | sed 's/^.* - //' >> "$summary"
tail -n 2 "$exp/train_log.txt" 2>/dev/null >> "$summary"

# ---- generate: 200 samples in one batch ------------------------------------------------
t0=$(date +%s)
timeout "$(budget 40)" python generate.py "$exp" --num "$num" --sampler dpm_solver \
  --steps 25 --batch_size 200 --out "$gen" $dev_flag > "$log/generate.log" 2>&1
rc=$?; note "generate rc=$rc wall=$(( $(date +%s) - t0 )) s: $(grep -ao 'wrote .*' "$log/generate.log")"
cd "$repo"

# ---- score: held-out crops, validation crops and shuffled frames as controls -----------
t0=$(date +%s)
timeout "$(budget 8)" python tools/evaluate_spectrograms.py "$gen" --experiment "$exp" \
  --json_out "$out/metrics.json" --table "$out/table.md" --grid "$out/grid.png" \
  --stride "$stride" --valid_control --write_real 4 $dev_flag > "$log/evaluate.log" 2>&1
rc=$?; note "evaluate rc=$rc wall=$(( $(date +%s) - t0 )) s"
cat "$out/table.md" >> "$summary" 2>/dev/null || tail -n 5 "$log/evaluate.log" >> "$summary"

set +f
# ---- package: 20 sample wavs (+ 4 held-out crops through the same Griffin-Lim), their
# spectrogram PNG and all 200 generated spectrograms (mel_db.pt) ----------------------------
( cd "$exp" && tar czf "$out/samples.tgz" $(ls eval_samples/wav/*.wav 2>/dev/null | head -n 20) \
  eval_samples/real_wav eval_samples/spectrograms.png eval_samples/mel_db.pt hyperparams.yaml \
  2>/dev/null )
cp "$exp/train_log.txt" "$exp/log.txt" "$exp/hyperparams.yaml" "$log/" 2>/dev/null
cp -r "$exp/samples" "$log/epoch_samples" 2>/dev/null
tar czf "$out/logs.tgz" -C "$log" .
note "total wall=$(( $(date +%s) - start )) s"
ls -la "$out"
