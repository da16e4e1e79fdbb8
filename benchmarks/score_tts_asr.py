#!/usr/bin/env python3
"""Intelligibility of returned TTS syntheses on a CPU: CER / WER beside the real recordings.

A GPU run of ``benchmarks/gpu_tts_run.sh`` returns the speechocean762 held-out syntheses
(``samples.tgz``: ``eval_so762_phoneme/held_out_g<scale>/{wav/, labels.json}``) but not the
TTS model. This scores them with a recogniser trained by ``recipes/speechocean762/asr``
(``--asr``) against their transcripts, and, as the yardsticks the numbers need, the same
recogniser on:

- ``real``: the real recordings of the same transcripts by the same held-out speakers
  (``labels.json``'s ``utterance``, read from ``--data_folder``);
- ``control``: the real recordings' hypotheses scored against another request's transcript
  (what unrelated speech scores);

Usage
-----
python benchmarks/score_tts_asr.py SAMPLES_DIR --asr ASR_EXP --data_folder SO762_ROOT \\
    [--json OUT.json]

SAMPLES_DIR is the unpacked ``samples.tgz`` (or any folder holding ``held_out_g*`` folders).

Example:
    >>> rows = {"real": {"cer": 0.5, "wer": 0.9, "n": 4}, "g2": {"cer": 0.75, "wer": 1.0, "n": 4}}
    >>> print(table(rows))
    | audio | CER | WER | n |
    |---|---|---|---|
    | real | 50.0% | 90.0% | 4 |
    | g2 | 75.0% | 100.0% | 4 |
"""

import argparse
import glob
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("samples", help="folder with held_out_g*/labels.json (unpacked)")
    parser.add_argument("--asr", required=True, help="recipes/speechocean762/asr experiment")
    parser.add_argument("--data_folder", required=True, help="speechocean762 root (WAVE/)")
    parser.add_argument("--json", default=None, help="write the scores here")
    return parser.parse_args(argv)


def find_sets(samples):
    """{name: folder} of the held-out sample sets (``held_out_g1`` ...) under ``samples``."""
    found = glob.glob(os.path.join(samples, "**", "held_out_g*", "labels.json"), recursive=True)
    return {os.path.basename(os.path.dirname(p)): os.path.dirname(p) for p in sorted(found)}


def real_path(data_folder, utterance):
    """speechocean762's own layout: WAVE/SPEAKERnnnn/<utterance>.WAV (speaker = id[1:5])."""
    for ext in (".WAV", ".wav", ".flac"):
        path = os.path.join(data_folder, "WAVE", f"SPEAKER{utterance[1:5]}", utterance + ext)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"no recording of {utterance} under {data_folder}/WAVE")


def table(rows):
    """Markdown lines of {name: {cer, wer, n}}."""
    lines = ["| audio | CER | WER | n |", "|---|---|---|---|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {100 * r['cer']:.1f}% | {100 * r['wer']:.1f}% | {r['n']} |")
    return "\n".join(lines)


def main(argv):
    args = parse_args(argv)
    sets = find_sets(args.samples)
    if not sets:
        sys.exit(f"error: no held_out_g*/labels.json under {args.samples}")
    from audiodiff.audio import read_audio
    from audiodiff.inference import Recognizer
    from audiodiff.metrics.intelligibility import error_rates

    asr = Recognizer.from_hparams(args.asr, "cpu")
    rate = asr.sample_rate
    rows, hypotheses = {}, {}
    first = None
    for name, folder in sets.items():
        with open(os.path.join(folder, "labels.json")) as f:
            samples = json.load(f)["samples"]
        keys = sorted(samples)
        texts = [samples[k]["transcript"] for k in keys]
        wavs = [read_audio(os.path.join(folder, "wav", f"{k}.wav"), rate)[0] for k in keys]
        scores = asr.error_rates(wavs, texts, rate)
        rows[name] = scores
        hypotheses[name] = dict(zip(keys, scores["hypotheses"]))
        if first is None:
            first = (keys, samples, texts)
    keys, samples, texts = first
    real = [read_audio(real_path(args.data_folder, samples[k]["utterance"]), rate)[0] for k in keys]
    rows = {"real": asr.error_rates(real, texts, rate), **rows}
    hyps = rows["real"]["hypotheses"]
    shifted = texts[1:] + texts[:1]  # another request's transcript
    rows["control"] = {**error_rates(hyps, shifted), "hypotheses": hyps}
    print(table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"asr": os.path.abspath(args.asr), "scores": rows}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
