#!/usr/bin/env bash
# CPU-scale comparison of the three LJSpeech diffusion vocoders (recipes/LJSpeech/vocoder) at
# EQUAL budget: the same small DiffWave backbone, the same number of optimizer steps, the same
# crops, seed and learning rate; only the noise prior differs. End to end:
#  1. train DiffWave, PriorGrad and SpecGrad with train.py (--optimizer_step_limit STEPS),
#     JOBS at a time (one thread each); an experiment that already finished is kept (and
#     an evaluation already written), so a stopped run resumes;
#  2. vocode the held-out clips (the last 20 ids, never trained on) from their own mels: at 6
#     steps (DiffWave's fast schedule) all of them, at 50 steps the first CLIPS50; the first
#     CLIP_SECONDS of each; and Griffin-Lim on the same mels; MR-STFT, mel L1, LSD, PESQ (wb),
#     STOI, CPU real-time factor at batch 1 (benchmarks/vocoder_eval.py);
#  3. the priors' diagnostics (benchmarks/vocoder_prior_diagnostics.py: residual signal at
#     t = T, whitening error, noise level against the speech);
#  4. OUT/summary.md (tables), OUT/*.jpg (outputs vs real, the noise, the levels), OUT/listen/
#     (6 FLAC examples per system) (benchmarks/summarize_cpu_vocoder.py).
# CPU-scale: a 12 x 32 backbone and 800 steps are far from the papers' (30 x 64, 1M steps):
# the numbers check directions, not quality.
# Usage: bash benchmarks/cpu_vocoder_compare.sh OUT_DIR [DATA_FOLDER] [--quick]
#   DATA_FOLDER: an LJSpeech-1.1 folder (default $LJSPEECH_DIR, else the GPU subset
#   .gpu_data/vocoder/LJSpeech-1.1); --quick: toy sizes on the bundled clips (a smoke run).
# Environment: CPU_VOC_STEPS (800), CPU_VOC_JOBS (2), CPU_VOC_CLIP_SECONDS (2.0),
#   CPU_VOC_CLIPS50 (3), CPU_VOC_SIZE (backbone and crop flags), CPU_VOC_HELD_OUT (20),
#   CPU_VOC_ABLATION (1: also SpecGrad with its |M| floored at 0.1, "specgrad_floor01"; 0: not),
#   CPU_VOC_NAMES (the runs, e.g. "diffwave priorgrad specgrad specgrad_precond"): YAML name,
#   then optional parts _floor01 (--specgrad_floor 0.1), _precond (--prior_precondition true,
#   the network in the prior's whitened domain), _v (--prediction v).
set -uo pipefail
out=${1:?output folder}; shift
data=${LJSPEECH_DIR:-.gpu_data/vocoder/LJSpeech-1.1}
quick=""
for arg in "$@"; do
  if [ "$arg" = --quick ]; then quick=1; else data=$arg; fi
done
repo=$(pwd)
steps=${CPU_VOC_STEPS:-800}; jobs=${CPU_VOC_JOBS:-2}; seconds=${CPU_VOC_CLIP_SECONDS:-2.0}
clips50=${CPU_VOC_CLIPS50:-3}; held_out=${CPU_VOC_HELD_OUT:-20}
size=${CPU_VOC_SIZE:-"--residual_layers 12 --residual_channels 32 --dilation_cycle 6
  --segment_frames 16 --batch_size 4 --lr 0.001 --crops_per_epoch 400 --valid_crops 16"}
eval_extra=""
if [ -n "$quick" ]; then
  data=$repo/bundled_data/ljspeech_mini; held_out=4; steps=${CPU_VOC_STEPS:-4}
  size="--residual_layers 2 --residual_channels 8 --dilation_cycle 2 --segment_frames 8
    --batch_size 2 --crops_per_epoch 4 --valid_crops 2 --max_utterances 6"
  seconds=0.3; clips50=1; eval_extra="--griffin_lim_iters 4"
fi
mkdir -p "$out"; out=$(cd "$out" && pwd)
case $data in /*) ;; *) data=$repo/$data ;; esac
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
names="diffwave priorgrad specgrad"
[ "${CPU_VOC_ABLATION:-1}" = 1 ] && names="$names specgrad_floor01"
names=${CPU_VOC_NAMES:-$names}  # any of the names below
. "$repo/benchmarks/vocoder_run_names.sh"  # vocoder_run_flags NAME -> YAML FLAGS
flags="--data_folder $data --held_out_last $held_out --optimizer_step_limit $steps
  --number_of_epochs 100000 --sample_every 100000 --ckpt_every 100000 --noprogressbar $size"
{ echo "device: CPU, $(nproc) cores (shared: load average $(cut -d' ' -f1-3 /proc/loadavg)),"\
    "1 thread per process, $jobs processes at a time"
  echo "data: $data (held out: the last $held_out ids)"
  echo "train (each of $names): $flags" | tr -s ' \n' ' '; echo; } > "$out/run.txt"
[ -f "$data/metadata.csv" ] || { echo "error: no LJSpeech-1.1 folder at $data" | tee -a "$out/run.txt"; exit 1; }

# ---- 1. training: the same steps each -------------------------------------------------------
train_one() {
  local name=$1 exp=$out/exp/$1 t=$(date +%s)
  # finished = its last epoch vocoded the validation clips (only the last one does)
  if ls "$exp"/save/CKPT+* > /dev/null 2>&1 && grep -q "vocoded clips" "$exp/train_log.txt" 2>/dev/null
  then echo "train $name: kept (finished before)" >> "$out/run.txt"; return 0; fi
  local yaml extra; read -r yaml extra <<< "$(vocoder_run_flags "$name")"
  (cd recipes/LJSpeech/vocoder && python train.py "hparams/$yaml.yaml" $flags $extra \
    --output_folder "$exp" > "$out/train_$name.log" 2>&1)
  echo "train $name rc=$? wall=$(( $(date +%s) - t )) s" >> "$out/run.txt"
}
run_pool() {  # run_pool FUNCTION ARGS...: JOBS at a time
  local fn=$1; shift
  for item in "$@"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    "$fn" "$item" &
  done
  wait
}
run_pool train_one $names

# ---- 2. held-out clips: 6 and 50 steps, Griffin-Lim -------------------------------------------
eval_one() {
  local name=$1 t=$(date +%s) what
  if [ -f "$out/eval/$name/eval.json" ]; then
    echo "eval $name: kept (done before)" >> "$out/run.txt"; return 0
  fi
  if [ "$name" = griffinlim ]; then
    what="--exp diffwave=$out/exp/diffwave --steps"  # the front-end only: Griffin-Lim alone
  else
    what="--exp $name=$out/exp/$name --steps 6 50 --clips_at 50=$clips50 --no_griffin_lim"
  fi
  python benchmarks/vocoder_eval.py --data_folder "$data" --held_out_last "$held_out" $what \
    --clip_seconds "$seconds" --with_pesq --figure_format jpg --device cpu $eval_extra \
    --out "$out/eval/$name" > "$out/eval_$name.log" 2>&1
  echo "eval $name rc=$? wall=$(( $(date +%s) - t )) s" >> "$out/run.txt"
}
run_pool eval_one $names griffinlim

# ---- 3. the priors ----------------------------------------------------------------------------
exps=""
for name in $names; do exps="$exps --exp $name=$out/exp/$name"; done
python benchmarks/vocoder_prior_diagnostics.py --data_folder "$data" \
  --held_out_last "$held_out" $exps --per_step_loss --out "$out/diagnostics" \
  > "$out/diagnostics.log" 2>&1
echo "diagnostics rc=$?" >> "$out/run.txt"

# ---- 4. summary -------------------------------------------------------------------------------
python benchmarks/summarize_cpu_vocoder.py "$out" --names $names > "$out/summarize.log" 2>&1
echo "summary rc=$?" >> "$out/run.txt"
cat "$out/run.txt"; cat "$out/summary.md" 2>/dev/null
