#!/usr/bin/env python3
"""Score generated sentence spectrograms against real speech, beside two controls.

    python tools/evaluate_spectrograms.py SAMPLES_DIR --experiment EXP \\
        --json_out metrics.json --table table.md --grid grid.png

SAMPLES_DIR is a folder written by recipes/LJSpeech/spectrogram_ddpm/generate.py (its
``mel_db.pt``: the model's output before the vocoder) or any folder of ``wav/*.wav`` (analysed
with the experiment's mel). EXP is the training experiment folder: its normaliser, mel
settings and prepared feature caches give the real data: the held-out ``test`` split (never
trained on) and the ``train`` split; with ``--valid_control`` also the ``valid`` split (never
trained on, drawn at random with the training clips: the training distribution, a fairer
memorisation reference when the held-out clips are one passage unlike the rest).

A run that came back without its checkpoint (only ``hyperparams.yaml`` and ``mel_db.pt``) is
scored with ``--refit_normalizer``: the normaliser is fitted on the training split exactly as
train.py fits it (deterministic percentiles); ``--prepare_folder`` points at a local copy of
the feature caches:

    python tools/evaluate_spectrograms.py returned/eval_samples --experiment returned \\
        --refit_normalizer --prepare_folder .gpu_data/sgram --valid_control

Metrics (audiodiff.metrics.spectrogram_eval): Frechet distance of per-frame log-mel vectors to
the training frames; share of frame-energy envelope modulation at 2-8 Hz and the L1 distance
between mean modulation spectra; the memorisation ratio (median nearest-training-crop RMS
distance of the samples / that of held-out real crops). Controls: held-out real crops and the
same crops with their frames shuffled (and with --valid_control, validation real crops).
"""

import argparse
import json
import os
import sys
import time

import torch

from audiodiff.audio import write_audio
from audiodiff.data import DataFolderError
from audiodiff.data.crops import split_clips
from audiodiff.inference import SpectrogramGenerator
from audiodiff.inference.experiment import read_experiment_hparams
from audiodiff.metrics.spectrogram_eval import (
    evaluate_spectrograms,
    evaluation_sets,
    format_spectrogram_table,
    load_sample_spectrograms,
    write_comparison_grid,
)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("samples", help="folder with mel_db.pt or wav/*.wav")
    parser.add_argument("--experiment", required=True, help="folder written by train.py")
    parser.add_argument("--json_out", help="write every metric here (JSON)")
    parser.add_argument("--table", help="write the markdown summary table here")
    parser.add_argument("--grid", help="PNG of samples beside held-out real crops")
    parser.add_argument("--num_heldout", type=int, help="held-out crops (default: as samples)")
    parser.add_argument("--stride", type=int, default=1, help="nearest-crop search step")
    parser.add_argument(
        "--valid_control",
        action="store_true",
        help="also compare with crops of the validation split (never trained on, the "
        "training distribution): every held-out comparison is repeated against them",
    )
    parser.add_argument(
        "--refit_normalizer",
        action="store_true",
        help="no checkpoint needed: fit the normaliser on the training split as train.py "
        "does (for a run whose checkpoint did not come back)",
    )
    parser.add_argument(
        "--prepare_folder", help="feature caches and manifests (default: the experiment's)"
    )
    parser.add_argument(
        "--write_real",
        type=int,
        default=0,
        metavar="N",
        help="also write N held-out crops through the experiment's vocoder to "
        "SAMPLES/real_wav/ (to hear what the vocoder alone does to real speech)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    start = time.time()
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if not os.path.isdir(args.samples):
        sys.exit(f"error: samples folder '{args.samples}' not found")
    try:
        if args.refit_normalizer:
            hp = read_experiment_hparams(os.path.abspath(args.experiment))
        else:
            hp = SpectrogramGenerator.from_hparams(args.experiment, device="cpu").hparams
        prepare_folder = args.prepare_folder or hp["prepare_folder"]
        num_frames = hp["sample_shape"][-1]
        whole = hp.get("image_mode") == "whole_clip"
        splits = ("train", "test", "valid") if args.valid_control else ("train", "test")
        clips = {
            split: split_clips(
                prepare_folder,
                split,
                hp["mel"],
                sample_rate=hp["sample_rate"],
                num_frames=num_frames if whole else None,
                dtype=getattr(torch, hp.get("feature_dtype", "float32")),
                progress=False,
            )
            for split in splits
        }
        samples, source = load_sample_spectrograms(args.samples, hp["mel"], num_frames)
    except (FileNotFoundError, ValueError, DataFolderError) as err:
        sys.exit(f"error: {err}")
    if samples.shape[1:] != (hp["n_mels"], num_frames):
        sys.exit(
            f"error: samples are {tuple(samples.shape[1:])} (n_mels, frames), the experiment's "
            f"images are ({hp['n_mels']}, {num_frames})"
        )
    normalizer = hp["modules"]["normalizer"].cpu()
    if args.refit_normalizer:
        normalizer.fit(clips["train"]["clips"])  # as train.py fits it
    frame_rate = hp["sample_rate"] / hp["hop_length"]
    valid = clips.get("valid", {})
    crop_opts = {
        "num_heldout": args.num_heldout,
        "heldout_ids": clips["test"]["ids"],
        "valid_clips": valid.get("clips"),
        "valid_ids": valid.get("ids"),
        "seed": args.seed,
    }
    try:
        result = evaluate_spectrograms(
            samples,
            clips["test"]["clips"],
            clips["train"]["clips"],
            normalizer,
            frame_rate,
            stride=args.stride,
            device=device,
            **crop_opts,
        )
    except ValueError as err:
        sys.exit(f"error: {err}")
    result["samples_folder"] = os.path.abspath(args.samples)
    result["samples_source"] = source
    result["experiment"] = os.path.abspath(args.experiment)
    result["prepare_folder"] = os.path.abspath(prepare_folder)
    result["normalizer"] = "refit on the train split" if args.refit_normalizer else "checkpoint"
    result["seconds"] = round(time.time() - start, 1)
    table = format_spectrogram_table(result)
    print(table)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(result, f, indent=1)
    if args.table:
        with open(args.table, "w") as f:
            f.write(table + "\n")
    if args.grid or args.write_real:
        sets, names = evaluation_sets(samples, clips["test"]["clips"], normalizer, **crop_opts)
        if args.grid:
            write_comparison_grid(sets, names, args.grid, result["settings"]["clamp_db"])
        if args.write_real:
            write_real_crops(sets["heldout"], names["heldout"], hp, args.samples, args.write_real)


def write_real_crops(crops, names, hparams, folder, num):
    """``folder/real_wav/real_<id>_at<frame>.wav``: held-out crops through the vocoder."""
    with torch.no_grad():
        wavs = hparams["modules"]["vocoder"](crops[:num])
    for wav, name in zip(wavs, names):
        stem = "real_" + name.replace("@", "_at")
        write_audio(os.path.join(folder, "real_wav", stem + ".wav"), wav, hparams["sample_rate"])


if __name__ == "__main__":
    main(sys.argv[1:])
