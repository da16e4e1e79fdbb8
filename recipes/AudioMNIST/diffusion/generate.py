#!/usr/bin/env python3
"""Generate spoken digits from a trained experiment folder.

Works the same for spectrogram-space (hparams/train.yaml) and latent (hparams/train_latent.yaml)
experiments: latent samples are decoded by the experiment's autoencoder before the vocoder.

Usage
-----
python generate.py results/digit_diffusion/1986 --digits 0 7 --speakers 2 --num 4 --out samples
python generate.py EXP --num 50 --sampler dpm_solver --steps 20 --guidance_scale 2 --out DIR
python generate.py EXP --num 4 --vocoder results/fsdd_specgrad/1986 --out DIR   # not Griffin-Lim

Writes ``DIR/wav/digit7_spk2_000.wav`` ... and ``DIR/spectrograms.png``.
"""

import argparse
import os
import sys
import time

# Before PyTorch loads OpenMP: threads that wait for work sleep instead of spinning. On a CPU
# shared with other jobs, spinning threads made a training step 10-20x slower (README.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from audiodiff.inference import SpectrogramGenerator


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("experiment", help="folder written by train.py (holds hyperparams.yaml)")
    parser.add_argument("--digits", nargs="+", help="digits to generate (default: all)")
    parser.add_argument("--speakers", nargs="+", help="speaker indices or names (default: all)")
    parser.add_argument("--num", type=int, default=1, help="samples per label combination")
    parser.add_argument("--out", default="generated", help="output folder")
    parser.add_argument("--sampler", choices=["ddpm", "ddim", "dpm_solver"])
    parser.add_argument("--steps", type=int, help="sampling steps")
    parser.add_argument("--guidance_scale", type=float, help="classifier-free guidance scale")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the network (GPU)")
    parser.add_argument(
        "--vocoder", help="a trained vocoder folder (recipes/LJSpeech/vocoder) for Griffin-Lim"
    )
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    try:
        generator = SpectrogramGenerator.from_hparams(
            args.experiment, device=args.device, compile=args.compile, vocoder=args.vocoder
        )
        start = time.time()
        result = generator.generate(
            digits=args.digits,
            speakers=args.speakers,
            num=args.num,
            sampler=args.sampler,
            steps=args.steps,
            guidance_scale=args.guidance_scale,
            seed=args.seed,
            batch_size=args.batch_size,
            progress=True,
        )
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f"error: {err}")
    paths = generator.save(args.out, result)
    print(f"wrote {len(paths)} samples to {args.out} in {time.time() - start:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
