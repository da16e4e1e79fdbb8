#!/usr/bin/env python3
"""Kept for old commands: train and score with the evaluation classifier.

- ``train`` runs the classifier recipe (``recipes/AudioMNIST/classifier/train.py``);
- ``score`` runs ``tools/evaluate_samples.py``.

Usage
-----
python tools/score_digit_samples.py train --out results/classifier [--epochs 40] [-- FLAGS]
python tools/score_digit_samples.py score SAMPLES_DIR --classifier results/classifier

``train`` passes any further recipe flags through (e.g. ``--channels "[32, 64, 128, 256]"``).
Use the recipe and ``tools/evaluate_samples.py`` directly in new scripts.
"""

import argparse
import os
import runpy
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(REPO, "recipes", "AudioMNIST", "classifier")


def main(argv):
    parser = argparse.ArgumentParser(description="train / score with the evaluation classifier")
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="run recipes/AudioMNIST/classifier/train.py")
    p_train.add_argument("--out", required=True, help="the recipe's --output_folder")
    p_train.add_argument("--epochs", type=int, help="--number_of_epochs")
    p_train.add_argument("--data_folder", help="FSDD folder (default: bundled)")
    p_score = sub.add_parser("score", help="run tools/evaluate_samples.py")
    p_score.add_argument("samples")
    p_score.add_argument("--classifier", required=True)
    p_score.add_argument("--json_out")
    p_score.add_argument("--device")
    args, extra = parser.parse_known_args(argv)
    if args.command == "score":
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        tool = runpy.run_path(os.path.join(REPO, "tools", "evaluate_samples.py"))
        flags = [args.samples, "--classifier", args.classifier]
        flags += ["--json_out", args.json_out] if args.json_out else []
        flags += ["--device", args.device] if args.device else []
        return tool["main"](flags)
    flags = [os.path.join(RECIPE, "hparams", "train.yaml"), "--output_folder", args.out]
    flags += ["--prepare_folder", os.path.join(args.out, "prepared")]
    flags += ["--number_of_epochs", str(args.epochs)] if args.epochs else []
    flags += ["--data_folder", args.data_folder] if args.data_folder else []
    recipe = runpy.run_path(os.path.join(RECIPE, "train.py"))
    return recipe["main"](flags + [f for f in extra if f != "--"])


if __name__ == "__main__":
    main(sys.argv[1:])
