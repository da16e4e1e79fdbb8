#!/usr/bin/env python3
"""Compare generated (vocoded) audio with reference recordings: MR-STFT, mel L1, LSD, PESQ, STOI.

Usage
-----
python tools/evaluate_vocoder.py REF GEN [--json_out FILE] [--no_pesq] [--no_stoi]

REF and GEN are two wav files, or two folders whose wavs are matched by file name (``wav/``
subfolders are looked into when the folder itself has no wavs). GEN is resampled to REF's
sample rate when they differ; each pair is cropped to the shorter length. Prints one JSON line
(means over the pairs; PESQ/STOI over the pairs they can score) and a readable table.
Definitions: ``docs/metrics.md``.
"""

import argparse
import glob
import json
import math
import os
import sys

METRICS = ("mrstft", "spectral_convergence", "log_magnitude", "mel_l1", "lsd", "pesq", "stoi")
LOWER_IS_BETTER = {"mrstft", "spectral_convergence", "log_magnitude", "mel_l1", "lsd"}


def wav_files(path):
    """{file name: path} of a wav file, or of the wavs in a folder (or its wav/ subfolder)."""
    if os.path.isfile(path):
        return {os.path.basename(path): path}
    if not os.path.isdir(path):
        raise FileNotFoundError(f"'{path}' is neither a wav file nor a folder")
    for folder in (path, os.path.join(path, "wav")):
        found = sorted(glob.glob(os.path.join(glob.escape(folder), "*.wav")))
        if found:
            return {os.path.basename(p): p for p in found}
    raise FileNotFoundError(f"no .wav files in {path}")


def match_pairs(ref, gen):
    """(name, ref path, gen path) for every name in both; two single files always match."""
    ref_files, gen_files = wav_files(ref), wav_files(gen)
    if os.path.isfile(ref) and os.path.isfile(gen):
        return [(os.path.basename(gen), ref, gen)], 0, 0
    names = sorted(set(ref_files) & set(gen_files))
    if not names:
        raise FileNotFoundError(
            f"no file names in common between {ref} ({len(ref_files)} wavs) and {gen} "
            f"({len(gen_files)} wavs): generated files must be named like their references"
        )
    return (
        [(n, ref_files[n], gen_files[n]) for n in names],
        len(ref_files) - len(names),
        len(gen_files) - len(names),
    )


def evaluate_pairs(pairs, with_pesq=True, with_stoi=True):
    """Per-pair metrics and their means (NaN-skipping for PESQ and STOI)."""
    import torchaudio

    from audiodiff.audio import read_audio
    from audiodiff.metrics.vocoder import vocoder_metrics

    per_file = {}
    for name, ref_path, gen_path in pairs:
        ref, rate = read_audio(ref_path)
        gen, gen_rate = read_audio(gen_path)
        if gen_rate != rate:
            gen = torchaudio.functional.resample(gen, gen_rate, rate)
        scores = vocoder_metrics(ref, gen, rate, with_pesq=with_pesq, with_stoi=with_stoi)
        scores["length_diff_s"] = abs(len(ref) - len(gen)) / rate
        # NaN (PESQ/STOI found too little speech) -> None: JSON has no NaN
        per_file[name] = {k: None if math.isnan(v) else v for k, v in scores.items()}
    summary = {"num_pairs": len(per_file)}
    for key in (*METRICS, "length_diff_s"):
        values = [s[key] for s in per_file.values() if key in s]
        if not values:
            continue
        valid = [v for v in values if v is not None]
        summary[key] = sum(valid) / len(valid) if valid else None
        if key in ("pesq", "stoi"):
            summary[f"{key}_scored"] = len(valid)
    return summary, per_file


def format_table(summary):
    """Readable table of the means, with the direction of each metric."""
    lines = [f"{'metric':<22}{'mean':>10}  better", f"{'pairs':<22}{summary['num_pairs']:>10}"]
    for key in METRICS:
        if summary.get(key) is None:
            continue
        scored = f" ({summary[key + '_scored']} scored)" if key + "_scored" in summary else ""
        arrow = "lower" if key in LOWER_IS_BETTER else "higher"
        lines.append(f"{key:<22}{summary[key]:>10.4f}  {arrow}{scored}")
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("ref", help="reference wav file or folder")
    parser.add_argument("gen", help="generated wav file or folder (same file names)")
    parser.add_argument("--json_out", help="also write the means and per-file scores here")
    parser.add_argument("--no_pesq", action="store_true", help="skip PESQ")
    parser.add_argument("--no_stoi", action="store_true", help="skip STOI")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    from audiodiff.audio import AudioReadError

    try:
        pairs, ref_only, gen_only = match_pairs(args.ref, args.gen)
        summary, per_file = evaluate_pairs(pairs, not args.no_pesq, not args.no_stoi)
    except ImportError as err:
        sys.exit(f"error: {err} (or pass --no_pesq)")
    except (FileNotFoundError, AudioReadError, ValueError) as err:
        sys.exit(f"error: {err}")
    summary.update(unmatched_ref=ref_only, unmatched_gen=gen_only)
    print(json.dumps(summary))
    print(format_table(summary))
    if ref_only or gen_only:
        print(f"unmatched files: {ref_only} only in {args.ref}, {gen_only} only in {args.gen}")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump({"summary": summary, "per_file": per_file}, f, indent=1)
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
