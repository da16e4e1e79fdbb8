#!/usr/bin/env python3
"""Audio <-> 16-bit spectrogram PNG (the sentence-spectrogram recipe's images).

    python tools/spectrogram_image.py to-image speech.wav speech.png
    python tools/spectrogram_image.py to-audio speech.png speech_gl.wav --n_iter 64
    python tools/spectrogram_image.py to-audio speech.png speech.wav --vocoder VOCODER_EXP

to-image: dB log-mel (default 22,050 Hz, n_fft 1024, hop 256, 64 bands, 0-8 kHz) as a 16-bit
grayscale PNG, [floor_db, top_db] -> [0, 65535] (default -100 .. 40 dB), lowest band at the
bottom; the mapping and mel settings go into a PNG text chunk (audiodiff.audio.spectrogram_image
documents the format). to-audio: Griffin-Lim with the image's own settings (round trip
image -> dB loses under 0.002 dB; the waveform's phase is estimated, not recovered), or with
``--vocoder DIR`` a trained diffusion vocoder (``recipes/LJSpeech/vocoder``) whose mel
front-end matches the image's (a mismatch is one line naming the settings that differ: train
the vocoder with the image's settings, e.g. ``--n_mels 64``).
"""

import argparse
import sys

from audiodiff.audio import (
    AudioReadError,
    MelSpectrogram,
    SpectrogramImageError,
    audio_to_image,
    image_to_audio,
)
from audiodiff.audio.spectrogram_image import (
    DEFAULT_FLOOR_DB,
    DEFAULT_TOP_DB,
    load_spectrogram_image,
)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    sub = parser.add_subparsers(dest="command", required=True)
    to_image = sub.add_parser("to-image", help="audio file -> spectrogram PNG")
    to_image.add_argument("audio")
    to_image.add_argument("image")
    to_image.add_argument("--sample_rate", type=int, default=22050)
    to_image.add_argument("--n_fft", type=int, default=1024)
    to_image.add_argument("--hop_length", type=int, default=256)
    to_image.add_argument("--n_mels", type=int, default=64)
    to_image.add_argument("--f_min", type=float, default=0.0)
    to_image.add_argument("--f_max", type=float, default=8000.0)
    to_image.add_argument("--floor_db", type=float, default=DEFAULT_FLOOR_DB)
    to_image.add_argument("--top_db", type=float, default=DEFAULT_TOP_DB)
    to_image.add_argument(
        "--resample", action="store_true", help="resample audio at another rate (else: error)"
    )
    to_audio = sub.add_parser("to-audio", help="spectrogram PNG -> wav (Griffin-Lim)")
    to_audio.add_argument("image")
    to_audio.add_argument("audio")
    to_audio.add_argument("--n_iter", type=int, default=64, help="Griffin-Lim iterations")
    to_audio.add_argument(
        "--vocoder", help="a trained vocoder experiment folder instead of Griffin-Lim"
    )
    to_audio.add_argument("--device", help="the vocoder's device (default: cuda when available)")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    try:
        if args.command == "to-image":
            if not args.top_db > args.floor_db:
                raise SpectrogramImageError("--top_db must be above --floor_db")
            mel = MelSpectrogram(
                args.sample_rate,
                args.n_fft,
                args.hop_length,
                n_mels=args.n_mels,
                f_min=args.f_min,
                f_max=args.f_max,
            )
            mel_db = audio_to_image(
                args.audio, args.image, mel, args.floor_db, args.top_db, resample=args.resample
            )
            print(f"wrote {args.image}: {mel_db.shape[0]} bands x {mel_db.shape[1]} frames")
        else:
            vocoder = None
            if args.vocoder:
                from audiodiff.inference import load_vocoder

                _, info = load_spectrogram_image(args.image)
                vocoder = load_vocoder(args.vocoder, info["mel"], args.device)
            wav, rate = image_to_audio(args.image, args.audio, vocoder=vocoder, n_iter=args.n_iter)
            print(f"wrote {args.audio}: {wav.numel() / rate:.2f} s at {rate} Hz")
    except (AudioReadError, SpectrogramImageError, FileNotFoundError, ValueError) as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    main(sys.argv[1:])
