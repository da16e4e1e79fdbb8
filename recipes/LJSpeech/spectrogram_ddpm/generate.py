#!/usr/bin/env python3
"""Generate sentence spectrograms ("gibberish" speech) from a trained experiment folder.

Usage
-----
python generate.py results/spectrogram_ddpm/1986 --num 16 --out samples
python generate.py EXP --num 200 --sampler dpm_solver --steps 25 --out DIR --images

Writes ``DIR/wav/uncond_000.wav`` ..., ``DIR/spectrograms.png`` (the first 16),
``DIR/mel_db.pt`` (the [num, n_mels, frames] dB spectrograms before the vocoder, float16, for
tools/evaluate_spectrograms.py) and with ``--images`` ``DIR/png/uncond_000.png`` (16-bit
spectrogram images that tools/spectrogram_image.py turns back into audio).
"""

import argparse
import os
import sys
import time

from audiodiff.audio import save_spectrogram_image
from audiodiff.inference import SpectrogramGenerator


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("experiment", help="folder written by train.py (holds hyperparams.yaml)")
    parser.add_argument("--num", type=int, default=16, help="number of samples")
    parser.add_argument("--out", default="generated", help="output folder")
    parser.add_argument("--sampler", choices=["ddpm", "ddim", "dpm_solver"])
    parser.add_argument("--steps", type=int, help="sampling steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch_size", type=int, default=200)
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the network (GPU)")
    parser.add_argument("--images", action="store_true", help="also write 16-bit PNG images")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    try:
        generator = SpectrogramGenerator.from_hparams(
            args.experiment, device=args.device, compile=args.compile
        )
        start = time.time()
        result = generator.unconditional_generate(
            args.num,
            sampler=args.sampler,
            steps=args.steps,
            seed=args.seed,
            batch_size=args.batch_size,
            progress=True,
        )
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f"error: {err}")
    paths = generator.save(args.out, result, save_mels=True)
    if args.images:
        settings = generator.hparams["mel"].settings()
        for path, mel_db in zip(paths, result["mel_db"]):
            stem = os.path.splitext(os.path.basename(path))[0]
            save_spectrogram_image(os.path.join(args.out, "png", stem + ".png"), mel_db, settings)
    print(f"wrote {len(paths)} samples to {args.out} in {time.time() - start:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
