#!/usr/bin/env python3
"""Generate 1 s spoken digits (wavs) from a trained DiffWave / SaShiMi experiment folder.

Usage
-----
python generate.py results/sc09_diffwave/1986 --num 16 --out samples          # unconditional
python generate.py EXP --digits 0 7 nine --num 4 --out DIR                    # digit model
python generate.py EXP --num 8 --sampler ddpm --out DIR                       # 200-step chain
python generate.py EXP --num 8 --sampler dpm_solver --steps 20 --guidance_scale 3 --out DIR

Writes ``DIR/wav/digit7_000.wav`` (``uncond_000.wav`` without a digit) and a mel PNG grid. A
digit model samples every digit unless ``--digits`` is given; ``--unconditional`` samples
its null label instead.
"""

import argparse
import os
import sys
import time

# Before PyTorch loads OpenMP: threads that wait for work sleep instead of spinning. On a CPU
# shared with other jobs, spinning threads made a training step 10-20x slower (README.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from audiodiff.inference import WaveformGenerator


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("experiment", help="folder written by train.py (holds hyperparams.yaml)")
    parser.add_argument("--digits", nargs="+", help="digits (0-9 or zero..nine; default: all)")
    parser.add_argument("--unconditional", action="store_true", help="no digit (null label)")
    parser.add_argument("--num", type=int, default=1, help="samples per digit (or in all)")
    parser.add_argument("--out", default="generated", help="output folder")
    parser.add_argument("--sampler", default="fast", choices=["fast", "ddpm", "ddim", "dpm_solver"])
    parser.add_argument("--steps", type=int, help="sampling steps (default: fast 6, ddpm 200)")
    parser.add_argument("--guidance_scale", type=float, help="classifier-free guidance scale")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the network (GPU)")
    parser.add_argument(
        "--data_variance",
        help="start noise: 'auto' (the training clips' mean square, data_stats.json), a number, "
        "or 'none' (N(0, I)); default: the experiment's sample_data_variance",
    )
    parser.add_argument(
        "--shift_ensemble",
        action="store_true",
        help="average each network call over the patch_size sub-patch shifts of its input "
        "(lowers a patched model's line at fs / patch_size; patch_size x the calls)",
    )
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    options = dict(
        sampler=args.sampler,
        steps=args.steps,
        seed=args.seed,
        batch_size=args.batch_size,
        progress=True,
    )
    try:
        generator = WaveformGenerator.from_hparams(
            args.experiment, device=args.device, compile=args.compile
        )
        if args.shift_ensemble:
            generator.use_shift_ensemble()
        if args.data_variance is not None:
            value = args.data_variance
            generator.hparams["sample_data_variance"] = None if value == "none" else value
        start = time.time()
        if args.unconditional:
            if args.digits:
                raise ValueError("--digits and --unconditional exclude each other")
            result = generator.unconditional_generate(args.num, **options)
        else:
            result = generator.generate(
                digits=args.digits, num=args.num, guidance_scale=args.guidance_scale, **options
            )
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f"error: {err}")
    seconds = time.time() - start
    paths = generator.save(args.out, result)
    print(f"wrote {len(paths)} samples to {args.out}; sampling took {seconds:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
