#!/usr/bin/env bash
# Multi-GPU training through SpeechBrain's DDP (issue 19), on the 2-GPU machine, in one call:
# the AudioMNIST spectrogram recipe (GPU size) and the SC09 DiffWave recipe, each trained for
# the same number of optimizer steps on 1 GPU (plain `python train.py`) and on 2 GPUs
# (`torchrun --nproc_per_node=2 train.py ...`, same per-GPU batch, so 2x the samples per
# step, same learning rate), then 50 samples per digit from each model scored by the
# evaluation classifier (trained here). Reports training throughput (samples/s of the
# training stage, after a warm-up; goal: 2 GPUs >= 1.8x 1 GPU) and digit accuracy at equal
# optimizer steps (goal: the same).
#
# Usage: bash benchmarks/gpu_ddp_run.sh OUT_DIR [AM_STEPS] [SC09_STEPS]
# Writes to OUT_DIR: summary.txt, summary.json, table.md, logs.tgz, samples.tgz.
# Order (both GPUs busy throughout): the two 1-GPU runs side by side (GPU 0, GPU 1), the
# 2-GPU AudioMNIST run, the 2-GPU SC09 run, then generation (GPU 0) beside the classifier
# (GPU 1), then scoring on both.
# CPU dry run at toy size (gloo; about 8 minutes on 2 loaded cores; DIR = an FSDD subset):
#   DDP_BACKEND=gloo DDP_PRECISION="" DDP_DATA=DIR AM_BATCH=8 SC09_BATCH=8 GEN_NUM=1 \
#   AM_SIZE="--base_channels 8 --channel_mults [1,2] --attention_levels [1] --num_res_blocks 1" \
#   SC09_SIZE="--residual_channels 8 --residual_layers 2 --dilation_cycle 2" AM_GEN_STEPS=2 \
#   CLS_EPOCHS=1 CLS_FLAGS="--channels [4,8] --embedding_dim 16" DDP_DEADLINE=1800 \
#   bash benchmarks/gpu_ddp_run.sh /tmp/ddp_out 30 30
# Environment:
#   DDP_BACKEND (nccl) DDP_PRECISION ("--precision bf16 --eval_precision bf16")
#   AM_SIZE AM_BATCH (128) SC09_SIZE SC09_BATCH (32) SC09_COMPILE ("": eager; e.g.
#   "--compile --compile_module_keys model") DDP_DATA (FSDD folder; default: the bundled one)
#   GEN_NUM (50 per digit) AM_GEN_STEPS (20) CLS_EPOCHS (40) CLS_FLAGS DDP_DEADLINE (540 s)
#   DDP_CAP_MINUTES (3.0: max_train_minutes of each run, a guard; steps decide)
set -uo pipefail
out=${1:?output folder}; am_steps=${2:-600}; sc_steps=${3:-1200}
start=$(date +%s); deadline=$((start + ${DDP_DEADLINE:-540}))
left() { echo $((deadline - $(date +%s))); }
tmo() { local t=$(( $(left) - $1 )); [ "$t" -lt 10 ] && t=10; echo "$t"; }  # timeout, >= 10 s
mkdir -p "$out"; out=$(cd "$out" && pwd); repo=$(pwd)
res=$repo/results/gpu_ddp; log=$res/logs; cls=$res/classifier
rm -rf "$res"; mkdir -p "$log"
backend=${DDP_BACKEND:-nccl}; precision=${DDP_PRECISION---precision bf16 --eval_precision bf16}
cap=${DDP_CAP_MINUTES:-3.0}; data=${DDP_DATA:+--data_folder $DDP_DATA}
am_batch=${AM_BATCH:-128}; sc_batch=${SC09_BATCH:-32}
# the measured GPU configurations (recipes/AudioMNIST/diffusion/README.md, gpu_sc09_run.sh)
am_size=${AM_SIZE:---base_channels 64 --channel_mults [1,2,2,4] --num_res_blocks 2 --attention_levels [2,3]}
sc_size=${SC09_SIZE:---patch_size 4 --residual_channels 256 --residual_layers 30 --dilation_cycle 10}
common="--digit_conditioned true $precision $data --number_of_epochs 100000 --sample_every 100000
  --ckpt_every 100000 --samples_per_label 1 --ckpt_interval_minutes 0 --noprogressbar
  --max_train_minutes $cap"
am_flags="$am_size --batch_size $am_batch --lr 0.0003 --optimizer_step_limit $am_steps
  --prepare_folder $res/prepared_am $common"
sc_flags="$sc_size --batch_size $sc_batch --lr 0.0004 --ema_decay 0.999 --ema_warmup_steps 5000
  --guidance_scale 2.0 ${SC09_COMPILE:-} --optimizer_step_limit $sc_steps
  --prepare_folder $res/prepared_sc09 $common"
AM=$repo/recipes/AudioMNIST/diffusion; SC=$repo/recipes/SC09/diffwave
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}
# NVLink multicast stays off (it can take the host's shared GPUs out of service): KINDS.md
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1

{ nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no GPU"
  python -c "import torch; print('torch', torch.__version__, 'cuda devices', torch.cuda.device_count())"
  echo "AudioMNIST: $am_steps steps, per-GPU batch $am_batch: $am_flags" | tr '\n' ' '; echo
  echo "SC09 DiffWave: $sc_steps steps, per-GPU batch $sc_batch: $sc_flags" | tr '\n' ' '; echo
} > "$out/summary.txt" 2>&1

# train NAME DIR YAML GPUS NPROC FLAGS...: one run, its wall time and exit status in the summary
train() {
  local name=$1 dir=$2 yaml=$3 gpus=$4 nproc=$5; shift 5
  local t0; t0=$(date +%s)
  local launch=(python train.py)
  if [ "$nproc" -gt 1 ]; then
    local port=$((29500 + RANDOM % 1000))
    launch=(python -m torch.distributed.run --nnodes=1 --nproc_per_node="$nproc"
      --master_addr=127.0.0.1 --master_port="$port" train.py)
  fi
  (cd "$dir" && CUDA_VISIBLE_DEVICES=$gpus timeout "$(tmo 150)" "${launch[@]}" "$yaml" \
    --distributed_backend "$backend" --output_folder "$res/$name" "$@" \
    > "$log/train_$name.log" 2>&1)
  local rc=$?
  echo "train $name ($nproc process(es), GPUs $gpus): rc=$rc wall=$(( $(date +%s) - t0 )) s" \
    >> "$out/summary.txt"
  tail -1 "$res/$name/train_log.txt" >> "$out/summary.txt" 2>/dev/null
}

# generate NAME GPU: 50 samples per digit of a trained run, on one GPU
generate() {
  local name=$1 gpu=$2 t0; t0=$(date +%s)
  [ -d "$res/$name/save" ] || { echo "generate $name: no checkpoint" >> "$out/summary.txt"; return; }
  local dir=$AM sampler=(--sampler dpm_solver --steps "${AM_GEN_STEPS:-20}")
  case $name in sc09*) dir=$SC; sampler=(--sampler fast --batch_size 250);; esac
  (cd "$dir" && CUDA_VISIBLE_DEVICES=$gpu timeout "$(tmo 60)" python generate.py \
    "$res/$name" --num "${GEN_NUM:-50}" "${sampler[@]}" --guidance_scale 2.0 \
    --out "$res/$name/eval_samples" > "$log/generate_$name.log" 2>&1)
  echo "generate $name: rc=$? wall=$(( $(date +%s) - t0 )) s" >> "$out/summary.txt"
}

# score NAME GPU: digit accuracy (and IS, FID, ...) of the generated samples
score() {
  local name=$1 gpu=$2
  [ -d "$res/$name/eval_samples/wav" ] || return
  CUDA_VISIBLE_DEVICES=$gpu timeout "$(tmo 20)" python tools/evaluate_samples.py \
    "$res/$name/eval_samples" --classifier "$cls" --json_out "$res/score_$name.json" \
    > "$log/score_$name.log" 2>&1
  echo "score $name: rc=$? $(grep -o '"digit_acc": [0-9.]*' "$res/score_$name.json" 2>/dev/null)" \
    >> "$out/summary.txt"
}

# 1 GPU each, side by side; then 2 GPUs each
train am_1gpu "$AM" hparams/train.yaml 0 1 $am_flags &
train sc09_1gpu "$SC" hparams/diffwave.yaml 1 1 $sc_flags &
wait
train am_2gpu "$AM" hparams/train.yaml 0,1 2 $am_flags
train sc09_2gpu "$SC" hparams/diffwave.yaml 0,1 2 $sc_flags

# the classifier (GPU 1) beside the generation (GPU 0)
( t0=$(date +%s)
  CUDA_VISIBLE_DEVICES=1 timeout "$(tmo 50)" python tools/score_digit_samples.py train \
    --out "$cls" --epochs "${CLS_EPOCHS:-40}" ${DDP_DATA:+--data_folder $DDP_DATA} \
    ${CLS_FLAGS:+-- $CLS_FLAGS} > "$log/classifier.log" 2>&1
  echo "classifier: rc=$? wall=$(( $(date +%s) - t0 )) s $(cat "$cls/test_accuracy.json" 2>/dev/null \
    | tr -d '\n ')" >> "$out/summary.txt" ) &
cls_pid=$!
for name in am_1gpu am_2gpu sc09_1gpu sc09_2gpu; do generate $name 0; done
wait "$cls_pid"
score am_1gpu 0 & score am_2gpu 1 & wait
score sc09_1gpu 0 & score sc09_2gpu 1 & wait

python benchmarks/summarize_ddp_run.py --results "$res" --batch am="$am_batch" sc09="$sc_batch" \
  --json_out "$out/summary.json" --markdown "$out/table.md" >> "$out/summary.txt" 2>&1
for name in am_1gpu am_2gpu sc09_1gpu sc09_2gpu; do
  cp "$res/$name/train_log.txt" "$log/train_log_$name.txt" 2>/dev/null
  cp "$res/$name/log.txt" "$log/recipe_log_$name.txt" 2>/dev/null
done
cp "$res"/score_*.json "$log/" 2>/dev/null
tar czf "$out/logs.tgz" -C "$log" .
# 3 wavs per digit of each run + their spectrogram grids
( cd "$res" && tar czf "$out/samples.tgz" ./*/eval_samples/wav/digit?_00[0-2].wav \
  ./*/eval_samples/spectrograms.png ./*/eval_samples/labels.json 2>/dev/null )
echo "total wall=$(( $(date +%s) - start )) s" >> "$out/summary.txt"
cat "$out/summary.txt"; ls -la "$out"
