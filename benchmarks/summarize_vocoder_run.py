#!/usr/bin/env python3
"""Merge the stages of a GPU vocoder run (training logs, ``eval.json``, ``speed.json``) into
``results.json`` and a readable ``summary.txt`` (markdown tables). A missing stage is reported
as missing; the others are still summarised.

Usage: python benchmarks/summarize_vocoder_run.py WORK_DIR OUT_DIR [--names diffwave ...]
"""

import argparse
import json
import os
import sys

from vocoder_tables import load_json, training_info

METRICS = ("mrstft", "mel_l1", "lsd", "spectral_convergence", "log_magnitude")
BUDGET_PATTERN = ("budget_reached", r"(Training-time budget of .* reached)")
HYPER_KEYS = ("batch_size", "lr", "crops_per_epoch", "max_train_minutes", "segment_frames")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("work", help="the run's work folder (one experiment per name)")
    parser.add_argument("out", help="where results.json and summary.txt go")
    parser.add_argument("--names", nargs="+", default=["diffwave", "priorgrad", "specgrad"])
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    results = {
        "training": {
            n: training_info(os.path.join(args.work, n), [BUDGET_PATTERN], HYPER_KEYS)
            for n in args.names
        },
        "eval": load_json(os.path.join(args.work, "eval", "eval.json")),
        "speed": load_json(os.path.join(args.work, "speed.json")),
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    gpu = (results["eval"] or {}).get("gpu") or (results["speed"] or {}).get("device", "the GPU")
    lines = [f"## Training (same minutes each, {len(args.names)} at once on one {gpu})", ""]
    for name, info in results["training"].items():
        lines.append(f"- {name}: " + ("; ".join(f"{k} {v}" for k, v in info.items()) or "-"))
    lines += ["", "## Held-out clips (vocoded from their own mels, batch 1)", ""]
    evaluation = results["eval"]
    if evaluation:
        lines.append(
            f"{len(evaluation['clips'])} clips: {evaluation['clips'][0]} .. "
            f"{evaluation['clips'][-1]}; device {evaluation.get('gpu', evaluation['device'])}"
        )
        lines.append("")
        lines.append("| system | " + " | ".join(METRICS) + " | RTF eager, batch 1 |")
        lines.append("|---" * (len(METRICS) + 2) + "|")
        for system, entry in evaluation["systems"].items():
            mean = entry["mean"]
            cells = [f"{mean[k]:.4f}" if k in mean else "-" for k in METRICS]
            lines.append(
                f"| {system} | " + " | ".join(cells) + f" | {entry['rtf_batch1_eager']:.4f} |"
            )
    else:
        lines.append("(no eval.json: the evaluation stage failed or did not run)")
    lines += ["", "## Speed (batch 1)", ""]
    speed = results["speed"]
    if speed:
        lines.append(
            f"{speed['device']}, torch {speed['torch']}, {speed['audio_seconds']:.2f} s "
            "of audio per call"
        )
        lines.append("")
        lines.append("| system | seconds | RTF |")
        lines.append("|---|---|---|")
        for label, row in speed["rows"].items():
            if row.get("rtf") is None:
                lines.append(f"| {label} | - | {row.get('error', '-')[:80]} |")
            else:
                lines.append(f"| {label} | {row['seconds']:.4f} | {row['rtf']:.5f} |")
    else:
        lines.append("(no speed.json: the speed stage failed or did not run)")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "summary.txt"), "a") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
