#!/usr/bin/env python3
"""Summarise ``benchmarks/gpu_ddp_run.sh``: throughput and digit accuracy, 1 vs N processes.

Each run is named ``<recipe>_<N>gpu`` and has an experiment folder (its ``train_log.txt``
lines carry ``steps`` = optimizer steps so far and ``train_s`` = seconds of that epoch's
training stage) and, once scored, ``score_<run>.json`` (``tools/evaluate_samples.py``).
Throughput is measured on the training stage only, after a warm-up (the first epochs, up to
``warmup_fraction`` of the steps: compilation, allocator growth), as
samples/s = (per-process batch x processes) x steps / training seconds.

Usage
-----
python benchmarks/summarize_ddp_run.py --results DIR --batch am=128 sc09=32 \
    --json_out summary.json --markdown table.md
"""

import argparse
import json
import os
import re
import sys

_LINE = re.compile(r"epoch: (\d+),.*?steps: (\d+), train_s: ([0-9.e+-]+)")
_RUN = re.compile(r"^(?P<recipe>[a-z0-9]+)_(?P<procs>\d+)gpu$")


def parse_train_log(text):
    """``[(epoch, steps so far, epoch training seconds)]`` of a DiffusionBrain train log.

    Example
    -------
    >>> parse_train_log("epoch: 1, lr: 1e-3, minutes: 0.1, steps: 9, train_s: 2.5 - x\\n")
    [(1, 9, 2.5)]
    """
    return [(int(e), int(s), float(t)) for e, s, t in _LINE.findall(text)]


def throughput(epochs, global_batch, warmup_fraction=0.2):
    """Steady-state training throughput of one run.

    Arguments
    ---------
    epochs : list of (epoch, steps so far, epoch seconds)
        From :func:`parse_train_log`.
    global_batch : int
        Samples per optimizer step over all processes.
    warmup_fraction : float
        Epochs ending at or before this fraction of the last step count are left out
        (at least the first epoch).

    Returns
    -------
    dict or None
        ``steps``, ``timed_steps``, ``timed_seconds``, ``steps_per_s``, ``samples_per_s``
        (None when fewer than two epochs were logged).

    Example
    -------
    >>> log = [(1, 10, 30.0), (2, 20, 2.0), (3, 30, 2.0)]
    >>> throughput(log, 128)["samples_per_s"]
    640.0
    """
    if len(epochs) < 2:
        return None
    total = epochs[-1][1]
    previous, steps, seconds = 0, 0, 0.0
    for index, (_, done, secs) in enumerate(epochs):
        if index > 0 and previous > warmup_fraction * total:
            steps += done - previous
            seconds += secs
        previous = done
    if not seconds:  # every epoch fell in the warm-up: time the last one
        steps, seconds = epochs[-1][1] - epochs[-2][1], epochs[-1][2]
    return {
        "steps": total,
        "timed_steps": steps,
        "timed_seconds": round(seconds, 3),
        "steps_per_s": round(steps / seconds, 3),
        "samples_per_s": round(steps * global_batch / seconds, 1),
    }


def summarize(results, batches):
    """Every run found in ``results``: throughput, accuracy, and the ratios to 1 GPU."""
    runs = {}
    for name in sorted(os.listdir(results)):
        match = _RUN.match(name)
        log = os.path.join(results, name, "train_log.txt")
        if not match or not os.path.isfile(log):
            continue
        recipe, procs = match["recipe"], int(match["procs"])
        with open(log, encoding="utf-8") as f:
            epochs = parse_train_log(f.read())
        run = {"recipe": recipe, "processes": procs, "epochs": len(epochs)}
        batch = batches.get(recipe)
        if batch is not None:
            run["global_batch"] = batch * procs
            run["throughput"] = throughput(epochs, batch * procs)
        score = os.path.join(results, f"score_{name}.json")
        if os.path.isfile(score):
            with open(score, encoding="utf-8") as f:
                scored = json.load(f)
            run["digit_acc"] = scored.get("digit_acc")
            run["num_samples"] = scored.get("num_samples")
        runs[name] = run
    for name, run in runs.items():
        base = runs.get(f"{run['recipe']}_1gpu")
        if base is None or run is base:
            continue
        mine, ref = run.get("throughput"), base.get("throughput")
        if mine and ref:
            run["speedup_samples_per_s"] = round(mine["samples_per_s"] / ref["samples_per_s"], 3)
        if run.get("digit_acc") is not None and base.get("digit_acc") is not None:
            run["digit_acc_minus_1gpu"] = round(run["digit_acc"] - base["digit_acc"], 4)
    return runs


def markdown(runs):
    """The table for benchmarks/RESULTS.md."""
    rows = [
        "| run | processes | optimizer steps | global batch | samples/s | speedup | digit acc |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, run in runs.items():
        tp = run.get("throughput") or {}
        acc = run.get("digit_acc")
        rows.append(
            f"| {name} | {run['processes']} | {tp.get('steps', '-')} | "
            f"{run.get('global_batch', '-')} | {tp.get('samples_per_s', '-')} | "
            f"{run.get('speedup_samples_per_s', '-')} | "
            f"{'-' if acc is None else f'{100 * acc:.1f}%'} |"
        )
    return "\n".join(rows) + "\n"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", required=True, help="folder of the <recipe>_<N>gpu runs")
    parser.add_argument("--batch", nargs="*", default=[], help="recipe=per-process batch size")
    parser.add_argument("--json_out")
    parser.add_argument("--markdown")
    args = parser.parse_args(argv)
    batches = {}
    for item in args.batch:
        recipe, _, size = item.partition("=")
        if not size.isdigit():
            sys.exit(f"error: --batch expects recipe=size, got {item!r}")
        batches[recipe] = int(size)
    runs = summarize(args.results, batches)
    text = markdown(runs)
    print(text, end="")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(runs, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(text)
    return runs


if __name__ == "__main__":
    main(sys.argv[1:])
