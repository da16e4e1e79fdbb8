#!/usr/bin/env bash
# The README's main job as a new user meets it, on the CPU, end to end: a fresh clone of this
# repository, the README's first command (timed), the project's evaluation classifier (CPU
# default, trained on real FSDD), 10 samples per digit from the trained model (the recipe's
# sampler and guidance), scored by tools/evaluate_samples.py.
#
# Usage: bash benchmarks/cpu_first_run.sh OUT_DIR [REPO_URL_OR_PATH] [REV]
#   VENV=/path/to/venv   reuse a virtual environment that has the dependencies (the clone is
#                        put first on PYTHONPATH); without it the README's own
#                        `python3 -m venv .venv && pip install -e .` runs (downloads PyTorch)
#   NUM=10               samples per digit (10 = 100 samples)
#   SKIP_CLASSIFIER=DIR  use an already trained classifier folder instead of training one
# Writes OUT_DIR/summary.txt (times, load, steps, training samples/s, accuracy, IS, FID,
# NDB/K), score.json, train_log.txt, spectrograms.png and samples.tgz.
set -uo pipefail
out=${1:?output folder}; src=${2:-$(pwd)}; rev=${3:-HEAD}; num=${NUM:-10}
mkdir -p "$out"; out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/audiodiff_first_run.XXXXXX"); clone=$work/audiodiff
summary=$out/summary.txt; : > "$summary"
say() { echo "$*" | tee -a "$summary"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

say "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; load before: $(load)"
git clone -q "$src" "$clone" && git -C "$clone" checkout -q "$rev" || { say "clone failed"; exit 1; }
say "clone: $src @ $(git -C "$clone" rev-parse --short HEAD)"
cd "$clone"
if [ -n "${VENV:-}" ]; then
  . "$VENV/bin/activate"; export PYTHONPATH=$clone
  install="python3 -m venv .venv && . .venv/bin/activate && pip install -e . (skipped: VENV=$VENV)"
else
  python3 -m venv .venv && . .venv/bin/activate && pip install -q -e . || { say "install failed"; exit 1; }
  install="python3 -m venv .venv && . .venv/bin/activate && pip install -e ."
fi
say "python: $(python -c 'import audiodiff, torch; print(audiodiff.__file__, "torch", torch.__version__, "threads", torch.get_num_threads())')"

# ---- 1. the README's first command, timed ---------------------------------------------------
say "README: $install && cd recipes/AudioMNIST/diffusion && python train.py hparams/train.yaml --digit_conditioned true"
cd recipes/AudioMNIST/diffusion
start=$(date +%s.%N)
python train.py hparams/train.yaml --digit_conditioned true > "$work/train_stdout.log" 2>&1
rc=$?
wall=$(python -c "print(round(($(date +%s.%N) - $start) / 60, 2))")
exp=$clone/recipes/AudioMNIST/diffusion/results/digit_diffusion/1986
say "train: rc=$rc, $wall min wall (load after: $(load))"
cp "$exp/train_log.txt" "$out/train_log.txt" 2>/dev/null
python - "$exp" <<'EOF' | tee -a "$summary"
import glob, os, re, sys, yaml
exp = sys.argv[1]
text = open(os.path.join(exp, "hyperparams.yaml")).read()
hp = {k: re.search(rf"^{k}: *([^#\n]*)", text, re.M).group(1).strip()
      for k in ("batch_size", "n_mels", "f_max", "num_frames", "base_channels", "channel_mults")}
ckpts = sorted(glob.glob(os.path.join(exp, "save", "CKPT+*")), key=os.path.getmtime)
brain = yaml.safe_load(open(os.path.join(ckpts[-1], "brain.ckpt"))) if ckpts else {}
clock = yaml.safe_load(open(os.path.join(ckpts[-1], "train_clock.ckpt"))) if ckpts else {}
steps, seconds = brain.get("optimizer_step", 0), 60 * clock.get("minutes", 0)
rate = steps * int(hp["batch_size"]) / seconds if seconds else 0
print(f"training: {steps} optimizer steps in {seconds / 60:.2f} min of training "
      f"({steps / max(seconds, 1e-9):.2f} steps/s, {rate:.1f} training samples/s); "
      + ", ".join(f"{k} {re.sub(r'&id[0-9]+ ', '', v)}" for k, v in hp.items()))
EOF
[ "$rc" = 0 ] || { tail -5 "$work/train_stdout.log" | tee -a "$summary"; }

# ---- 2. the evaluation classifier (CPU default) ---------------------------------------------
cls=${SKIP_CLASSIFIER:-$clone/recipes/AudioMNIST/classifier/results/classifier_fsdd/1986}
if [ -z "${SKIP_CLASSIFIER:-}" ]; then
  t0=$(date +%s)
  (cd "$clone/recipes/AudioMNIST/classifier" && python train.py hparams/train.yaml --noprogressbar \
     > "$work/classifier.log" 2>&1)
  say "classifier: rc=$?, $(( $(date +%s) - t0 )) s, test $(cat "$cls/test_accuracy.json" 2>/dev/null | tr -d '\n ')"
fi

# ---- 3. samples: $num per digit, the recipe's sampler and guidance ----------------------------
t0=$(date +%s)
python generate.py "$exp" --num "$num" --out "$exp/eval_samples" --device cpu 2>&1 | tail -1 | tee -a "$summary"
say "generate: $(( $(date +%s) - t0 )) s for $((10 * num)) samples"

# ---- 4. score -------------------------------------------------------------------------------
cd "$clone"
python tools/evaluate_samples.py "$exp/eval_samples" --classifier "$cls" --device cpu \
  --json_out "$out/score.json" > "$work/score.txt" 2>&1
tail -n +2 "$work/score.txt" | tee -a "$summary"
cp "$exp/eval_samples/spectrograms.png" "$out/" 2>/dev/null
tar czf "$out/samples.tgz" -C "$exp" eval_samples/wav eval_samples/labels.json 2>/dev/null
say "load at the end: $(load); work folder: $work"
