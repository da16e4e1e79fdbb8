#!/usr/bin/env python3
"""Resynthesise audio with a trained diffusion vocoder: wav -> mel (the vocoder's front-end) ->
wav, with a PNG of both mels beside each output.

Usage
-----
python inference.py IN.wav OUT.wav --exp results/ljspeech_specgrad/1986 [--steps 6]
python inference.py IN_DIR OUT_DIR --exp EXP --steps 50        # every wav of a folder

``--steps 6`` (the default) runs DiffWave's fast schedule, ``--steps 50`` the full training
chain, other counts the ancestral chain respaced; ``--sampler`` picks another sampler.
Input at another sample rate is resampled to the vocoder's.
"""

import argparse
import glob
import os
import sys
import time

from audiodiff.audio import AudioReadError, plot_spectrograms, read_audio, write_audio
from audiodiff.inference import DiffusionVocoder, VocoderMismatchError


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("input", help="a wav file, or a folder of wavs")
    parser.add_argument("output", help="the output wav file, or folder")
    parser.add_argument("--exp", required=True, help="the folder train.py wrote")
    parser.add_argument("--steps", type=int, help="sampling steps (default 6: the fast schedule)")
    parser.add_argument("--sampler", choices=["fast", "ddpm", "ddim", "dpm_solver"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--no_png", action="store_true", help="skip the spectrogram PNGs")
    return parser.parse_args(argv)


def pairs(src, dst):
    """[(input wav, output wav)] for a file or a folder."""
    if os.path.isdir(src):
        found = sorted(glob.glob(os.path.join(glob.escape(src), "*.wav")))
        found += sorted(glob.glob(os.path.join(glob.escape(src), "*.flac")))
        if not found:
            raise FileNotFoundError(f"no .wav or .flac files in {src}")
        return [
            (p, os.path.join(dst, os.path.splitext(os.path.basename(p))[0] + ".wav")) for p in found
        ]
    if not os.path.exists(src):
        raise FileNotFoundError(f"input '{src}' not found")
    return [(src, dst)]


def main(argv):
    args = parse_args(argv)
    try:
        jobs = pairs(args.input, args.output)
        vocoder = DiffusionVocoder.from_hparams(args.exp, device=args.device)
    except FileNotFoundError as err:
        sys.exit(f"error: {err}")
    start, seconds = time.time(), 0.0
    for src, dst in jobs:
        try:
            wav, rate = read_audio(src)
            if rate != vocoder.sample_rate:
                print(f"{src}: {rate} Hz, resampled to the vocoder's {vocoder.sample_rate} Hz")
            out = vocoder.resynthesize(
                wav, sample_rate=rate, steps=args.steps, sampler=args.sampler, seed=args.seed
            )
        except (AudioReadError, VocoderMismatchError, ValueError) as err:
            sys.exit(f"error: {err}")
        write_audio(dst, out, vocoder.sample_rate)
        seconds += out.shape[-1] / vocoder.sample_rate
        if not args.no_png:
            real = vocoder.mel_db_of(read_audio(src, vocoder.sample_rate)[0])[0]
            fake = vocoder.mel_db_of(out)[0]
            plot_spectrograms(
                [real.cpu(), fake.cpu()],
                os.path.splitext(dst)[0] + ".png",
                ["input", f"vocoded ({os.path.basename(args.exp.rstrip('/'))})"],
                ncols=1,
                vmin=-80.0,
                vmax=10.0,
            )
    took = time.time() - start
    print(
        f"wrote {len(jobs)} file(s), {seconds:.1f} s of audio, to {args.output} in {took:.1f} s "
        f"(RTF {took / max(seconds, 1e-9):.3f}, incl. loading and plots)"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
