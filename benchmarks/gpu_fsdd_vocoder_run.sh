#!/usr/bin/env bash
# Optional GPU run: does the 16 kHz diffusion vocoder keep the AudioMNIST digit model's samples
# as recognisable as Griffin-Lim does? In about 9 minutes on one GPU:
#  1. at the same time: the digit-conditioned spectrogram diffusion model (the AudioMNIST
#     recipe's GPU size, with the 80-band mel to 8 kHz of hparams_shared/mel_16k.yaml), the
#     FSDD vocoder (recipes/LJSpeech/vocoder --dataset fsdd, that mel; SpecGrad unless
#     VOC_FSDD_PRIOR names another YAML) and the evaluation classifier, on the bundled FSDD;
#  2. 50 samples per digit from the digit model (DPM-Solver++ 20 steps, guidance 2, one seed:
#     the same spectrograms), turned into audio by Griffin-Lim and by the vocoder (6 steps);
#  3. both scored by the classifier (digit accuracy, IS, FID, ...: tools/evaluate_samples.py).
# Usage: bash benchmarks/gpu_fsdd_vocoder_run.sh OUT_DIR [TRAIN_MINUTES]
# TRAIN_MINUTES (default 6) is the digit model's training budget; the vocoder trains 3/4 of it
# (FSDD_VOC_MINUTES), as its data preparation (2,400 clips read at 16 kHz, mels, the prior fit)
# comes first. Every training is stopped by its own budget, with a checkpoint, before the
# guard (a timeout covering preparation: TRAIN_MINUTES * 60 + FSDD_TRAIN_MARGIN s, 150 by
# default); a guard kill still leaves the epoch-end checkpoint saved each minute
# (--ckpt_interval_minutes 1). Total wall <= FSDD_WALL (560 s by default).
# Writes: summary.txt, score_griffinlim.json, score_vocoder.json, samples.tgz, logs.tgz.
# CPU dry run (add TRAIN_MINUTES 1 after OUT_DIR for a few minutes in all):
#   FSDD_DIGIT_SIZE="--base_channels 8 --channel_mults [1,2] --attention_levels [1]
#   --batch_size 8" FSDD_VOC_SIZE="--residual_layers 2 --residual_channels 16 --batch_size 2
#   --crops_per_epoch 8 --valid_crops 2" FSDD_CLS="--channels [8,16] --number_of_epochs 1"
#   FSDD_PRECISION="" FSDD_PER=2 FSDD_WALL=3600 FSDD_TRAIN_MARGIN=900 OMP_NUM_THREADS=1
set -uo pipefail
out=${1:?output folder}; minutes=${2:-6}
start=$(date +%s); deadline=$((start + ${FSDD_WALL:-560}))
left() { echo $((deadline - $(date +%s))); }
# three trainings prepare their data at once: a few threads each, not one per core each
# (16 threads x 3 processes on 16 cores made the vocoder's per-clip preparation minutes long)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}
mkdir -p "$out"; out=$(cd "$out" && pwd); repo=$(pwd)
work=$repo/results/gpu_fsdd_vocoder; log=$work/logs; rm -rf "$work"; mkdir -p "$log"
prior=${VOC_FSDD_PRIOR:-specgrad}; per=${FSDD_PER:-50}
precision=${FSDD_PRECISION-"--precision bf16 --eval_precision bf16"}
digit_size=${FSDD_DIGIT_SIZE:-"--base_channels 64 --channel_mults [1,2,2,4] --num_res_blocks 2
  --attention_levels [2,3] --batch_size 128 --lr 0.0003 --min_snr_gamma null"}
voc_size=${FSDD_VOC_SIZE:-"--batch_size 32 --lr 0.0004"}
cls_flags=${FSDD_CLS:-"--channels [32,64,128,256] --number_of_epochs 40"}
voc_minutes=${FSDD_VOC_MINUTES:-$(python -c "print(round($minutes * 0.75, 2))")}
limit=$(python -c "print(int($minutes * 60 + ${FSDD_TRAIN_MARGIN:-150}))")
{ nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no GPU"
  echo "vocoder: $prior.yaml --dataset fsdd, $voc_minutes min; digit model $minutes min;" \
    "guard ${limit} s each (rc 124: killed by it)"; } > "$out/summary.txt"

(cd recipes/AudioMNIST/classifier && timeout 450 python train.py hparams/train.yaml \
  --output_folder "$work/classifier" $cls_flags --noprogressbar > "$log/classifier.log" 2>&1) &
cls_pid=$!
(cd recipes/LJSpeech/vocoder && timeout "$limit" python train.py "hparams/$prior.yaml" \
  --dataset fsdd --segment_frames 32 --output_folder "$work/vocoder" $voc_size $precision \
  --max_train_minutes "$voc_minutes" --number_of_epochs 100000 --sample_every 100000 \
  --ckpt_every 100000 --ckpt_interval_minutes 1 --noprogressbar > "$log/vocoder.log" 2>&1) &
voc_pid=$!
(cd recipes/AudioMNIST/diffusion && timeout "$limit" python train.py hparams/train.yaml \
  --digit_conditioned true --n_mels 80 --f_max 8000 --output_folder "$work/digits" \
  $digit_size $precision \
  --max_train_minutes "$minutes" --number_of_epochs 100000 --sample_every 100000 \
  --ckpt_every 100000 --ckpt_interval_minutes 1 --samples_per_label 1 --noprogressbar \
  > "$log/digits.log" 2>&1) &
digit_pid=$!
wait "$digit_pid"; echo "digit model rc=$?" >> "$out/summary.txt"
wait "$voc_pid"; echo "vocoder rc=$?" >> "$out/summary.txt"
wait "$cls_pid"; echo "classifier rc=$?" >> "$out/summary.txt"
echo "training wall=$(( $(date +%s) - start )) s" >> "$out/summary.txt"
grep -h "Data prepared in" "$log/vocoder.log" | sed 's/^.*Data/vocoder: data/' \
  >> "$out/summary.txt"
for name in digits vocoder; do  # the checkpoints kept, and the last epoch's log line
  echo "$name: $(ls -d "$work/$name"/save/CKPT+* 2>/dev/null | wc -l) checkpoint(s);" \
    "$(grep "^epoch:" "$work/$name/train_log.txt" 2>/dev/null | tail -n 1 | cut -c1-160)" \
    >> "$out/summary.txt"
done

for which in griffinlim vocoder; do
  extra=""; [ "$which" = vocoder ] && extra="--vocoder $work/vocoder"
  t0=$(date +%s)
  (cd recipes/AudioMNIST/diffusion && timeout $(( $(left) / 2 )) python generate.py \
    "$work/digits" --num "$per" --sampler dpm_solver --steps 20 --guidance_scale 2.0 \
    --seed 0 --out "$work/eval_$which" $extra > "$log/generate_$which.log" 2>&1)
  echo "generate ($which) rc=$? wall=$(( $(date +%s) - t0 )) s" >> "$out/summary.txt"
  timeout $(( $(left) - 20 )) python tools/evaluate_samples.py "$work/eval_$which" \
    --classifier "$work/classifier" --json_out "$out/score_$which.json" \
    > "$log/score_$which.log" 2>&1
  echo "score ($which) rc=$?:" >> "$out/summary.txt"
  tail -n 12 "$log/score_$which.log" >> "$out/summary.txt"
done

tar czf "$out/samples.tgz" -C "$work" $(cd "$work" && ls -d eval_* 2>/dev/null)
for name in digits vocoder classifier; do
  cp "$work/$name/log.txt" "$log/${name}_log.txt" 2>/dev/null
  cp "$work/$name/train_log.txt" "$log/${name}_train_log.txt" 2>/dev/null
done
tar czf "$out/logs.tgz" -C "$log" .
echo "total wall=$(( $(date +%s) - start )) s" >> "$out/summary.txt"
cat "$out/summary.txt"; ls -la "$out"
