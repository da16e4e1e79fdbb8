#!/usr/bin/env python3
"""Score a folder of generated spoken digits with a trained evaluation classifier.

Usage
-----
python tools/evaluate_samples.py SAMPLES_DIR [--classifier EXP] [--json_out FILE]

``SAMPLES_DIR`` holds ``wav/digit7_spk3_000.wav``-style files (as written by the recipes'
``generate.py`` and at epoch ends; ``uncond_000.wav`` for unconditional samples) and the
``labels.json`` that maps speaker indices to names. ``EXP`` is a folder written by
``recipes/AudioMNIST/classifier/train.py`` (default: its FSDD output folder).

Prints one JSON line (accuracies, IS, mIS, AM, FID, NDB/K; see ``docs/metrics.md``), then a
readable table.
"""

import argparse
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CLASSIFIERS = (
    os.path.join(REPO, "recipes", "AudioMNIST", "classifier", "results", "classifier_fsdd", "1986"),
    os.path.join("results", "classifier_fsdd", "1986"),
)


def default_classifier():
    """The first default classifier folder that exists, else None."""
    for folder in DEFAULT_CLASSIFIERS:
        if os.path.isfile(os.path.join(folder, "hyperparams.yaml")):
            return folder
    return None


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("samples", help="folder of generated wavs (or with a wav/ subfolder)")
    parser.add_argument("--classifier", help="classifier folder (default: the FSDD recipe's)")
    parser.add_argument("--json_out", help="also write the full result to this JSON file")
    parser.add_argument("--num_bins", type=int, default=50, help="NDB bins K")
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    from audiodiff.audio import AudioReadError
    from audiodiff.metrics.evaluator import EvaluationError, SampleEvaluator, format_table

    classifier = args.classifier or default_classifier()
    if classifier is None:
        sys.exit(
            "error: no --classifier given and no trained classifier in "
            f"{' or '.join(DEFAULT_CLASSIFIERS)}: train one with `cd recipes/AudioMNIST/"
            "classifier && python train.py hparams/train.yaml` (a few minutes on a CPU)"
        )
    try:
        evaluator = SampleEvaluator.from_experiment(classifier, device=args.device)
        result = evaluator.evaluate_folder(args.samples, num_bins=args.num_bins)
    except (EvaluationError, AudioReadError) as err:
        sys.exit(f"error: {err}")
    result = {"samples": os.path.abspath(args.samples), "classifier": classifier, **result}
    print(json.dumps(result))
    print(format_table(result))
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
