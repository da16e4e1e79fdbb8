#!/usr/bin/env python3
"""Build the speechocean762 subset the TTS GPU run carries: mel features, not audio.

Prepares speechocean762 with its five held-out speakers (``prepare_speechocean762``), keeps a
speaker-balanced subset of the training speakers (round-robin over speakers, utterances of at
most ``--max_seconds``, until the feature budget is spent), some valid utterances, and
``--held_out_utts`` utterances of each held-out speaker. Writes, in ``OUT/speechocean762/``,
what ``recipes/FSDD/tts/train.py --dataset manifests --data_folder OUT/speechocean762`` reads:

- ``train.json``, ``valid.json``, ``held_out.json``, ``speakers.json``, ``lexicon.txt``;
- ``features_<split>.pt``: the recipe's dB mels (its hparams file's front-end), uint8 codes
  (0.5 dB steps), the cache ``compute_mel_sequences`` reads (keyed by ids and durations, so
  the relocated manifests still match);
- ``held_out/<id>.flac``: the held-out audio (references and enrolment for the speaker
  encoder; the only audio carried). Training and valid entries point at no audio.

Usage
-----
python tools/build_tts_gpu_data.py --speechocean762 /work/data/speechocean762 --out .gpu_data/tts
python tools/build_tts_gpu_data.py ... --max_mb 8 --held_out_utts 6      # smaller
"""

import argparse
import json
import os
import random
import shutil
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HPARAMS = os.path.join(REPO, "recipes", "FSDD", "tts", "hparams", "phoneme.yaml")
BYTES_PER_FRAME_BAND = 1  # uint8 codes


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speechocean762", required=True, help="corpus root")
    parser.add_argument("--out", required=True, help="output folder (e.g. .gpu_data/tts)")
    parser.add_argument("--max_mb", type=float, default=10.0, help="size budget, all files")
    parser.add_argument("--max_seconds", type=float, default=6.0, help="longest utterance kept")
    parser.add_argument("--valid_utts", type=int, default=40, help="valid utterances")
    parser.add_argument("--held_out_utts", type=int, default=8, help="per held-out speaker")
    parser.add_argument("--hparams", default=HPARAMS, help="the recipe's hparams (front-end)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def round_robin(entries, max_seconds, seed):
    """Utterance ids ordered speaker by speaker in turns (seeded), short enough ones only."""
    rng = random.Random(seed)
    by_speaker = {}
    for utt, entry in sorted(entries.items()):
        if entry["duration"] <= max_seconds:
            by_speaker.setdefault(entry["speaker"], []).append(utt)
    for ids in by_speaker.values():
        rng.shuffle(ids)
    order, turn = [], 0
    while any(turn < len(ids) for ids in by_speaker.values()):
        order += [ids[turn] for _, ids in sorted(by_speaker.items()) if turn < len(ids)]
        turn += 1
    return order


def main(argv):
    args = parse_args(argv)
    from hyperpyyaml import load_hyperpyyaml

    from audiodiff.audio import read_audio, reencode_audio, write_audio
    from audiodiff.data import DataFolderError, compute_mel_sequences, read_manifest
    from audiodiff.data.manifest import write_manifest

    try:
        from audiodiff.data import prepare_speechocean762
    except ImportError:
        sys.exit(
            "error: this tool needs audiodiff.data.prepare_speechocean762 (the speaker "
            "branch); merge it first"
        )
    out = os.path.join(os.path.abspath(args.out), "speechocean762")
    os.makedirs(os.path.join(out, "held_out"), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="tts_gpu_data_")
    with open(args.hparams, encoding="utf-8") as f:
        hp = load_hyperpyyaml(f, {"output_folder": tmp})
    mel, rate, n_mels = hp["mel"], hp["sample_rate"], hp["n_mels"]
    try:
        paths = prepare_speechocean762(args.speechocean762, os.path.join(tmp, "prepared"))
    except DataFolderError as err:
        sys.exit(f"error: {err}")
    manifests = {s: read_manifest(paths[s]) for s in ("train", "valid", "held_out")}
    frames_per_second = rate / hp["hop_length"]

    # held-out: audio (FLAC) for references and enrolment, the only audio carried
    rng = random.Random(args.seed)
    held, by_speaker = {}, {}
    for utt, entry in sorted(manifests["held_out"].items()):
        by_speaker.setdefault(entry["speaker"], []).append(utt)
    for speaker, ids in sorted(by_speaker.items()):
        rng.shuffle(ids)
        for utt in sorted(ids[: args.held_out_utts]):
            wav, _ = read_audio(manifests["held_out"][utt]["wav"], sample_rate=rate)
            write_audio(os.path.join(out, "held_out", f"{utt}.wav"), wav, rate)
            reencode_audio(os.path.join(out, "held_out", f"{utt}.wav"), ".flac")
            held[utt] = manifests["held_out"][utt]
    audio_bytes = sum(os.path.getsize(os.path.join(out, "held_out", f"{u}.flac")) for u in held)

    budget = args.max_mb * 1e6 - audio_bytes - 0.5e6  # manifests, lexicon, overhead
    chosen = {"train": [], "valid": []}
    used = 0.0
    for utt in round_robin(manifests["valid"], args.max_seconds, args.seed)[: args.valid_utts]:
        chosen["valid"].append(utt)
        used += manifests["valid"][utt]["duration"] * frames_per_second * n_mels
    for utt in round_robin(manifests["train"], args.max_seconds, args.seed):
        cost = manifests["train"][utt]["duration"] * frames_per_second * n_mels
        if used + cost > budget:
            break
        chosen["train"].append(utt)
        used += cost
    subsets = {s: {u: manifests[s][u] for u in sorted(ids)} for s, ids in chosen.items()}
    subsets["held_out"] = held
    for split, entries in subsets.items():
        source = os.path.join(tmp, f"{split}.json")
        write_manifest(source, entries)
        compute_mel_sequences(
            source, mel, sample_rate=rate, cache_path=os.path.join(out, f"features_{split}.pt")
        )
        relocated = {}
        for utt, entry in entries.items():
            entry = dict(entry)
            entry["wav"] = (
                os.path.join("held_out", f"{utt}.flac")
                if split == "held_out"
                else os.path.join("not_carried", f"{utt}.wav")
            )
            relocated[utt] = entry
        write_manifest(os.path.join(out, f"{split}.json"), relocated)
    speakers = sorted({e["speaker"] for e in subsets["train"].values()})
    with open(os.path.join(out, "speakers.json"), "w", encoding="utf-8") as f:
        json.dump({s: i for i, s in enumerate(speakers)}, f)
    shutil.copy(
        os.path.join(args.speechocean762, "resource", "lexicon.txt"),
        os.path.join(out, "lexicon.txt"),
    )
    shutil.rmtree(tmp, ignore_errors=True)
    total = sum(
        os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(out) for f in files
    )
    hours = sum(e["duration"] for e in subsets["train"].values()) / 3600
    print(
        f"wrote {out}: {len(subsets['train'])} train utterances ({hours * 60:.1f} min) of "
        f"{len(speakers)} speakers, {len(subsets['valid'])} valid, {len(held)} held-out "
        f"(audio); {total / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
