#!/usr/bin/env python3
"""Build the speaker-encoder feature bank a GPU run carries instead of audio.

Prepares speechocean762 (five held-out speakers), FSDD and LJSpeech as the speaker-encoder
recipe does, keeps a speaker-balanced subset (N utterances per speaker and split), computes
the recipe's features (its hparams file: 16 kHz, 40-band dB mel, silence trimmed) and writes
one ``FeatureBank`` file: dB in 1 dB uint8 steps, frame differences, LZMA-compressed (about
1.2 kB per second of speech). Train from it with
``train.py hparams/ecapa.yaml --feature_bank FILE``.

Usage
-----
python tools/build_speaker_features.py --speechocean762 /work/data/speechocean762 \
    --ljspeech /work/data/LJSpeech-1.1 --out .gpu_data/speaker/features.xz
python tools/build_speaker_features.py ... --so762_train 8 --max_seconds 4   # larger / smaller

Defaults (about 6.5 MB): speechocean762 train 5 utterances per speaker (of 18), valid 1 per
speaker, all 100 held-out utterances; FSDD train 50 / valid 5 / test 20 per speaker; LJSpeech
train 40, valid 5; utterances cut to their first 5 s (after trimming silence).
"""

import argparse
import json
import os
import sys
import tempfile

from hyperpyyaml import load_hyperpyyaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE_HPARAMS = os.path.join(
    REPO, "recipes", "speechocean762", "speaker_encoder", "hparams", "ecapa.yaml"
)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output file (.xz)")
    parser.add_argument("--speechocean762", default=None, help="corpus root (default: bundled)")
    parser.add_argument("--fsdd", default=None, help="FSDD folder (default: bundled)")
    parser.add_argument("--ljspeech", default=None, help="LJSpeech-1.1 (default: bundled mini)")
    parser.add_argument("--hparams", default=RECIPE_HPARAMS, help="the recipe's hparams file")
    counts = {
        "so762_train": 5,
        "so762_valid": 1,
        "so762_test": 0,
        "so762_held_out": -1,
        "fsdd_train": 50,
        "fsdd_valid": 5,
        "fsdd_test": 20,
        "lj_train": 40,
        "lj_valid": 5,
    }
    for name, default in counts.items():
        parser.add_argument(
            f"--{name}",
            type=int,
            default=default,
            help=f"utterances per speaker (0: leave the split out, -1: all; default {default})",
        )
    parser.add_argument("--max_seconds", type=float, default=5.0, help="longest utterance kept")
    parser.add_argument("--step_db", type=float, default=1.0, help="quantisation step (dB)")
    parser.add_argument("--work_dir", default=None, help="manifests and caches (default: temp)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def per_speaker(args):
    """``utterances_per_speaker`` for ``build_speaker_bank`` from the counts."""
    layout = {
        "speechocean762": ("so762", ("train", "valid", "test", "held_out")),
        "fsdd": ("fsdd", ("train", "valid", "test")),
        "ljspeech": ("lj", ("train", "valid")),
    }
    out = {}
    for corpus, (prefix, splits) in layout.items():
        chosen = {}
        for split in splits:
            count = getattr(args, f"{prefix}_{split}")
            if count != 0:
                chosen[split] = None if count < 0 else count
        if chosen:
            out[corpus] = chosen
    return out


def main(argv):
    args = parse_args(argv)
    from audiodiff.data import DataFolderError, build_speaker_bank, prepare_speaker_corpora

    with tempfile.TemporaryDirectory() as tmp:
        work = args.work_dir or tmp
        with open(args.hparams, encoding="utf-8") as f:
            hparams = load_hyperpyyaml(f, {"output_folder": work})
        folders = {
            "speechocean762": args.speechocean762,
            "fsdd": args.fsdd,
            "ljspeech": args.ljspeech,
        }
        chosen = per_speaker(args)
        try:
            manifests = prepare_speaker_corpora(
                list(chosen),
                folders,
                os.path.join(work, "prepared"),
                held_out_speakers=hparams["held_out_speakers"],
                ljspeech_held_out_last=hparams["ljspeech_held_out_last"],
            )
            bank = build_speaker_bank(
                manifests,
                chosen,
                hparams["mel"],
                sample_rate=hparams["sample_rate"],
                work_folder=os.path.join(work, "prepared"),
                trim_db=hparams["trim_db"],
                max_seconds=args.max_seconds,
                seed=args.seed,
            )
        except (DataFolderError, ValueError) as err:
            sys.exit(f"error: {err}")
    bank.save(args.out, step_db=args.step_db)
    hop = hparams["hop_length"] / hparams["sample_rate"]
    groups = {}
    for corpus, split, frames in zip(bank.meta["corpus"], bank.meta["split"], bank.lengths):
        group = groups.setdefault(f"{corpus}/{split}", {"utterances": 0, "seconds": 0.0})
        group["utterances"] += 1
        group["seconds"] += float(frames) * hop
    summary = {
        "out": os.path.abspath(args.out),
        "bytes": os.path.getsize(args.out),
        "utterances": len(bank),
        "speakers": len(set(bank.meta["speaker"])),
        "seconds": round(float(bank.lengths.sum()) * hop, 1),
        "groups": {
            k: {"utterances": v["utterances"], "seconds": round(v["seconds"], 1)}
            for k, v in sorted(groups.items())
        },
        "settings": bank.settings,
    }
    print(json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
