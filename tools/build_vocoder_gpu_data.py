#!/usr/bin/env python3
"""Build the LJSpeech subset a GPU vocoder run carries: FLAC copies in the release layout.

The held-out clips (the last ``--held_out`` ids, LJ002-0121 .. LJ002-0140 of the 325-clip
corpus) are always included, then training clips in id order while the total stays under
``--max_mb``. The output is an LJSpeech-1.1 folder (``metadata.csv`` of the copied ids,
``wavs/ID.flac``, 16-bit) that ``prepare_ljspeech`` reads like the original, so
``train.py --data_folder OUT --held_out_last 20`` holds out the same 20 clips.

Usage
-----
python tools/build_vocoder_gpu_data.py /work/data/LJSpeech-1.1 .gpu_data/vocoder/LJSpeech-1.1
python tools/build_vocoder_gpu_data.py SRC OUT --max_mb 24 --held_out 20
"""

import argparse
import os
import sys

import soundfile


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("source", help="an LJSpeech-1.1 folder (metadata.csv, wavs/)")
    parser.add_argument("out", help="output folder (created)")
    parser.add_argument("--max_mb", type=float, default=24.0, help="size budget in MB")
    parser.add_argument("--held_out", type=int, default=20, help="last ids always included")
    return parser.parse_args(argv)


def read_rows(source):
    """{id: metadata line} of the ids whose wav exists."""
    rows = {}
    with open(os.path.join(source, "metadata.csv"), encoding="utf-8") as f:
        for line in f:
            utt_id = line.split("|", 1)[0].strip()
            if utt_id and os.path.exists(os.path.join(source, "wavs", f"{utt_id}.wav")):
                rows[utt_id] = line.rstrip("\r\n")
    return rows


def to_flac(source, out, utt_id):
    """Copy one wav as 16-bit FLAC; returns its size in bytes."""
    data, rate = soundfile.read(os.path.join(source, "wavs", f"{utt_id}.wav"), dtype="int16")
    path = os.path.join(out, "wavs", f"{utt_id}.flac")
    soundfile.write(path, data, rate, format="FLAC", subtype="PCM_16")
    return os.path.getsize(path)


def main(argv):
    args = parse_args(argv)
    if not os.path.isfile(os.path.join(args.source, "metadata.csv")):
        sys.exit(f"error: {args.source} holds no metadata.csv (pass an LJSpeech-1.1 folder)")
    rows = read_rows(args.source)
    ids = sorted(rows)
    if len(ids) <= args.held_out:
        sys.exit(f"error: {len(ids)} clips, not more than --held_out {args.held_out}")
    os.makedirs(os.path.join(args.out, "wavs"), exist_ok=True)
    budget = args.max_mb * 1e6
    held = ids[-args.held_out :] if args.held_out else []
    kept, total = [], 0
    for utt_id in held:
        total += to_flac(args.source, args.out, utt_id)
        kept.append(utt_id)
    training = 0
    for utt_id in ids[: len(ids) - len(held)]:
        size = to_flac(args.source, args.out, utt_id)
        if total + size > budget:
            os.remove(os.path.join(args.out, "wavs", f"{utt_id}.flac"))
            break
        total += size
        kept.append(utt_id)
        training += 1
    with open(os.path.join(args.out, "metadata.csv"), "w", encoding="utf-8") as f:
        for utt_id in sorted(kept):
            f.write(rows[utt_id] + "\n")
    print(
        f"wrote {len(kept)} clips ({training} for training/validation, {len(held)} held out: "
        f"{held[0] if held else '-'} .. {held[-1] if held else '-'}) to {args.out}, "
        f"{total / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
