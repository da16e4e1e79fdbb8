#!/usr/bin/env bash
# One GPU call of the diffusion TTS recipe (recipes/FSDD/tts), end to end, about 7 minutes:
#   1. in the background: the speaker-encoder run (benchmarks/gpu_speaker_encoder.sh, when the
#      speaker branch provides it) and the digit/speaker classifier (recipes/AudioMNIST/classifier);
#   2. side by side on the one GPU, each for TRAIN_MINUTES: the FSDD phoneme route (priority),
#      the FSDD spectrogram route (voice conversion), the speechocean762 phoneme route (when
#      .gpu_data/tts/speechocean762 exists: tools/build_tts_gpu_data.py) and the FSDD
#      sentence-embedding route; TTS_RUNS="fsdd_phoneme ..." picks a subset;
#   3. side by side: evaluate.py on each (FSDD: digit and speaker accuracy with the classifier,
#      guidance sweep 1..4 joint and speaker-only; speechocean762: held-out speakers, speaker
#      similarity and closest held-out speaker with the speaker encoder when one was trained).
# Every stage has its own timeout; a failed stage is written to summary.txt and the others go on.
# OUT_DIR receives at most 8 files: summary.txt, results.json, three PNGs, samples.tgz, logs.tgz.
# Usage: bash benchmarks/gpu_tts_run.sh OUT_DIR [TRAIN_MINUTES] [gpu|toy]
#   toy: tiny models and few samples, to test the script end to end on a CPU.
set -uo pipefail
out=${1:?output folder}; minutes=${2:-4.5}; size=${3:-gpu}
repo=$(pwd); res=$repo/results/gpu_tts; log=$res/logs
rm -rf "$res"; mkdir -p "$out" "$log"
summary=$out/summary.txt; : > "$summary"
note() { echo "$*" | tee -a "$summary"; }
so_data=$repo/.gpu_data/tts/speechocean762
recipe=$repo/recipes/FSDD/tts
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}
start=$(date +%s)
elapsed() { echo $(( $(date +%s) - start )); }
margin=150; [ "$size" = toy ] && margin=900   # data preparation, last epoch, checkpoint
train_timeout=$(python -c "print(int($minutes * 60 + $margin))")

if [ "$size" = toy ]; then
  model="--base_channels 16 --channel_mults [1,2] --num_res_blocks 1 --attention_levels [1] --speaker_dim 16 --speaker_hidden_dim 32 --context_dim 32 --batch_size 16"
  text="--text_dim 32 --text_layers 1 --duration_filter_dim 32"
  vc="--content_hidden_dim 32"
  sentence="--text_dim 32 --text_layers 1 --sentence_dim 16"
  common="--sample_steps 3 --num_epoch_samples 2"
  cls_flags="--number_of_epochs 1 --channels [8,16]"
  eval_flags="--per_cell 1 --scales 1 2 --speaker_scales 3 --steps 3"
  held_flags="--max_held_out 5 --scales 2 --steps 3"
  so_batch="--batch_size 8"
else
  model="--base_channels 64 --channel_mults [1,2,4] --num_res_blocks 2 --attention_levels [2] --speaker_dim 128 --speaker_hidden_dim 256 --context_dim 256 --batch_size 64"
  text="--text_dim 192 --text_layers 4 --duration_filter_dim 256"
  vc="--content_hidden_dim 256"
  sentence="--text_dim 192 --text_layers 2 --sentence_dim 256"
  common="--precision bf16 --eval_precision bf16 --lr 0.0004 --ema_decay 0.998 --ema_warmup_steps 2000"
  cls_flags="--number_of_epochs 40 --channels [32,64,128,256]"
  eval_flags="--per_cell 5 --scales 1 2 3 4 --speaker_scales 1 3 4 --steps 20"
  held_flags="--max_held_out 60 --scales 1 2 3 --steps 20"
  so_batch="--batch_size 32"
fi
long="--number_of_epochs 100000 --sample_every 100000 --ckpt_every 100000 --noprogressbar"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader > "$log/device.txt" 2>&1
note "device: $(head -1 "$log/device.txt"); train minutes $minutes; size $size"

set -f  # the flags hold [1,2,4]-style lists: no globbing until the evaluations are done

# ---- 1. background: speaker encoder (optional) and the digit/speaker classifier -------------
enc_pid=""
bank=${SPEAKER_BANK:-$repo/.gpu_data/speaker/features.xz}
if [ -z "${SPEAKER_ENCODER_DIR:-}" ] && [ ! -f "$bank" ]; then  # said first: a whole call is lost
  note "warning: no speaker-encoder feature bank ($bank; tools/build_speaker_features.py):" \
    "speechocean762 gets no speaker similarity in this call"
fi
if [ -f benchmarks/gpu_speaker_encoder.sh ] && [ -z "${SPEAKER_ENCODER_DIR:-}" ]; then
  ( timeout 240 bash benchmarks/gpu_speaker_encoder.sh "$res/speaker_encoder_out" 2 \
      "$res/speaker_encoder" \
      > "$log/speaker_encoder.log" 2>&1; echo "speaker encoder rc=$?" >> "$log/speaker_encoder.log" ) &
  enc_pid=$!
fi
cls=$res/classifier
( cd "$repo/recipes/AudioMNIST/classifier" && timeout $(( 270 + margin )) python train.py hparams/train.yaml \
    --output_folder "$cls" $cls_flags --noprogressbar > "$log/classifier.log" 2>&1
  echo "classifier rc=$?" >> "$log/classifier.log" ) &
cls_pid=$!

# ---- 2. trainings side by side --------------------------------------------------------------
train() {  # name hparams extra-flags...
  local name=$1 yaml=$2; shift 2
  ( cd "$recipe" && timeout "$train_timeout" python train.py "hparams/$yaml" \
      --output_folder "$res/$name" --max_train_minutes "$minutes" $long "$@" \
      > "$log/train_$name.log" 2>&1; echo "rc=$?" >> "$log/train_$name.log" ) &
}
runs=" ${TTS_RUNS:-fsdd_phoneme fsdd_spectrogram so762_phoneme fsdd_sentence} "
has() { [[ "$runs" == *" $1 "* ]]; }
has fsdd_phoneme && train fsdd_phoneme phoneme.yaml $model $text $common
has fsdd_spectrogram && train fsdd_spectrogram spectrogram.yaml $model $vc $common
if has so762_phoneme && [ -f "$so_data/train.json" ]; then
  train so762_phoneme phoneme.yaml $model $text $common $so_batch --dataset manifests \
    --data_folder "$so_data"
elif has so762_phoneme; then
  note "speechocean762: no $so_data (build it with tools/build_tts_gpu_data.py): skipped"
fi
has fsdd_sentence && train fsdd_sentence sentence.yaml $model $sentence $common
wait_trainings() { for job in $(jobs -p); do
  [ "$job" = "$cls_pid" ] || [ "$job" = "$enc_pid" ] || wait "$job"; done; }
wait_trainings
for name in fsdd_phoneme fsdd_spectrogram so762_phoneme fsdd_sentence; do
  [ -f "$log/train_$name.log" ] || continue
  note "train $name: $(tail -1 "$log/train_$name.log") at $(elapsed) s"
  grep "steps:" "$res/$name/train_log.txt" 2>/dev/null | tail -1 | sed "s/^/  /" >> "$summary"
  grep "lr:" "$res/$name/train_log.txt" 2>/dev/null | tail -1 | sed "s/^/  /" >> "$summary"
  grep -m1 "Trainable Parameters" -A0 "$res/$name/log.txt" 2>/dev/null | sed "s/^/  $name: /" >> "$summary"
done
wait "$cls_pid"; note "classifier: $(tail -1 "$log/classifier.log") at $(elapsed) s;" \
  "$(cat "$cls/test_accuracy.json" 2>/dev/null)"

# ---- 3. evaluations side by side --------------------------------------------------------------
evaluate() {  # name flags...
  local name=$1; shift
  [ -d "$res/$name/save" ] || { note "evaluate $name: no trained model"; return; }
  ( cd "$recipe" && timeout $(( margin + 90 )) python evaluate.py "$res/$name" --out "$res/eval_$name" "$@" \
      > "$log/eval_$name.log" 2>&1; echo "rc=$?" >> "$log/eval_$name.log" ) &
}
evaluate fsdd_phoneme --classifier "$cls" $eval_flags
evaluate fsdd_spectrogram --classifier "$cls" $eval_flags
evaluate fsdd_sentence --classifier "$cls" $eval_flags
if [ -d "$res/so762_phoneme/save" ]; then
  if [ -n "$enc_pid" ]; then wait "$enc_pid"; fi
  # ASR_DIR (default .gpu_data/asr when it holds a trained recipes/speechocean762/asr
  # experiment: hyperparams.yaml + save/CKPT+*/model.ckpt, 5 MB): CER / WER of the held-out
  # syntheses beside the real recordings (evaluate.py --asr)
  asr_dir=${ASR_DIR:-$repo/.gpu_data/asr}
  asr=""; [ -f "$asr_dir/hyperparams.yaml" ] && asr="--asr $asr_dir" && note "ASR: $asr_dir"
  enc=${SPEAKER_ENCODER_DIR:-$(python - "$res" <<'EOF'
import glob, os, sys
found = [os.path.dirname(p) for p in glob.glob(os.path.join(sys.argv[1], "**", "hyperparams.yaml"),
                                               recursive=True)
         if "speaker" in p and glob.glob(os.path.join(os.path.dirname(p), "save", "CKPT+*"))]
print(max(found, key=os.path.getmtime) if found else "")
EOF
)}
  if [ -n "$enc" ]; then
    note "speaker encoder: $enc"
    evaluate so762_phoneme --held_out --speaker_encoder "$enc" \
      --speaker_encoder_kind "${SPEAKER_ENCODER_KIND:-speaker}" $held_flags ${asr:-}
  else
    note "speechocean762: no trained speaker encoder: held-out samples only, no similarity"
    evaluate so762_phoneme --held_out $held_flags ${asr:-}
  fi
fi
wait
set +f
note "evaluations done at $(elapsed) s"
for name in fsdd_phoneme fsdd_spectrogram so762_phoneme fsdd_sentence; do
  [ -f "$log/eval_$name.log" ] || continue
  note "== $name ($(tail -1 "$log/eval_$name.log"))"
  cat "$res/eval_$name/summary.txt" >> "$summary" 2>/dev/null || tail -3 "$log/eval_$name.log" >> "$summary"
done

# ---- collect ----------------------------------------------------------------------------------
python - "$res" "$out/results.json" <<'EOF'
import glob, json, os, sys
res, target = sys.argv[1], sys.argv[2]
merged = {}
for path in sorted(glob.glob(os.path.join(res, "eval_*", "results.json"))):
    merged[os.path.basename(os.path.dirname(path))[5:]] = json.load(open(path))
cls = os.path.join(res, "classifier", "test_accuracy.json")
if os.path.isfile(cls):
    merged["classifier_test_accuracy"] = json.load(open(cls))
json.dump(merged, open(target, "w"), indent=1)
EOF
for name in fsdd_phoneme fsdd_spectrogram so762_phoneme fsdd_sentence; do
  png=$(ls "$res/eval_$name"/*/spectrograms.png 2>/dev/null | head -1)
  [ -n "$png" ] && cp "$png" "$out/${name}_spectrograms.png"
done
( cd "$res" && tar czf "$out/samples.tgz" eval_*/*/wav eval_*/*/labels.json 2>/dev/null )  # epoch samples: logs
for name in fsdd_phoneme fsdd_spectrogram so762_phoneme fsdd_sentence; do
  for f in train_log.txt log.txt hyperparams.yaml; do
    [ -f "$res/$name/$f" ] && cp "$res/$name/$f" "$log/${name}_$f"
  done
done
cp "$cls/test_accuracy.json" "$log/classifier_test_accuracy.json" 2>/dev/null
cp -r "$res/speaker_encoder_out" "$log/" 2>/dev/null
tar czf "$out/logs.tgz" -C "$log" .
note "total wall $(elapsed) s"
ls -la "$out"
