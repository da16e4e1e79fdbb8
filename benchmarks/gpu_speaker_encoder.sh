#!/usr/bin/env bash
# One GPU run of the speaker-encoder recipe (recipes/speechocean762/speaker_encoder): train
# ECAPA-TDNN (C=512) with AAM-softmax for TRAIN_MINUTES on the carried feature bank (no audio
# on the GPU machine), then score EER and closest-speaker identification on the 5 held-out
# speechocean762 speakers and on FSDD's test clips. The TTS GPU script runs this as its first
# stage and then loads the encoder with SpeakerEncoder.from_hparams(EXP_DIR).
#
# Usage: bash benchmarks/gpu_speaker_encoder.sh OUT_DIR [TRAIN_MINUTES] [EXP_DIR]
#   TRAIN_MINUTES: training budget (default 2); the whole script takes about 1 minute more.
#   EXP_DIR: the experiment folder (default results/gpu_speaker_encoder): what
#     SpeakerEncoder.from_hparams loads.
# Data: .gpu_data/speaker/features.xz, built on the CPU machine beforehand with
#   python tools/build_speaker_features.py --speechocean762 /work/data/speechocean762 \
#       --ljspeech /work/data/LJSpeech-1.1 --out .gpu_data/speaker/features.xz
# Writes 5 files to OUT_DIR: speaker_encoder_summary.txt, speaker_eval.json,
#   speaker_scores.png, speaker_encoder.tgz (the experiment folder with fp16 weights: untar and
#   pass it to SpeakerEncoder.from_hparams), speaker_logs.tgz.
# Environment (for a CPU dry run): SPEAKER_BANK (the bank file), SPEAKER_SIZE (model and batch
#   flags), SPEAKER_PRECISION (bf16), SPEAKER_EXTRA (more train.py flags).
set -uo pipefail
out=${1:?output folder}; minutes=${2:-2}
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"; out=$(cd "$out" && pwd)
exp=${3:-$repo/results/gpu_speaker_encoder}
mkdir -p "$exp"; exp=$(cd "$exp" && pwd)
bank=${SPEAKER_BANK:-$repo/.gpu_data/speaker/features.xz}
cd "$repo"
size=${SPEAKER_SIZE:-"--channels [512,512,512,512,1536] --attention_channels 128 --se_channels 128 --batch_size 256 --batches_per_epoch 200 --eval_batch_size 64"}
precision=${SPEAKER_PRECISION:-bf16}
summary=$out/speaker_encoder_summary.txt
start=$(date +%s)

{ nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no GPU"
  echo "speaker encoder: $size; precision $precision; $minutes min; bank $bank"; } > "$summary"
if [ ! -f "$bank" ]; then
  echo "error: no feature bank $bank (build it with tools/build_speaker_features.py)" | tee -a "$summary"
  exit 1
fi
ls -la "$bank" >> "$summary"

# train.py stops itself after $minutes (max_train_minutes), then validates, checkpoints and
# scores; the timeout only guards against a hang
guard=$(python -c "print(int($minutes * 60 + 240))")
t0=$(date +%s)
( cd recipes/speechocean762/speaker_encoder && timeout "$guard" python train.py hparams/ecapa.yaml \
    --feature_bank "$bank" --output_folder "$exp" $size --max_train_minutes "$minutes" \
    --number_of_epochs 100000 --precision "$precision" --noprogressbar ${SPEAKER_EXTRA:-} ) \
  > "$exp/train_stdout.log" 2>&1
echo "train rc=$? wall=$(( $(date +%s) - t0 )) s" | tee -a "$summary"
grep -E "Total Number of Trainable|budget" "$exp/log.txt" 2>/dev/null | tail -2 >> "$summary"
tail -3 "$exp/train_log.txt" >> "$summary" 2>/dev/null
tail -2 "$exp/train_stdout.log" | grep -i "error" >> "$summary"

# the numbers: EER, identification, same / different-speaker cosines per scored split
[ -f "$exp/speaker_eval.json" ] || echo "error: no speaker_eval.json (see speaker_logs.tgz)" >> "$summary"
[ -f "$exp/speaker_eval.json" ] && python - "$exp/speaker_eval.json" >> "$summary" 2>&1 <<'EOF'
import json, sys
result = json.load(open(sys.argv[1]))
print({k: v for k, v in result.items() if k != "splits"})
for name, r in result["splits"].items():
    print(f"{name}: EER {100 * r['eer']:.2f}%  identification {100 * r['identification_rate']:.1f}% "
          f"({r['num_speakers']} speakers, {r['identification_tests']} tests x {r['draws']} draws)  "
          f"cosine same {r['same_speaker_cosine']:.3f} / different {r['different_speaker_cosine']:.3f}")
EOF
cp "$exp/speaker_eval.json" "$exp/speaker_scores.png" "$out/" 2>/dev/null

# the experiment folder, weights in fp16 (the optimizer state left out): small enough to return
stage=$(mktemp -d)
python - "$exp" "$stage/speaker_encoder" >> "$summary" 2>&1 <<'EOF'
import glob, os, shutil, sys
import torch
exp, dest = sys.argv[1:]
os.makedirs(dest)
for name in ("hyperparams.yaml", "speakers.json", "speaker_eval.json", "train_log.txt"):
    if os.path.isfile(os.path.join(exp, name)):
        shutil.copy(os.path.join(exp, name), dest)
for ckpt in glob.glob(os.path.join(exp, "save", "CKPT+*")):
    target = os.path.join(dest, "save", os.path.basename(ckpt))
    os.makedirs(target)
    shutil.copy(os.path.join(ckpt, "CKPT.yaml"), target)
    state = torch.load(os.path.join(ckpt, "embedding_model.ckpt"), map_location="cpu")
    half = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    torch.save(half, os.path.join(target, "embedding_model.ckpt"))
print("packed", dest)
EOF
tar czf "$out/speaker_encoder.tgz" -C "$stage" speaker_encoder
rm -rf "$stage"
tar czf "$out/speaker_logs.tgz" -C "$exp" log.txt train_log.txt train_stdout.log 2>/dev/null
echo "total wall=$(( $(date +%s) - start )) s; experiment folder: $exp" >> "$summary"
cat "$summary"; ls -la "$out"
