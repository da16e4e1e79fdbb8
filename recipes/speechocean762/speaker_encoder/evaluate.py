#!/usr/bin/env python3
"""Score a trained speaker encoder on speechocean762 audio through its public interface.

Loads the experiment folder with ``SpeakerEncoder.from_hparams``, embeds the wav files of a
split of ``prepare_speechocean762`` (default: the five held-out speakers, never trained on)
with ``embed_many`` (read, resample, trim, check: what a TTS evaluation does), and prints EER,
closest-speaker identification and the same / different-speaker cosines as JSON. Unlike the
scores ``train.py`` writes (computed on its feature bank), these start from the audio files.

Usage
-----
python evaluate.py results/speaker_encoder/1986 --data_folder /path/to/speechocean762
python evaluate.py EXP_DIR --split test --json_out test_scores.json --device cpu
"""

import argparse
import json
import os
import sys
import tempfile

from audiodiff.data import BUNDLED_SPEECHOCEAN762, DataFolderError, prepare_speechocean762
from audiodiff.data.manifest import read_manifest
from audiodiff.inference import SpeakerEncoder, StyleEncoderInputError
from audiodiff.metrics import verification_report


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exp_dir", help="folder written by train.py")
    parser.add_argument("--data_folder", default=BUNDLED_SPEECHOCEAN762, help="speechocean762")
    parser.add_argument("--split", default="held_out", choices=["held_out", "test", "valid"])
    parser.add_argument("--held_out_speakers", nargs="*", default=None)
    parser.add_argument("--enrol", type=int, default=3, help="enrolment utterances per speaker")
    parser.add_argument("--draws", type=int, default=20, help="random enrolment draws")
    parser.add_argument("--json_out", default=None)
    parser.add_argument("--device", default=None)
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    try:
        encoder = SpeakerEncoder.from_hparams(args.exp_dir, device=args.device)
        kwargs = {}
        if args.held_out_speakers is not None:
            kwargs["held_out_speakers"] = args.held_out_speakers
        with tempfile.TemporaryDirectory() as work:
            paths = prepare_speechocean762(args.data_folder, work, **kwargs)
            entries = read_manifest(paths[args.split])
        ids = sorted(entries)
        speakers = [entries[u]["speaker"] for u in ids]
        embeddings = encoder.embed_many([entries[u]["wav"] for u in ids]).cpu()
        report = verification_report(embeddings, speakers, args.enrol, args.draws)
    except (FileNotFoundError, DataFolderError, StyleEncoderInputError, ValueError) as err:
        sys.exit(f"error: {err}")
    report.update(split=args.split, exp_dir=os.path.abspath(args.exp_dir))
    print(json.dumps(report))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(report, f, indent=1)
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
