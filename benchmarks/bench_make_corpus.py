#!/usr/bin/env python3
"""Time to build the synthetic AudioMNIST-layout digits corpus with ``tools/make_corpus.py``.

Runs ``make_corpus.py digits`` (default: 40 voices x 10 digits x 10 repetitions = 4,000 wavs
at 48 kHz, ``--workers 2``) as a command, into a temporary folder, and prints one markdown
table row: wall-clock time of the whole command (Python start-up included), files, hours of
audio, size on disk, files per second, and the CPU time of the command and its workers
(the machine's load is printed too: on shared cores, wall time grows with other processes).
Goal on 2 CPU cores: under one minute.

Usage: python benchmarks/bench_make_corpus.py [--speakers 40] [--repetitions 10] [--workers 2]
       [--json out.json] [--quick]   (--quick: 2 voices x 10 digits x 1 repetition)
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speakers", type=int, default=40)
    parser.add_argument("--repetitions", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    parser.add_argument("--quick", action="store_true", help="a tiny corpus (smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.speakers, args.repetitions = 2, 1

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "digits")
        command = [
            sys.executable,
            os.path.join(REPO, "tools", "make_corpus.py"),
            "digits",
            f"--out={out}",
            f"--speakers={args.speakers}",
            f"--repetitions={args.repetitions}",
            f"--workers={args.workers}",
            f"--seed={args.seed}",
            "--noprogressbar",
        ]
        load = os.getloadavg()[0]
        start = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the command and its workers
        cpu = usage.ru_utime + usage.ru_stime
        if proc.returncode != 0:
            sys.exit(f"error: make_corpus.py failed:\n{proc.stderr}")
        wavs = [
            os.path.join(root, name)
            for root, _, names in os.walk(out)
            for name in names
            if name.endswith(".wav")
        ]
        size = sum(
            os.path.getsize(path)
            for root, _, names in os.walk(out)
            for path in (os.path.join(root, n) for n in names)
        )
    hours_line = proc.stdout.strip().splitlines()[-1]
    hours = float(hours_line.split(" h of audio")[0].split(", ")[-1])
    print(f"# {hours_line}")
    print(
        f"# {platform.machine()}, {os.cpu_count()} CPU cores, load average {load:.1f} before "
        "the run (other processes share the cores: CPU time / workers is the unshared estimate)"
    )
    print(
        "| corpus | voices x digits x reps | workers | time | CPU time | files | audio | size "
        "| files/s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| digits (AudioMNIST layout, 48 kHz) | {args.speakers} x 10 x {args.repetitions} "
        f"| {args.workers} | {seconds:.1f} s | {cpu:.1f} s | {len(wavs)} | {hours * 60:.1f} min "
        f"| {size / 2**20:.1f} MB | {len(wavs) / seconds:.0f} |"
    )
    if args.json:
        result = {
            "speakers": args.speakers,
            "repetitions": args.repetitions,
            "workers": args.workers,
            "seconds": seconds,
            "cpu_seconds": cpu,
            "files": len(wavs),
            "audio_hours": hours,
            "size_mb": size / 2**20,
            "load_average_before": load,
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
