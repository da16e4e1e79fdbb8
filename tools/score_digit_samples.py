#!/usr/bin/env python3
"""Train a digit + speaker classifier on real FSDD, and score generated samples with it.

The classifier (``audiodiff.nets.SpectrogramClassifier``) sees the same 16 kHz, 80-band mel
features as the diffusion recipe, computed from audio files, so generated wavs are scored
exactly as written to disk.

Usage
-----
python tools/score_digit_samples.py train --out results/digit_classifier [--epochs 30]
python tools/score_digit_samples.py score SAMPLES_DIR --classifier results/digit_classifier

``SAMPLES_DIR`` holds ``wav/digit7_spk3_000.wav``-style files (as written by the recipe's
``generate.py``) and the ``labels.json`` that maps speaker indices to names. ``score`` prints
one JSON line and a table: digit accuracy against the digit asked for, speaker accuracy
against the speaker asked for.
"""

import argparse
import glob
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

from audiodiff.audio import (
    MelSpectrogram,
    SpectrogramNormalizer,
    amplitude_to_db,
    floor_db,
    pad_or_crop,
    read_audio,
)
from audiodiff.data import BUNDLED_FSDD, compute_features, prepare_fsdd
from audiodiff.nets import SpectrogramClassifier
from audiodiff.training import parse_sample_name

SAMPLE_RATE, NUM_FRAMES = 16000, 64


def _features(manifest, mel, cache):
    return compute_features(
        manifest, mel, sample_rate=SAMPLE_RATE, num_frames=NUM_FRAMES, cache_path=cache
    )


def _augment(x, generator):
    """Random time shift (roll within the padded frame), gain (dB offset) and masking."""
    batch = x.shape[0]
    shift = torch.randint(0, 12, (1,), generator=generator).item()
    x = torch.roll(x, shifts=shift, dims=-1)
    x = x + (torch.rand(batch, 1, 1, generator=generator) - 0.5) * 0.2
    f0 = torch.randint(0, x.shape[1] - 8, (1,), generator=generator).item()
    x[:, f0 : f0 + torch.randint(0, 8, (1,), generator=generator).item()] = -1.0
    return x


def train(args):
    """Train the classifier on the FSDD train split; report test accuracy."""
    torch.manual_seed(args.seed)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    prep = os.path.join(args.out, "prepared")
    manifests = prepare_fsdd(args.data_folder or BUNDLED_FSDD, prep)
    speakers = list(json.load(open(manifests["speakers"], encoding="utf-8")))
    mel = MelSpectrogram(sample_rate=SAMPLE_RATE)
    data = {
        s: _features(manifests[s], mel, os.path.join(prep, f"feat_{s}.pt"))
        for s in ("train", "valid", "test")
    }
    norm = SpectrogramNormalizer()
    norm.fit(data["train"]["mel_db"])
    tensors = {}
    for split, feats in data.items():
        spk = torch.tensor([speakers.index(s) for s in feats["speaker"]])
        tensors[split] = (norm.normalize(feats["mel_db"]), feats["digit"], spk)
    model = SpectrogramClassifier(num_speakers=len(speakers)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-2)
    x, d, s = (t.to(device) for t in tensors["train"])
    gen = torch.Generator().manual_seed(args.seed)
    steps_per_epoch = max(1, len(x) // args.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, args.lr, total_steps=args.epochs * steps_per_epoch
    )
    start = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen).to(device)
        for i in range(steps_per_epoch):
            idx = perm[i * args.batch_size : (i + 1) * args.batch_size]
            xb = _augment(x[idx].cpu(), gen).to(device)
            out = model(xb)
            loss = F.cross_entropy(out["digit"], d[idx]) + F.cross_entropy(out["speaker"], s[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        if (epoch + 1) % 5 == 0 or epoch + 1 == args.epochs:
            acc = evaluate(model, *tensors["valid"], device)
            print(
                f"epoch {epoch + 1}: loss {loss.item():.3f} valid digit {acc['digit']:.3f} "
                f"speaker {acc['speaker']:.3f} ({time.time() - start:.0f} s)"
            )
    test = evaluate(model, *tensors["test"], device)
    os.makedirs(args.out, exist_ok=True)
    torch.save(
        {"model": model.state_dict(), "normalizer": norm.state_dict(), "speakers": speakers},
        os.path.join(args.out, "classifier.pt"),
    )
    result = {
        "test_digit_acc": test["digit"],
        "test_speaker_acc": test["speaker"],
        "test_items": len(tensors["test"][0]),
    }
    json.dump(result, open(os.path.join(args.out, "test_accuracy.json"), "w"))
    print(json.dumps(result))


@torch.no_grad()
def evaluate(model, x, digit, speaker, device):
    """Digit and speaker accuracy of ``model`` on normalised features."""
    model.eval()
    out = {"digit": [], "speaker": []}
    for i in range(0, len(x), 512):
        pred = model(x[i : i + 512].to(device))
        out["digit"].append(pred["digit"].argmax(-1).cpu())
        out["speaker"].append(pred["speaker"].argmax(-1).cpu())
    return {
        "digit": (torch.cat(out["digit"]) == digit.cpu()).float().mean().item(),
        "speaker": (torch.cat(out["speaker"]) == speaker.cpu()).float().mean().item(),
    }


def load_classifier(folder, device):
    """Load ``classifier.pt`` written by ``train``."""
    path = os.path.join(folder, "classifier.pt")
    if not os.path.isfile(path):
        sys.exit(f"error: no classifier.pt in {folder}: run `score_digit_samples.py train` first")
    state = torch.load(path, map_location="cpu")
    model = SpectrogramClassifier(num_speakers=len(state["speakers"]))
    model.load_state_dict(state["model"])
    norm = SpectrogramNormalizer()
    norm.load_state_dict(state["normalizer"])
    return model.to(device).eval(), norm, state["speakers"]


def score(args):
    """Score ``SAMPLES_DIR/wav/*.wav`` against the labels in their names."""
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model, norm, speakers = load_classifier(args.classifier, device)
    paths = sorted(glob.glob(os.path.join(args.samples, "wav", "*.wav")))
    if not paths:
        sys.exit(f"error: no wav files in {os.path.join(args.samples, 'wav')}")
    names_file = os.path.join(args.samples, "labels.json")
    sample_speakers = []
    if os.path.isfile(names_file):
        sample_speakers = json.load(open(names_file)).get("label_names", {}).get("speaker", [])
    mel = MelSpectrogram(sample_rate=SAMPLE_RATE)
    feats, labels = [], []
    for path in paths:
        wav, _ = read_audio(path, sample_rate=SAMPLE_RATE)
        db = amplitude_to_db(mel(wav.unsqueeze(0)))
        feats.append(pad_or_crop(db, NUM_FRAMES, pad_value=floor_db())[0])
        labels.append(parse_sample_name(path))
    x = norm.normalize(torch.stack(feats))
    with torch.no_grad():
        out = {k: [] for k in ("digit", "speaker")}
        for i in range(0, len(x), 512):
            pred = model(x[i : i + 512].to(device))
            for k in out:
                out[k].append(pred[k].argmax(-1).cpu())
    pred = {k: torch.cat(v).tolist() for k, v in out.items()}
    result = {"num_samples": len(paths)}
    digit_hits = [p == lab["digit"] for p, lab in zip(pred["digit"], labels) if "digit" in lab]
    if digit_hits:
        result["digit_acc"] = sum(digit_hits) / len(digit_hits)
        per = {}
        for p, lab in zip(pred["digit"], labels):
            if "digit" in lab:
                per.setdefault(lab["digit"], []).append(p == lab["digit"])
        result["digit_acc_per_digit"] = {k: sum(v) / len(v) for k, v in sorted(per.items())}
    spk_hits = []
    for p, lab in zip(pred["speaker"], labels):
        if "speaker" in lab:
            name = sample_speakers[lab["speaker"]] if sample_speakers else speakers[lab["speaker"]]
            spk_hits.append(speakers[p] == name)
    if spk_hits:
        result["speaker_acc"] = sum(spk_hits) / len(spk_hits)
    hist = torch.bincount(torch.tensor(pred["digit"]), minlength=10)
    result["predicted_digit_histogram"] = hist.tolist()
    print(json.dumps(result))
    for key in ("digit_acc", "speaker_acc"):
        if key in result:
            print(f"{key:>12}: {100 * result[key]:.1f}% of {result['num_samples']} samples")
    if args.json_out:
        json.dump(result, open(args.json_out, "w"), indent=1)
    return result


def main(argv):
    parser = argparse.ArgumentParser(description="FSDD digit/speaker classifier for scoring")
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="train on the FSDD train split")
    p_train.add_argument("--out", required=True)
    p_train.add_argument("--data_folder", help="FSDD folder (default: bundled)")
    p_train.add_argument("--epochs", type=int, default=30)
    p_train.add_argument("--batch_size", type=int, default=64)
    p_train.add_argument("--lr", type=float, default=2e-3)
    p_train.add_argument("--seed", type=int, default=0)
    p_train.add_argument("--device")
    p_score = sub.add_parser("score", help="score a folder of generated samples")
    p_score.add_argument("samples")
    p_score.add_argument("--classifier", required=True)
    p_score.add_argument("--json_out")
    p_score.add_argument("--device")
    args = parser.parse_args(argv)
    return train(args) if args.command == "train" else score(args)


if __name__ == "__main__":
    main(sys.argv[1:])
