#!/usr/bin/env bash
# One GPU run of the AudioMNIST spectrogram-diffusion recipe, end to end: train on the bundled
# FSDD for a fixed time at the GPU size, train the scoring classifier beside it, generate
# 50 samples per label with DPM-Solver++ (20 steps, guidance 2.0), score them.
# (80 mels to 8 kHz, unweighted loss: the configuration of the recorded numbers; the recipe's
# defaults are now 40 mels to 4 kHz and min-SNR-5 weighting, see benchmarks/gpu_uncond_run.sh
# for a run at the defaults)
# Usage: bash benchmarks/gpu_audiomnist_run.sh OUT_DIR [digit|digit_speaker] [TRAIN_MINUTES] [--bench]
set -uo pipefail
out=${1:?output folder}; mode=${2:-digit}; minutes=${3:-7}; bench=${4:-}
mkdir -p "$out"; repo=$(pwd); exp=$repo/results/gpu_$mode; log=$repo/results/gpu_logs_$mode
mkdir -p "$log"
flags="--digit_conditioned true"; per=50
if [ "$mode" = digit_speaker ]; then flags="$flags --speaker_conditioned true"; per=10; fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$log/device.txt"
if [ -n "$bench" ]; then
  timeout 170 python benchmarks/bench_spectrogram_speed.py --json "$log/speed.json" 2>&1 | tee "$out/speed.txt"
fi
# the evaluation classifier (recipes/AudioMNIST/classifier) trains beside the diffusion model
# (small, shares the GPU) at its GPU size
cls=$repo/results/classifier
( cd recipes/AudioMNIST/classifier && timeout 420 python train.py hparams/train.yaml \
    --output_folder "$cls" --channels "[32, 64, 128, 256]" --number_of_epochs 40 \
    --noprogressbar > "$log/classifier.log" 2>&1 ) &
cd recipes/AudioMNIST/diffusion
start=$(date +%s)
timeout $(python -c "print(int($minutes*60+150))") python train.py hparams/train.yaml $flags \
  --output_folder "$exp" --n_mels 80 --f_max 8000 --min_snr_gamma null \
  --base_channels 64 --channel_mults "[1, 2, 2, 4]" --num_res_blocks 2 \
  --attention_levels "[2, 3]" --batch_size 128 --lr 0.0003 --precision bf16 --eval_precision bf16 \
  --max_train_minutes "$minutes" --number_of_epochs 100000 --sample_every 100 --ckpt_every 50 \
  --samples_per_label 2 --noprogressbar > "$log/train_stdout.log" 2>&1
echo "train rc=$? wall=$(( $(date +%s) - start )) s" | tee -a "$out/summary.txt"
cp "$exp/train_log.txt" "$log/train_log.txt"; grep -E "Trainable|epoch_loop|budget" "$exp/log.txt" | tail -3 >> "$out/summary.txt"
gen_start=$(date +%s)
python generate.py "$exp" --num $per --sampler dpm_solver --steps 20 --guidance_scale 2.0 \
  --out "$exp/eval_samples" 2>&1 | tail -2 | tee -a "$out/summary.txt"
echo "generate wall=$(( $(date +%s) - gen_start )) s" | tee -a "$out/summary.txt"
cd "$repo"; wait
tail -3 "$log/classifier.log"
python tools/evaluate_samples.py "$exp/eval_samples" --classifier "$cls" \
  --json_out "$log/score_$mode.json" 2>&1 | tee -a "$out/summary.txt"
cp "$cls/test_accuracy.json" "$log/classifier_test_accuracy.json" 2>/dev/null
cp "$exp/eval_samples/spectrograms.png" "$log/eval_spectrograms.png" 2>/dev/null
tar czf "$out/samples_$mode.tgz" -C "$exp" eval_samples/wav labels.json hyperparams.yaml
tar czf "$log/classifier.tgz" -C "$cls" hyperparams.yaml labels.json test_accuracy.json save 2>/dev/null
cp "$exp/log.txt" "$log/recipe_log.txt"
tar czf "$out/logs_$mode.tgz" -C "$log" .
ls -la "$out"
