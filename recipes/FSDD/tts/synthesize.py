#!/usr/bin/env python3
"""Synthesise text in a reference's voice (or convert a source recording's voice) with a
trained TTS experiment.

Usage
-----
python synthesize.py "seven" --ref ref.wav --out out.wav --exp results/tts_phoneme_fsdd/1986
python synthesize.py "seven" --speaker theo --out out.wav --exp EXP      # a speaker-table model
python synthesize.py --source src.wav --ref ref.wav --out out.wav --exp EXP_SPECTROGRAM
python synthesize.py "seven" --ref ref.wav --out out.wav --exp EXP --guidance_scale 3 \
    --speaker_guidance_scale 4 --steps 30 --vocoder VOCODER_DIR

Writes the wav and a spectrogram PNG beside it. Bad input (empty text, unknown words or
characters, a silent / too short / too low-rate reference, text too long) stops with one line.
"""

import argparse
import os
import sys

DEFAULT_EXP = os.path.join("results", "tts_phoneme_fsdd", "1986")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("text", nargs="?", help="what to say (text routes)")
    parser.add_argument("--ref", help="reference recording of the target voice")
    parser.add_argument("--speaker", help="a training speaker's name (speaker-table models)")
    parser.add_argument("--source", help="source recording to convert (spectrogram route)")
    parser.add_argument("--out", required=True, help="output wav")
    parser.add_argument("--exp", default=DEFAULT_EXP, help="experiment folder of train.py")
    parser.add_argument("--guidance_scale", type=float, help="content (and speaker) guidance")
    parser.add_argument("--speaker_guidance_scale", type=float, help="separate speaker scale")
    parser.add_argument("--steps", type=int, help="sampling steps (default: the recipe's)")
    parser.add_argument("--sampler", help="ddpm, ddim or dpm_solver (default: the recipe's)")
    parser.add_argument("--length_scale", type=float, help="> 1 slower speech")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vocoder", help="a trained vocoder folder (default: Griffin-Lim)")
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    from audiodiff.audio import plot_spectrograms, write_audio
    from audiodiff.inference import TTS, TTSInputError

    try:
        tts = TTS.from_hparams(args.exp, device=args.device, vocoder=args.vocoder)
    except (FileNotFoundError, ImportError, ValueError) as err:
        sys.exit(f"error: {err}")
    options = dict(
        guidance_scale=args.guidance_scale,
        speaker_guidance_scale=args.speaker_guidance_scale,
        steps=args.steps,
        sampler=args.sampler,
        seed=args.seed,
    )
    try:
        if args.source is not None:
            out = tts.convert(args.source, args.ref, speaker=args.speaker, **options)
        else:
            if args.text is None:
                raise TTSInputError("give a text to say (or --source to convert a recording)")
            out = tts.synthesize(
                args.text, args.ref, speaker=args.speaker, length_scale=args.length_scale, **options
            )
    except TTSInputError as err:
        sys.exit(f"error: {err}")
    write_audio(args.out, out["wav"], out["sample_rate"])
    png = os.path.splitext(args.out)[0] + ".png"
    plot_spectrograms([out["mel_db"]], png, titles=[os.path.basename(args.out)], ncols=1)
    seconds = out["wav"].numel() / out["sample_rate"]
    print(f"wrote {args.out} ({seconds:.2f} s at {out['sample_rate']} Hz) and {png}")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
