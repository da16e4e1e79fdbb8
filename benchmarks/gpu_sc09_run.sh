#!/usr/bin/env bash
# One GPU run of the SC09 DiffWave recipe, end to end, inside a hard 10-minute wall limit:
# train the digit-conditioned DiffWave on the bundled FSDD at 16 kHz (1 s clips, bf16, EMA)
# for a fixed time, train the scoring classifier beside it, generate 100 samples per digit
# with DiffWave's 6-step fast schedule (classifier-free guidance), and, if time is left,
# 5 per digit with the 200-step ancestral chain; score both. (TRAIN_MINUTES 6 leaves room for
# the 200-step chain; 6.5 may not.)
# Usage: bash benchmarks/gpu_sc09_run.sh OUT_DIR [TRAIN_MINUTES] [--bench]   (SC09_UNCOND=1: the
#   unconditional model; SC09_SAMPLERS, SC09_GUIDANCE2: further sample sets, see below)
# Writes at most 8 files to OUT_DIR: summary.txt, score_fast.json, score_ddpm200.json,
# samples_fast.tgz, samples_ddpm200.tgz, samples_fast_unit.tgz (SC09_UNIT_START=1), logs.tgz
# (+ speed.txt with --bench; that needs
# about 4 extra minutes: better run bench_diffwave_speed.py in its own call).
set -uo pipefail
out=${1:?output folder}; minutes=${2:-6.5}; bench=${3:-}
start=$(date +%s); deadline=$((start + ${SC09_WALL:-570}))  # default: 30 s before 10 minutes
left() { echo $((deadline - $(date +%s))); }
mkdir -p "$out"; out=$(cd "$out" && pwd); repo=$(pwd)
exp=$repo/results/gpu_sc09; log=$repo/results/gpu_sc09_logs
cls=$repo/results/classifier
rm -rf "$exp" "$log" "$cls"; mkdir -p "$log"  # a fresh run: no checkpoint of an earlier size

# ---- scoring: the one place that knows the classifier's interface --------------------------
# --level_range_db 80: the classifier sees each clip's level-normalised features, so it scores
# the peak-normalised samples (and references) as it would the clips at their recorded level;
# at the recorded level its speaker head relied on FSDD's ~20 dB level differences
# (recipes/AudioMNIST/classifier/README.md). SC09_CLS_FLAGS replaces these flags.
cls_flags=${SC09_CLS_FLAGS-"--level_range_db 80"}
train_classifier() {  # background, beside the diffusion training (small, shares the GPU)
  timeout 400 python tools/score_digit_samples.py train --out "$cls" --epochs "$cls_epochs" \
    ${cls_flags:+-- $cls_flags} > "$log/classifier.log" 2>&1
}
score_samples() {  # $1 = folder with wav/*.wav + labels.json, $2 = JSON out
  timeout "$(left)" python tools/score_digit_samples.py score "$1" --classifier "$cls" \
    --json_out "$2" 2>&1 | grep -E "^(num_samples|digit_acc|is|fid) "
  python -c "import json, sys; h = json.load(open(sys.argv[1]))['predicted_digit_histogram']
print('predicted digits (0-9)', ' '.join(f'{x / max(1, sum(h)):.1%}' for x in h))" "$2" 2>&1
}

# ---- the model: the configuration that reached 86.9% in 13 minutes on one H100 -------------
# (4 samples per step, 256 channels, 30 layers; see recipes/SC09/diffwave/README.md)
# (SC09_SIZE / SC09_CLS_EPOCHS override the size and the classifier's epochs for a CPU dry run)
size=${SC09_SIZE:-"--patch_size 4 --residual_channels 256 --residual_layers 30 --dilation_cycle 10"}
cls_epochs=${SC09_CLS_EPOCHS:-40}
# SC09_TRAIN: batch size and learning rate; SC09_GUIDANCE: the guidance of the fast samples;
# SC09_DDPM200=0 skips the 200-step chain
train_hp=${SC09_TRAIN:-"--batch_size 32 --lr 0.0004"}; guidance=${SC09_GUIDANCE:-2.0}
# SC09_UNCOND=1: the unconditional model (the seed's unconditional_generate), every sample set
# 10x the per-digit count without a digit, scored by IS and the predicted-digit histogram
uncond=${SC09_UNCOND:-0}
if [ "$uncond" = 1 ]; then conditioned=false; else conditioned=true; fi
per_digit() {  # $1 = samples per digit -> generate.py's flags (the same total unconditionally)
  if [ "$uncond" = 1 ]; then echo "--unconditional --num $(( $1 * 10 ))"; else echo "--num $1"; fi
}
wavs() {  # $1 = folder, $2 = takes per digit -> the paths of that many wavs of each digit
  if [ "$uncond" = 1 ]; then ls "$1"/wav/uncond_*.wav | head -$(( $2 * 10 ))
  else ls "$1"/wav/digit?_*.wav | awk -F_ -v n="$2" '{split($NF, a, "."); if (a[1] + 0 < n) print}'
  fi
}
train_flags="--digit_conditioned $conditioned $train_hp --ema_decay 0.999 ${SC09_COMPILE:---compile --compile_module_keys model}
  --ema_warmup_steps 5000 --precision bf16 --eval_precision bf16 --guidance_scale 2.0
  --number_of_epochs 100000 --sample_every 1000 --ckpt_every 1000 --samples_per_label 2"

nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$out/summary.txt"
echo "model: $size; $train_flags; $minutes min" | tr '\n' ' ' >> "$out/summary.txt"
echo >> "$out/summary.txt"
echo "scoring classifier: $cls_epochs epochs ${cls_flags:-(recorded level)}" >> "$out/summary.txt"
if [ "$bench" = "--bench" ]; then
  timeout 240 python benchmarks/bench_diffwave_speed.py --json "$log/speed.json" 2>&1 \
    | tail -12 > "$out/speed.txt"
  # the bench eats into the same 10 minutes: train that much less
  minutes=$(python -c "print(max(1.0, $minutes - ($(date +%s) - $start) / 60))")
fi
( train_classifier ) &
cls_pid=$!

cd recipes/SC09/diffwave
t0=$(date +%s)
# train.py stops itself after $minutes (max_train_minutes), then validates, writes the last
# epoch's samples and a checkpoint; the timeout is only a guard
timeout $(( $(left) - 100 )) python train.py hparams/diffwave.yaml $size $train_flags \
  --output_folder "$exp" --max_train_minutes "$minutes" --noprogressbar \
  > "$log/train_stdout.log" 2>&1
echo "train rc=$? wall=$(( $(date +%s) - t0 )) s" | tee -a "$out/summary.txt"
grep -E "params|epoch: " "$exp/log.txt" 2>/dev/null | tail -2 >> "$out/summary.txt"

t0=$(date +%s)
timeout $(( $(left) - 45 )) python generate.py "$exp" $(per_digit 100) --sampler fast --batch_size 250 \
  --guidance_scale "$guidance" --out "$exp/eval_fast" 2>>"$log/generate_stderr.log" | tee -a "$log/generate.log"
echo "generate fast (1000 samples, 6 steps, guidance $guidance) wall=$(( $(date +%s) - t0 )) s" \
  | tee -a "$log/generate.log"
cd "$repo"
cat "$log/generate.log" >> "$out/summary.txt"
wait "$cls_pid"; tail -2 "$log/classifier.log" >> "$out/summary.txt"
echo "score fast:" >> "$out/summary.txt"
score_samples "$exp/eval_fast" "$out/score_fast.json" >> "$out/summary.txt"
waveform_figures() {  # $1 = sample folder, $2 = JSON out: babble, voices, 4 kHz line, clicks
  timeout "$(left)" python tools/evaluate_waveforms.py "$1" --real_fsdd_test \
    --real bundled_data/sc09_mini/speech_commands_v0.01 --classifier "$cls" \
    --json_out "$2" 2>&1 | grep -Ev "^(INFO|WARNING)" >> "$out/summary.txt"
}
echo "waveform figures, fast (the experiment's sample_data_variance):" >> "$out/summary.txt"
waveform_figures "$exp/eval_fast" "$log/waveform_fast.json"

# SC09_UNIT_START=1: also 30 per digit from the unit-variance start (--data_variance none, as
# in DiffWave's code), the same model and seed: what the marginal start changes
if [ "${SC09_UNIT_START:-0}" = 1 ] && [ "$(left)" -gt 60 ]; then
  (cd recipes/SC09/diffwave && timeout $(( $(left) - 30 )) python generate.py "$exp" $(per_digit 30) \
    --sampler fast --guidance_scale "$guidance" --batch_size 300 --data_variance none \
    --out "$exp/eval_fast_unit" 2>>"$log/generate_stderr.log") >> "$out/summary.txt"
  echo "score fast, unit-variance start (300 samples):" >> "$out/summary.txt"
  score_samples "$exp/eval_fast_unit" "$log/score_fast_unit.json" >> "$out/summary.txt"
  echo "waveform figures, fast, unit-variance start:" >> "$out/summary.txt"
  waveform_figures "$exp/eval_fast_unit" "$log/waveform_fast_unit.json"
fi

if [ "${SC09_DDPM200:-1}" = 1 ] && [ "$(left)" -gt 60 ]; then
  t0=$(date +%s)
  (cd recipes/SC09/diffwave && timeout $(( $(left) - 25 )) python generate.py "$exp" $(per_digit 5) \
    --sampler ddpm --batch_size 50 --out "$exp/eval_ddpm200" 2>>"$log/generate_stderr.log") \
    >> "$out/summary.txt"
  echo "generate ddpm 200 steps (50 samples) wall=$(( $(date +%s) - t0 )) s" >> "$out/summary.txt"
  if [ -d "$exp/eval_ddpm200/wav" ]; then
    echo "score ddpm200:" >> "$out/summary.txt"
    score_samples "$exp/eval_ddpm200" "$out/score_ddpm200.json" >> "$out/summary.txt"
  fi
else
  echo "no 200-step chain (SC09_DDPM200=${SC09_DDPM200:-1}, $(left) s left)" >> "$out/summary.txt"
fi

# SC09_SAMPLERS="ddim:50 dpm_solver:20 dpm_solver:20:auto": also 20 per digit with each
# sampler:steps[:start] (start: --data_variance auto | none | a number; default the
# experiment's sample_data_variance), scored with the waveform figures too. The ODE samplers
# keep a mismatched start (tests/unittests/test_sampler_start.py): dpm_solver:20:auto is the
# matched-start candidate against the babble.
# A fourth field "shift" (e.g. fast:6::shift) samples through generate.py --shift_ensemble
# (each network call averaged over the 4 sub-patch shifts: the 4 kHz line of patch 4).
for spec in ${SC09_SAMPLERS:-}; do
  IFS=: read -r name steps x_start shift <<< "$spec"  # (not $start: the clock)
  tag=${name}_${steps}${x_start:+_$x_start}${shift:+_$shift}
  [ "$(left)" -gt 40 ] || { echo "no time left for $spec" >> "$out/summary.txt"; break; }
  (cd recipes/SC09/diffwave && timeout $(( $(left) - 20 )) python generate.py "$exp" $(per_digit 20) \
    --sampler "$name" --steps "$steps" --guidance_scale "$guidance" --batch_size 300 \
    ${x_start:+--data_variance "$x_start"} ${shift:+--shift_ensemble} --out "$exp/eval_$tag" 2>>"$log/generate_stderr.log") \
    >> "$out/summary.txt"
  echo "score $name $steps steps${x_start:+, start $x_start}${shift:+, shift ensemble} (200 samples):" >> "$out/summary.txt"
  score_samples "$exp/eval_$tag" "$log/score_$tag.json" >> "$out/summary.txt"
  echo "waveform figures, $name $steps steps${x_start:+, start $x_start}${shift:+, shift ensemble}:" >> "$out/summary.txt"
  waveform_figures "$exp/eval_$tag" "$log/waveform_$tag.json"
  cp "$exp/eval_$tag/spectrograms.png" "$log/spectrograms_$tag.png" 2>/dev/null
  ( cd "$exp" && tar czf "$log/samples_$tag.tgz" $(wavs eval_$tag 5) \
    eval_$tag/labels.json 2>/dev/null )
done

# SC09_GUIDANCE2: also 30 per digit at a second guidance scale (how guidance trades off)
if [ -n "${SC09_GUIDANCE2:-}" ] && [ "$(left)" -gt 50 ]; then
  (cd recipes/SC09/diffwave && timeout $(( $(left) - 25 )) python generate.py "$exp" $(per_digit 30) \
    --sampler fast --guidance_scale "$SC09_GUIDANCE2" --batch_size 300 \
    --out "$exp/eval_fast_g2" 2>>"$log/generate_stderr.log") >> "$out/summary.txt"
  echo "score fast, guidance $SC09_GUIDANCE2 (300 samples):" >> "$out/summary.txt"
  score_samples "$exp/eval_fast_g2" "$out/score_fast_guidance2.json" >> "$out/summary.txt"
  echo "waveform figures, fast, guidance $SC09_GUIDANCE2 (voices against guidance):" \
    >> "$out/summary.txt"
  waveform_figures "$exp/eval_fast_g2" "$log/waveform_fast_guidance2.json"
fi

# 30 wavs per digit (all 1000 would pass the 16 MiB a returned file may have)
( cd "$exp" && tar czf "$out/samples_fast.tgz" $(wavs eval_fast 30) \
  eval_fast/spectrograms.png eval_fast/labels.json labels.json hyperparams.yaml 2>/dev/null )
[ -d "$exp/eval_ddpm200" ] && tar czf "$out/samples_ddpm200.tgz" -C "$exp" eval_ddpm200
[ -d "$exp/eval_fast_unit" ] && ( cd "$exp" && tar czf "$out/samples_fast_unit.tgz" \
  $(wavs eval_fast_unit 10) eval_fast_unit/spectrograms.png eval_fast_unit/labels.json )
cp "$exp/data_stats.json" "$log/" 2>/dev/null
cp "$exp/train_log.txt" "$exp/log.txt" "$log/" 2>/dev/null
cp -r "$exp/samples" "$log/epoch_samples" 2>/dev/null
cp "$cls/test_accuracy.json" "$log/" 2>/dev/null
tar czf "$out/logs.tgz" -C "$log" .
echo "total wall=$(( $(date +%s) - start )) s" >> "$out/summary.txt"
cat "$out/summary.txt"; ls -la "$out"
