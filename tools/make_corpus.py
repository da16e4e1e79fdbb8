#!/usr/bin/env python3
"""Build synthetic speech corpora (eSpeak NG) in the layouts of real datasets.

Sub-commands (each writes the real dataset's own folders, names, rates and list files, so that
the dataset's prepare function and recipes read it unchanged):

- ``digits``   AudioMNIST: ``data/NN/{digit}_{NN}_{rep}.wav`` at 48 kHz, ``audioMNIST_meta.txt``
- ``sc09``     Speech Commands digits: ``zero/ .. nine/{hash}_nohash_{i}.wav``, 1 s at 16 kHz,
               ``validation_list.txt``, ``testing_list.txt``
- ``ljspeech`` LJSpeech-1.1: ``wavs/LJ001-0001.wav`` at 22,050 Hz, ``metadata.csv``
- ``vctk``     VCTK-0.92: ``wav48_silence_trimmed/pNNN/pNNN_MMM_mic1.flac``, ``txt/``,
               ``speaker-info.txt``, and ``alignments/pNNN/pNNN_MMM.json`` (phoneme timings)

The same ``--seed`` gives byte-identical files, whatever ``--workers`` is (each shard runs in a
fresh process). Needs the optional extra ``pip install audiodiff[synth]`` (eSpeak NG, GPL-3.0).

Usage
-----
python tools/make_corpus.py digits --out data/AudioMNIST_synth --speakers 40 --repetitions 10
python tools/make_corpus.py sc09 --out data/sc09_synth --speakers 100 --repetitions 4
python tools/make_corpus.py ljspeech --out data/LJSpeech-1.1
python tools/make_corpus.py vctk --out data/VCTK-Corpus-0.92 --speakers 20 --sentences 50
"""

import argparse
import os
import sys


def _names(text):
    return tuple(name.strip() for name in text.split(",") if name.strip())


def _parser():
    from audiodiff.data.synth.voices import DEFAULT_ACCENTS, DEFAULT_VARIANTS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--out", required=True, help="corpus root folder (created)")
    common.add_argument("--seed", type=int, default=0, help="seed of voices and jitter")
    common.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes")
    common.add_argument("--overwrite", action="store_true", help="write into a non-empty --out")
    common.add_argument("--noprogressbar", action="store_true", help="no progress bar")
    voices = argparse.ArgumentParser(add_help=False)
    voices.add_argument(
        "--accents", type=_names, default=DEFAULT_ACCENTS, help="comma-separated eSpeak NG accents"
    )
    voices.add_argument(
        "--variants", type=_names, default=DEFAULT_VARIANTS, help="comma-separated variants"
    )

    digits = sub.add_parser("digits", parents=[common, voices], help="AudioMNIST layout")
    digits.add_argument("--speakers", type=int, default=60)
    digits.add_argument("--repetitions", type=int, default=50)
    digits.add_argument("--sample_rate", type=int, default=48000)

    sc09 = sub.add_parser("sc09", parents=[common, voices], help="Speech Commands digits")
    sc09.add_argument("--speakers", type=int, default=40)
    sc09.add_argument("--repetitions", type=int, default=3)

    lj = sub.add_parser("ljspeech", parents=[common], help="LJSpeech-1.1 layout, one voice")
    lj.add_argument("--utterances", type=int, default=None, help="default: one per sentence")
    lj.add_argument("--accent", default="en-us")
    lj.add_argument("--variant", default="f2")
    lj.add_argument("--pitch", type=int, default=55, help="0..100")
    lj.add_argument("--rate", type=int, default=165, help="words per minute, 80..450")
    lj.add_argument("--sentences_file", default=None, help="one sentence per line")

    vctk = sub.add_parser("vctk", parents=[common, voices], help="VCTK-0.92 layout")
    vctk.add_argument("--speakers", type=int, default=10)
    vctk.add_argument("--sentences", type=int, default=20, help="sentences per speaker")
    vctk.add_argument("--format", choices=("flac", "wav"), default="flac")
    vctk.add_argument("--sample_rate", type=int, default=48000)
    vctk.add_argument("--sentences_file", default=None, help="one sentence per line")
    return parser


def run(args):
    """Builds the corpus of ``args.command``; returns its ``CorpusSummary``."""
    from audiodiff.data.synth import (
        SENTENCES_FILE,
        Voice,
        make_digits,
        make_ljspeech,
        make_sc09,
        make_vctk,
    )

    common = dict(
        seed=args.seed,
        workers=args.workers,
        progress=not args.noprogressbar,
        overwrite=args.overwrite,
    )
    if args.command == "digits":
        return make_digits(
            args.out,
            speakers=args.speakers,
            repetitions=args.repetitions,
            sample_rate=args.sample_rate,
            accents=args.accents,
            variants=args.variants,
            **common,
        )
    if args.command == "sc09":
        return make_sc09(
            args.out,
            speakers=args.speakers,
            repetitions=args.repetitions,
            accents=args.accents,
            variants=args.variants,
            **common,
        )
    if args.command == "ljspeech":
        voice = Voice(args.accent, args.variant or None, pitch=args.pitch, rate=args.rate)
        return make_ljspeech(
            args.out,
            utterances=args.utterances,
            voice=voice,
            sentences_file=args.sentences_file or SENTENCES_FILE,
            **common,
        )
    return make_vctk(
        args.out,
        speakers=args.speakers,
        sentences=args.sentences,
        audio_format=args.format,
        sample_rate=args.sample_rate,
        accents=args.accents,
        variants=args.variants,
        sentences_file=args.sentences_file or SENTENCES_FILE,
        **common,
    )


def main(argv=None):
    from audiodiff.data.synth import ShardError, SynthUnavailableError

    args = _parser().parse_args(argv)
    try:
        summary = run(args)
    except (SynthUnavailableError, ShardError, FileExistsError, OSError, ValueError) as err:
        sys.exit(f"error: {err}")
    print(summary.line())


if __name__ == "__main__":
    main()
