#!/usr/bin/env bash
# The unconditional AudioMNIST model against the digit-conditioned one at the same GPU budget,
# in one call of about 7 minutes: both train concurrently on the one GPU (the same minutes,
# the same size: the README's GPU overrides, 80 mels to 8 kHz, unweighted loss), the evaluation
# classifier beside them; then 500 samples each, scored with IS, NDB/K, FID, the
# predicted-digit histogram (and digit accuracy for the digit model), beside the Griffin-Lim
# round trip of the real test split through the same front-end (the best this representation
# can score).
#
# The unconditional model is `python train.py hparams/train.yaml` with no conditioning flag:
# by default (`prior_labels: [digit]`) a digit-conditioned network whose samples draw their
# digit from the training split's digit frequencies; scored guidance-free (scale 1) and with
# the digit model's guidance. UNCOND_LABEL_FREE=1 adds a truly label-free network
# (`--prior_labels "[]"`) trained the same way, for comparison.
#
# Usage: bash benchmarks/gpu_uncond_run.sh OUT_DIR [TRAIN_MINUTES]   (default 4.5)
# Writes at most 6 files to OUT_DIR: summary.txt, scores.json, samples.tgz, logs.tgz (+ the
# two spectrogram PNGs).
# CPU dry run at toy size (what tests it; about 10 minutes on 2 busy cores):
#   UNCOND_SIZE='--base_channels 8 --channel_mults "[1, 2]" --attention_levels "[]"
#   --batch_size 8' UNCOND_PRECISION= UNCOND_CLS='--number_of_epochs 1' UNCOND_NUM=20
#   UNCOND_DEADLINE=3000 bash benchmarks/gpu_uncond_run.sh /tmp/out 0.3
set -uo pipefail
out=${1:?output folder}; minutes=${2:-4.5}
start=$(date +%s); deadline=$((start + ${UNCOND_DEADLINE:-430}))   # 7 min 10 s
left() { echo $((deadline - $(date +%s))); }
limit() { local l=$(( $(left) - $1 )); echo $(( l > 20 ? l : 20 )); }  # a timeout, >= 20 s
mkdir -p "$out"; out=$(cd "$out" && pwd); repo=$(pwd)
res=$repo/results/gpu_uncond; log=$res/logs; cls=$res/classifier
rm -rf "$res"; mkdir -p "$log"
summary=$out/summary.txt; : > "$summary"
say() { echo "$*" | tee -a "$summary"; }
# the README's GPU size, with the front-end and loss its GPU numbers (and the issue's baseline
# of the unconditional model) were measured with
eval "size=(${UNCOND_SIZE:---base_channels 64 --channel_mults '[1, 2, 2, 4]' --num_res_blocks 2 \
  --attention_levels '[2, 3]' --batch_size 128 --lr 0.0003 --n_mels 80 --f_max 8000 \
  --min_snr_gamma null})"
eval "prec=(${UNCOND_PRECISION---precision bf16 --eval_precision bf16})"
eval "cls_flags=(${UNCOND_CLS:---channels '[32, 64, 128, 256]' --number_of_epochs 40})"
num=${UNCOND_NUM:-500}; guidance=${UNCOND_GUIDANCE:-2.0}
nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv,noheader 2>/dev/null \
  | sed 's/^/gpu: /' | tee -a "$summary"
say "size: ${size[*]} ${prec[*]}; $minutes min of training each; $num samples per set"

# ---- train: the classifier, the unconditional and the digit model, concurrently -------------
( cd recipes/AudioMNIST/classifier && timeout $(limit 60) python train.py \
    hparams/train.yaml --output_folder "$cls" "${cls_flags[@]}" --noprogressbar \
    > "$log/classifier.log" 2>&1; echo "classifier rc=$?" >> "$log/status.txt" ) &
train() {  # NAME FLAGS...: stops itself after $minutes, then validates and checkpoints
  local name=$1; shift
  ( cd recipes/AudioMNIST/diffusion && timeout $(limit 75) python train.py \
      hparams/train.yaml --output_folder "$res/$name" "${size[@]}" "${prec[@]}" \
      --max_train_minutes "$minutes" --number_of_epochs 100000 --sample_every 100000 \
      --ckpt_every 100000 --noprogressbar "$@" > "$log/train_$name.log" 2>&1
    echo "train $name rc=$?" >> "$log/status.txt" ) &
}
models="uncond digit"
train uncond
train digit --digit_conditioned true
if [ "${UNCOND_LABEL_FREE:-0}" = 1 ]; then train label_free --prior_labels "[]"; models="$models label_free"; fi
wait
cat "$log/status.txt" | tee -a "$summary"
for name in $models; do
  grep -h "epoch: " "$res/$name/train_log.txt" 2>/dev/null | tail -1 | sed "s/^/$name: /" | tee -a "$summary"
  grep -h "optimizer_step" "$res/$name"/save/CKPT+*/brain.ckpt 2>/dev/null | sort -t: -k2 -n \
    | tail -1 | sed "s/^/$name: /" | tee -a "$summary"
done

# ---- sample (all sets at once on the GPU) and the Griffin-Lim reference ----------------------
gen() {  # EXP OUT_NAME NUM GUIDANCE
  ( cd recipes/AudioMNIST/diffusion && timeout $(limit 40) python generate.py "$res/$1" \
      --num "$3" --guidance_scale "$4" --out "$res/sets/$2" >> "$log/generate.log" 2>&1
    echo "generate $2 rc=$?" >> "$log/status.txt" ) &
}
t0=$(date +%s)
gen uncond uncond_g1 "$num" 1.0
gen uncond "uncond_g$guidance" "$num" "$guidance"
gen digit "digit_g$guidance" $(( num / 10 )) "$guidance"
[ -d "$res/label_free" ] && gen label_free label_free "$num" 1.0
( timeout $(limit 40) python tools/round_trip_reference.py "$res/digit" \
    "$res/sets/griffin_lim_test" >> "$log/generate.log" 2>&1
  echo "round trip rc=$?" >> "$log/status.txt" ) &
wait
say "sampling + round trip: $(( $(date +%s) - t0 )) s"
tail -n 5 "$log/status.txt" >> "$summary"

# ---- score every set with the classifier -----------------------------------------------------
for set in "$res"/sets/*/; do
  name=$(basename "$set")
  timeout $(limit 5) python tools/evaluate_samples.py "$set" --classifier "$cls" \
    --json_out "$log/score_$name.json" > "$log/score_$name.txt" 2>&1 &
done
wait
python - "$log" "$out/scores.json" "$guidance" <<'EOF' | tee -a "$summary"
import glob, json, os, sys
log, out, guidance = sys.argv[1], sys.argv[2], sys.argv[3]
scores = {}
for path in sorted(glob.glob(os.path.join(log, "score_*.json"))):
    r = json.load(open(path))
    hist = r.get("predicted_digit_histogram") or []
    total = max(1, sum(hist))
    r["digit_fractions"] = [round(h / total, 4) for h in hist]
    scores[os.path.basename(path)[6:-5]] = r
json.dump(scores, open(out, "w"), indent=1)
digit = scores.get(f"digit_g{guidance}", {})
print(f"{'set':<22} {'n':>5} {'acc':>6} {'IS':>6} {'FID':>7} {'NDB/K':>6}  digits (min-max %)")
for name, r in scores.items():
    f = r["digit_fractions"] or [0]
    acc = r.get("digit_acc")
    print(f"{name:<22} {r['num_samples']:>5} {'-' if acc is None else f'{100 * acc:.1f}':>6} "
          f"{r['is']:>6.2f} {r['fid']:>7.2f} {r['ndb_k']:>6.3f}  {100 * min(f):.1f}-{100 * max(f):.1f}")
for name, r in scores.items():
    if not name.startswith(("uncond", "label_free")):
        continue
    f = r["digit_fractions"]
    checks = {
        "every digit 7-13%": bool(f) and all(0.07 <= x <= 0.13 for x in f),
        "IS >= 9": r["is"] >= 9,
        "NDB/K <= digit model's": bool(digit) and r["ndb_k"] <= digit["ndb_k"],
        "500+ samples": r["num_samples"] >= 500,
    }
    print(f"{name}: " + ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in checks.items()))
EOF

# ---- pack ----------------------------------------------------------------------------------
for set in uncond_g1 "digit_g$guidance"; do
  cp "$res/sets/$set/spectrograms.png" "$out/spectrograms_$set.png" 2>/dev/null
done
( cd "$res/sets" && tar czf "$out/samples.tgz" $(for s in */; do ls -d "$s"labels.json \
    $(ls "$s"wav/*.wav 2>/dev/null | head -40); done) 2>/dev/null )
for name in $models; do
  cp "$res/$name/train_log.txt" "$log/train_log_$name.txt" 2>/dev/null
  cp "$res/$name/hyperparams.yaml" "$log/hyperparams_$name.yaml" 2>/dev/null
done
cp "$cls/test_accuracy.json" "$log/classifier_test_accuracy.json" 2>/dev/null
tar czf "$out/logs.tgz" -C "$log" .
say "total wall: $(( $(date +%s) - start )) s"
ls -la "$out"
