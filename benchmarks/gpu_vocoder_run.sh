#!/usr/bin/env bash
# One GPU run of recipes/LJSpeech/vocoder, end to end, in about 7 minutes of wall time:
#  1. train DiffWave, PriorGrad and SpecGrad (the same DiffWave BASE backbone, 30 x 64) at the
#     same time on the one GPU, each for TRAIN_MINUTES (same budget, same conditions), bf16,
#     on the LJSpeech subset built by tools/build_vocoder_gpu_data.py (the last 20 clips,
#     LJ002-0121 .. LJ002-0140, held out: never trained on);
#  2. vocode the 20 held-out clips at 6 steps (DiffWave's fast schedule) and 50 (the full
#     chain) with each model, and with Griffin-Lim; MR-STFT, mel L1, LSD (PESQ / STOI later on
#     a CPU: benchmarks/score_vocoder_outputs.py); spectrogram plots of outputs vs real and of
#     the priors' noise;
#  3. real-time factor at batch 1 (6 and 50 steps; eager, and SpecGrad through CUDA graphs)
#     beside SpeechBrain's DiffWave lobe at the same size, alone on the GPU.
# Usage: bash benchmarks/gpu_vocoder_run.sh OUT_DIR [TRAIN_MINUTES]
# Data:  python tools/build_vocoder_gpu_data.py /work/data/LJSpeech-1.1 .gpu_data/vocoder/LJSpeech-1.1
# Writes 8 files to OUT_DIR: summary.txt, results.json, spectrograms.png, noise.png,
# vocoded_{diffwave,priorgrad,specgrad}.tgz (each model's wavs at 6 and 50 steps),
# griffinlim_and_logs.tgz (Griffin-Lim's wavs, training logs, epoch-end samples, raw JSON).
# Each stage's failure leaves the others' results; timeouts keep the total under VOC_WALL.
# CPU dry run (toy sizes): VOC_SIZE="--residual_layers 2 --residual_channels 16"
#   VOC_TRAIN="--batch_size 2 --crops_per_epoch 8 --valid_crops 2" VOC_PRECISION=""
#   VOC_EVAL="--max_clips 2 --steps 6" VOC_SPEED="--quick --no_compile" VOC_WALL=2400
#   VOC_TRAIN_MARGIN=600  (VOC_SPEED="--quick" instead also runs SpecGrad's torch.compile path on
#   the CPU: inductor without CUDA graphs, about a minute more)
set -uo pipefail
out=${1:?output folder}; minutes=${2:-3.5}
start=$(date +%s); deadline=$((start + ${VOC_WALL:-450}))
left() { echo $((deadline - $(date +%s))); }
mkdir -p "$out"; out=$(cd "$out" && pwd); repo=$(pwd)
data=${VOC_DATA:-$repo/.gpu_data/vocoder/LJSpeech-1.1}
work=$repo/results/gpu_vocoder; log=$work/logs
rm -rf "$work"; mkdir -p "$log"
names=${VOC_NAMES:-"diffwave priorgrad specgrad"}  # VOC_NAMES: a subset, or variants such as
# priorgrad_precond (benchmarks/vocoder_run_names.sh)

size=${VOC_SIZE:-}                                   # default: the YAMLs' DiffWave BASE
train_hp=${VOC_TRAIN:-"--batch_size 32 --lr 0.0004"}
precision=${VOC_PRECISION-"--precision bf16 --eval_precision bf16"}
compile=${VOC_COMPILE:+--compile --compile_module_keys model}
flags="--data_folder $data --held_out_last 20
  --number_of_epochs 100000 --sample_every 100000 --ckpt_every 100000 --noprogressbar
  --ckpt_interval_minutes 1
  $train_hp $precision $size ${compile:-}"

{ nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no GPU"
  echo "data: $data ($(ls "$data"/wavs 2>/dev/null | wc -l) clips)"
  echo "train (each of $names, $minutes min): $flags" | tr -s ' \n' ' '; echo; } \
  > "$out/summary.txt"
[ -f "$data/metadata.csv" ] || echo "error: no data in $data (build it first)" >> "$out/summary.txt"

# ---- 1. training: three processes, the same minutes each ---------------------------------
t0=$(date +%s)
# the budget starts after imports and data loading (about 20 s on the GPU machine); the last
# epoch then validates, vocodes 4 clips and saves; intra-epoch checkpoints every minute guard
# against the timeout
train_limit=$(python -c "print(int($minutes * 60 + ${VOC_TRAIN_MARGIN:-120}))")
. benchmarks/vocoder_run_names.sh  # vocoder_run_flags NAME -> YAML FLAGS (e.g. priorgrad_precond)
train_one() {  # $1 = name; a crash before any checkpoint (within 150 s) is retried once with
  # the plain-PyTorch dilated convolutions, for the minutes left (the summary says so)
  local name=$1 t=$(date +%s) rc yaml extra
  read -r yaml extra <<< "$(vocoder_run_flags "$name")"
  (cd recipes/LJSpeech/vocoder && timeout "$train_limit" python train.py "hparams/$yaml.yaml" \
    $flags $extra --max_train_minutes "$minutes" --output_folder "$work/$name" \
    > "$log/train_$name.log" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] && ! ls "$work/$name"/save/CKPT+* > /dev/null 2>&1 \
      && [ $(( $(date +%s) - t )) -lt 150 ]; then
    local m; m=$(python -c "print(round(max(0.5, $minutes - ($(date +%s) - $t) / 60), 2))")
    echo "train $name failed (rc=$rc): retried with --dilated_kernel torch for $m min" \
      >> "$out/summary.txt"
    (cd recipes/LJSpeech/vocoder && timeout "$train_limit" python train.py "hparams/$yaml.yaml" \
      $flags $extra --dilated_kernel torch --max_train_minutes "$m" --output_folder "$work/$name" \
      >> "$log/train_$name.log" 2>&1)
    rc=$?
  fi
  return $rc
}
pids=()
for name in $names; do
  train_one "$name" &
  pids+=($!)
done
i=0
for name in $names; do
  wait "${pids[$i]}"; echo "train $name rc=$?" >> "$out/summary.txt"; i=$((i + 1))
done
echo "training wall=$(( $(date +%s) - t0 )) s" >> "$out/summary.txt"

exps=""
for name in $names; do
  ls "$work/$name"/save/CKPT+* > /dev/null 2>&1 && exps="$exps --exp $name=$work/$name"
done

# ---- 2. held-out clips: 6 and 50 steps, Griffin-Lim, metrics, plots ----------------------
t0=$(date +%s)
if [ -n "$exps" ] && [ "$(left)" -lt 140 ]; then
  echo "eval skipped: $(left) s left (it needs about 30 s, plus 110 s kept for speed and packing)" \
    >> "$out/summary.txt"
elif [ -n "$exps" ]; then
  timeout $(( $(left) - 110 )) python benchmarks/vocoder_eval.py --data_folder "$data" \
    --held_out_last 20 $exps --out "$work/eval" ${VOC_EVAL:-} > "$log/eval.log" 2>&1
  echo "eval rc=$? wall=$(( $(date +%s) - t0 )) s" >> "$out/summary.txt"
else
  echo "eval skipped: no trained checkpoint" >> "$out/summary.txt"
fi

# ---- 3. speed, alone on the GPU ----------------------------------------------------------
t0=$(date +%s)
if [ "$(left)" -gt 40 ]; then
  timeout $(( $(left) - 20 )) python benchmarks/bench_vocoder_speed.py $exps \
    --compile specgrad --json "$work/speed.json" ${VOC_SPEED:-} > "$log/speed.log" 2>&1
  echo "speed rc=$? wall=$(( $(date +%s) - t0 )) s" >> "$out/summary.txt"
else
  echo "speed skipped: $(left) s left" >> "$out/summary.txt"
fi

# ---- 4. results ----------------------------------------------------------------------------
python benchmarks/summarize_vocoder_run.py "$work" "$out" --names $names > /dev/null 2>&1 \
  || echo "summary failed" >> "$out/summary.txt"
cp "$work/eval/spectrograms.png" "$work/eval/noise.png" "$out/" 2>/dev/null
# the wavs as 16-bit FLAC, in at most 3 archives (8 files come back: 5 are taken above and
# below); NAME_STEPS folders only, so that "priorgrad" does not also pack "priorgrad_precond_6"
python benchmarks/wavs_to_flac.py "$work/eval/wavs" > /dev/null 2>&1 \
  || echo "FLAC conversion failed: wavs packed as they are" >> "$out/summary.txt"
read -r -a name_list <<< "$names"; groups=$(( ${#name_list[@]} < 3 ? ${#name_list[@]} : 3 ))
for ((g = 0; g < groups; g++)); do
  members=(); dirs=()
  for ((i = g; i < ${#name_list[@]}; i += groups)); do
    name=${name_list[$i]}
    for d in "$work/eval/wavs/${name}"_[0-9]*; do
      [ -d "$d" ] && dirs+=("$(basename "$d")") && members+=("$name")
    done
  done
  [ ${#dirs[@]} -gt 0 ] || continue
  label=$(printf '%s\n' "${members[@]}" | awk '!seen[$0]++' | paste -sd+)
  tar czf "$out/vocoded_$label.tgz" -C "$work/eval/wavs" "${dirs[@]}"
done
for name in $names; do
  mkdir -p "$log/$name"
  cp "$work/$name/train_log.txt" "$work/$name/log.txt" "$work/$name/hyperparams.yaml" \
    "$work/$name/mel_settings.json" "$log/$name/" 2>/dev/null
  cp -r "$work/$name/samples" "$log/$name/epoch_samples" 2>/dev/null
done
cp "$work/eval/eval.json" "$work/speed.json" "$log/" 2>/dev/null
cp -r "$work/eval/wavs/griffinlim" "$log/" 2>/dev/null
tar czf "$out/griffinlim_and_logs.tgz" -C "$log" .
echo "total wall=$(( $(date +%s) - start )) s" >> "$out/summary.txt"
cat "$out/summary.txt"; ls -la "$out"
