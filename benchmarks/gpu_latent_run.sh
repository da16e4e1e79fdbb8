#!/usr/bin/env bash
# One GPU run of the AudioMNIST latent-diffusion recipe, end to end (about 8 minutes): stage 1
# (autoencoder) and stage 2 (latent U-Net) on the bundled FSDD at the GPU size, test-split
# reconstruction error, 1000 digit-conditioned samples (100 per digit, DPM-Solver++ 20 steps,
# guidance 2.0) scored by the digit classifier, and sampling time per sample against the
# spectrogram-space model of benchmarks/gpu_audiomnist_run.sh.
# Usage: bash benchmarks/gpu_latent_run.sh OUT_DIR [AE_MINUTES] [DIFFUSION_MINUTES] [EXTRA...]
# (EXTRA: more overrides for train.py, e.g. --latent_channels 8). Writes 8 files into OUT_DIR.
# CPU dry run: PER_DIGIT=2 BENCH_BATCHES=1 TRAIN_SLACK_S=900 bash benchmarks/gpu_latent_run.sh /tmp/dry 0.1 0.1 \
#   --ae_base_channels 8 --base_channels 16 --num_res_blocks 1 --batch_size 8 --ae_batch_size 8
set -uo pipefail
out=${1:?output folder}; ae_min=${2:-1.5}; diff_min=${3:-3.5}; shift $(( $# < 3 ? $# : 3 ))
per_digit=${PER_DIGIT:-100}; bench_batches=${BENCH_BATCHES:-100 500}; slack=${TRAIN_SLACK_S:-180}
mkdir -p "$out"; out=$(cd "$out" && pwd); repo=$(pwd)
exp=$repo/results/gpu_latent; log=$repo/results/gpu_logs_latent; clf=$repo/results/classifier
rm -rf "$exp" "$log"; mkdir -p "$log"
t0=$(date +%s); stamp() { echo "[$(( $(date +%s) - t0 )) s] $*" | tee -a "$out/summary.txt"; }

# ---- the evaluation classifier (recipes/AudioMNIST/classifier, as gpu_audiomnist_run.sh):
# the only two places that call it; adapt here if its interface changes
train_classifier() {
  [ -f "$clf/test_accuracy.json" ] && { echo "reusing $clf"; return 0; }
  cd recipes/AudioMNIST/classifier && timeout 420 python train.py hparams/train.yaml \
    --output_folder "$clf" --channels "[32, 64, 128, 256]" --number_of_epochs 40 --noprogressbar
}
score_samples() {  # score_samples SAMPLES_DIR JSON_OUT
  python tools/evaluate_samples.py "$1" --classifier "$clf" --json_out "$2"
}

nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$log/device.txt"
( train_classifier > "$log/classifier.log" 2>&1 ) &   # small; shares the GPU with training
clf_pid=$!

cd recipes/AudioMNIST/diffusion
stamp "training: autoencoder $ae_min min, latent diffusion $diff_min min"
timeout $(python -c "print(int(($ae_min + $diff_min) * 60 + $slack))") \
python train.py hparams/train_latent.yaml --digit_conditioned true --output_folder "$exp" \
  --prepare_folder "$repo/results/prepared_fsdd" \
  --ae_base_channels 48 --ae_num_res_blocks 2 --ae_batch_size 64 --ae_lr 0.0005 \
  --ae_max_train_minutes "$ae_min" --ae_epochs 100000 --write_test_reconstructions true \
  --base_channels 96 --channel_mults "[1, 2, 2]" --num_res_blocks 2 --attention_levels "[1, 2]" \
  --batch_size 128 --lr 0.0003 --max_train_minutes "$diff_min" --number_of_epochs 100000 \
  --precision bf16 --eval_precision bf16 --sample_every 100 --ckpt_every 50 \
  --samples_per_label 2 --noprogressbar "$@" > "$log/train_stdout.log" 2>&1
stamp "train rc=$?"
cp "$exp/train_log.txt" "$exp/log.txt" "$log/" 2>/dev/null
cp "$exp/reconstruction_test.json" "$out/" 2>/dev/null
stamp "test reconstruction: $(cat "$exp/reconstruction_test.json" 2>/dev/null)"
grep -E "Trainable|budget|Latent statistics" "$exp/log.txt" | tail -6 >> "$out/summary.txt"
python generate.py "$exp" --num "$per_digit" --sampler dpm_solver --steps 20 --guidance_scale 2.0 \
  --batch_size 500 --out "$exp/eval_samples" 2> "$log/generate.log" | tee -a "$out/summary.txt"
stamp "generated $(( 10 * per_digit )) samples"
cd "$repo"
wait $clf_pid; tail -3 "$log/classifier.log" | tee -a "$out/summary.txt"
score_samples "$exp/eval_samples" "$out/score_latent_digit.json" 2>&1 | tail -15 | tee -a "$out/summary.txt"
# ceilings: the test split through Griffin-Lim only, and through the autoencoder + Griffin-Lim
for kind in original reconstruction; do
  echo "test split, $kind:" | tee -a "$out/summary.txt"
  score_samples "$exp/reconstructions/test/$kind" "$out/score_test_$kind.json" 2>&1 \
    | grep -E "^(num_samples|digit_acc|speaker_acc|error)" | tee -a "$out/summary.txt"
done
stamp "scored"
timeout 150 python benchmarks/bench_latent_speed.py "$exp" --batch $bench_batches \
  --json "$out/speed_latent.json" 2>&1 | tail -4 | tee -a "$out/summary.txt"
stamp "speed measured"
mkdir -p "$log/reconstructions"; cp -r "$exp/samples" "$log/" 2>/dev/null
cp -r "$exp/reconstructions/autoencoder" "$exp/reconstructions/diffusion" "$log/reconstructions/"
cp "$exp/reconstructions/test/comparison.png" "$log/reconstructions/test_comparison.png"
cp "$exp/eval_samples/spectrograms.png" "$log/eval_spectrograms.png" 2>/dev/null
cp "$clf/test_accuracy.json" "$log/classifier_test_accuracy.json" 2>/dev/null
# the trained classifier itself (checkpoint + hyperparams, no feature caches), for scoring later
( cd "$clf" && tar czf "$log/classifier.tgz" --exclude=prepared --exclude='*features*' . )
# 20 wavs per digit (all 1000 would pass the 16 MiB a file that comes back)
( cd "$exp" && tar czf "$out/samples_latent_digit.tgz" eval_samples/wav/digit?_0[01]?.wav \
  eval_samples/labels.json labels.json hyperparams.yaml )
tar czf "$out/logs_latent.tgz" -C "$log" .
ls -la "$out"
