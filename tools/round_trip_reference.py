#!/usr/bin/env python3
"""The vocoder round trip of a real split, as a spectrogram-diffusion experiment sees it.

Every clip of the split goes through exactly the representation the model is trained on (the
experiment's mel settings, cropped or padded to its ``num_frames``, from its feature cache)
and back to audio through the experiment's vocoder (Griffin-Lim by default): the best a
generator with this front-end could score. The clips are written like generated samples
(``wav/digit7_spk3_000.wav`` + ``labels.json``), so ``tools/evaluate_samples.py`` scores them
beside the model's samples (FID, IS, digit accuracy).

Usage
-----
python tools/round_trip_reference.py EXPERIMENT OUT_DIR [--split test] [--device cpu]
"""

import argparse
import json
import os
import sys
import time


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("experiment", help="folder written by the diffusion recipe's train.py")
    parser.add_argument("out", help="output folder (wav/ + labels.json)")
    parser.add_argument("--split", default="test", choices=["train", "valid", "test"])
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--batch_size", type=int, default=256)
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    import torch

    from audiodiff.data import compute_features
    from audiodiff.data.manifest import manifest_paths
    from audiodiff.inference import SpectrogramGenerator
    from audiodiff.training import write_sample_folder

    try:
        generator = SpectrogramGenerator.from_hparams(args.experiment, device=args.device)
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f"error: {err}")
    hp = generator.hparams
    manifests = manifest_paths(hp["prepare_folder"])
    if not os.path.isfile(manifests[args.split]):
        sys.exit(f"error: no {manifests[args.split]}: train the experiment first")
    start = time.time()
    feats = compute_features(
        manifests[args.split],
        hp["mel"],
        sample_rate=hp["sample_rate"],
        num_frames=hp["num_frames"],
        cache_path=os.path.join(hp["prepare_folder"], f"features_{args.split}.pt"),
    )
    with open(manifests["speakers"], encoding="utf-8") as f:
        speakers = list(json.load(f))
    mel_db = feats["mel_db"]
    wavs = []
    with torch.no_grad():
        for i in range(0, len(mel_db), args.batch_size):
            chunk = mel_db[i : i + args.batch_size].to(generator.device)
            wavs.append(generator.modules["vocoder"](chunk).cpu())
    grid = [
        {"digit": int(d), "speaker": speakers.index(s)}
        for d, s in zip(feats["digit"], feats["speaker"])
    ]
    label_names = {"digit": [str(d) for d in range(10)], "speaker": speakers}
    paths = write_sample_folder(args.out, torch.cat(wavs), mel_db, grid, hp["sample_rate"],
                                label_names=label_names)  # fmt: skip
    print(f"wrote {len(paths)} round-trip clips of the {args.split} split to {args.out} "
          f"in {time.time() - start:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
