#!/usr/bin/env bash
# Build the data that benchmarks/gpu_sgram_run.sh carries to the GPU: the recipe's own prepared
# folder (LJSpeech manifests with the last 25 ids held out, and the zlib-compressed float16
# 64-band log-mel features of all clips, whole), about 19 MB for the 325-clip LJSpeech-1.1.
# Usage: bash benchmarks/build_sgram_gpu_data.sh LJSPEECH_DIR [DEST]   (default .gpu_data/sgram)
# Runs where the audio is (about 30 s on 2 CPU cores); DEST is git-ignored (/.gpu_data/).
set -euo pipefail
src=${1:?LJSpeech-1.1 folder (metadata.csv + wavs/)}; dest=${2:-.gpu_data/sgram}
mkdir -p "$dest"; dest=$(cd "$dest" && pwd); src=$(cd "$src" && pwd)
tmp=$(mktemp -d)
( cd recipes/LJSpeech/spectrogram_ddpm && python train.py hparams/train.yaml \
    --data_folder "$src" --held_out_last 25 --prepare_folder "$dest" --prepare_only true \
    --output_folder "$tmp" 2>&1 | grep -v "mel features" )
rm -rf "$tmp"
du -sh "$dest"; ls -la "$dest"
