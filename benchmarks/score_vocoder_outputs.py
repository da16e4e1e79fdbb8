#!/usr/bin/env python3
"""Score the wavs a GPU vocoder run returned, on a CPU: every metric, PESQ (wb) and STOI too.

Unpacks ``vocoded_*.tgz`` (wav or FLAC) and the Griffin-Lim wavs of ``griffinlim_and_logs.tgz`` from
``RUN_DIR`` (the output folder of ``benchmarks/gpu_vocoder_run.sh``), matches each system's
wavs by name with the recordings (``--data_folder``: the LJSpeech-1.1 folder the subset was
built from, or the subset itself) and scores them with ``tools/evaluate_vocoder.py``'s
``evaluate_pairs`` (MR-STFT, spectral convergence, log magnitude, mel L1, LSD, PESQ wb at
16 kHz, STOI). Writes ``RUN_DIR/scores.json`` and prints a markdown table.

Usage: python benchmarks/score_vocoder_outputs.py RUN_DIR --data_folder /work/data/LJSpeech-1.1
"""

import argparse
import glob
import json
import os
import sys
import tarfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))

COLUMNS = ("mrstft", "mel_l1", "lsd", "pesq", "stoi")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("run", help="the folder gpu_vocoder_run.sh wrote")
    parser.add_argument("--data_folder", required=True, help="LJSpeech-1.1 (metadata.csv, wavs/)")
    parser.add_argument("--no_pesq", action="store_true")
    parser.add_argument("--no_stoi", action="store_true")
    return parser.parse_args(argv)


def unpack(run):
    """Extract the returned archives into RUN/unpacked; returns {system: folder}."""
    target = os.path.join(run, "unpacked")
    os.makedirs(target, exist_ok=True)
    for archive in sorted(glob.glob(os.path.join(run, "*.tgz"))):
        with tarfile.open(archive) as tar:
            members = [
                m
                for m in tar.getmembers()
                if m.isfile()
                and m.name.endswith((".wav", ".flac"))
                and "epoch_samples" not in m.name
            ]
            tar.extractall(target, members=members, filter="data")
    from audiodiff.audio import reencode_audio

    for path in glob.glob(os.path.join(target, "**", "*.flac"), recursive=True):
        reencode_audio(path, ".wav")  # FLAC archives (benchmarks/wavs_to_flac.py)
    systems = {}
    for folder in sorted(glob.glob(os.path.join(target, "**", "*.wav"), recursive=True)):
        systems.setdefault(os.path.basename(os.path.dirname(folder)), os.path.dirname(folder))
    return systems


def main(argv):
    args = parse_args(argv)
    from evaluate_vocoder import evaluate_pairs, match_pairs

    systems = unpack(args.run)
    if not systems:
        sys.exit(f"error: no vocoded wavs in the archives of {args.run}")
    refs = os.path.join(args.data_folder, "wavs")
    if not glob.glob(os.path.join(refs, "*.wav")):  # a FLAC subset: decode the references once
        from audiodiff.audio import read_audio, write_audio

        decoded = os.path.join(args.run, "unpacked", "reference")
        for path in glob.glob(os.path.join(refs, "*.flac")):
            wav, rate = read_audio(path)
            name = os.path.splitext(os.path.basename(path))[0]
            write_audio(os.path.join(decoded, f"{name}.wav"), wav, rate)
        refs = decoded
    scores = {}
    for system, folder in systems.items():
        if system == "reference":
            continue
        pairs, _, unmatched = match_pairs(refs, folder)
        summary, per_file = evaluate_pairs(pairs, not args.no_pesq, not args.no_stoi)
        summary["unmatched"] = unmatched
        scores[system] = {"summary": summary, "per_file": per_file}
        print(f"{system}: {len(pairs)} pairs scored", file=sys.stderr)
    with open(os.path.join(args.run, "scores.json"), "w") as f:
        json.dump(scores, f, indent=1)
    print("| system | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for system, entry in scores.items():
        summary = entry["summary"]
        cells = ["-" if summary.get(k) is None else f"{summary[k]:.4f}" for k in COLUMNS]
        print(f"| {system} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
