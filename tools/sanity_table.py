#!/usr/bin/env python3
"""Sanity table of the evaluation metrics on real and degraded FSDD audio.

Scores five sets of wav files with the evaluation classifier (generative metrics) and against
the clean test clips (vocoder metrics): the real FSDD test split, as many clips of the train
split, the test clips after a Griffin-Lim round trip of their mel spectrogram, the test clips
at 0 dB SNR (white noise), and white noise (each clip's length and RMS). Every metric must
rank the real test split best and white noise worst; a degraded set that differs from either
by less than the sampling noise (paired bootstrap over the clips, 95% interval of the
difference holding 0) is reported as a tie.

Usage
-----
python tools/sanity_table.py --classifier EXP [--num 300] [--json_out F] [--markdown F]

Each set is written as 16 kHz wavs named like generated samples (``digit7_spk3_000.wav`` +
``labels.json``) under ``--work_dir`` and read back through the evaluator's file path
(``SampleEvaluator.features_from_files``). Prints a markdown table, the bootstrap noise, one
JSON line, then any ties and ordering problems.
"""

import argparse
import json
import os
import sys
import tempfile
import time

import torch

ROWS = ("real test", "real train", "Griffin-Lim test", "test + noise 0 dB", "white noise")
DEGRADED = ("Griffin-Lim test", "test + noise 0 dB", "white noise")
# (key, column name, higher is better)
GENERATIVE = (
    ("digit_acc", "digit acc", True),
    ("speaker_acc", "speaker acc", True),
    ("is", "IS", True),
    ("mis", "mIS", True),
    ("am", "AM", False),
    ("fid", "FID", False),
    ("ndb_k", "NDB/K", False),
)
VOCODER = (
    ("mrstft", "MR-STFT", False),
    ("mel_l1", "mel L1", False),
    ("lsd", "LSD dB", False),
    ("pesq", "PESQ", True),
    ("stoi", "STOI", True),
)


def log(text):
    print(text, file=sys.stderr, flush=True)


def pick(entries, num, generator):
    """``num`` entries of a manifest (all when num is None or larger), in a seeded order."""
    items = list(entries.items())
    if num is None or num >= len(items):
        return dict(items)
    order = torch.randperm(len(items), generator=generator)[:num].sort().values
    return dict(items[i] for i in order.tolist())


def load_clips(entries, sample_rate):
    from audiodiff.audio import read_audio

    return [read_audio(e["wav"], sample_rate=sample_rate)[0] for e in entries.values()]


def white_noise_like(clips, generator):
    """Gaussian noise with the length and RMS of each clip."""
    out = []
    for clip in clips:
        noise = torch.randn(clip.shape, generator=generator)
        out.append(noise * clip.square().mean().sqrt() / noise.square().mean().sqrt())
    return out


def griffin_lim_round_trip(clips, mel):
    """wav -> dB mel (the classifier's settings) -> Griffin-Lim -> wav of the same length."""
    from audiodiff.audio import GriffinLimVocoder, amplitude_to_db

    vocoder = GriffinLimVocoder(
        sample_rate=mel.sample_rate,
        n_fft=mel.n_fft,
        hop_length=mel.hop_length,
        n_mels=mel.n_mels,
        f_min=mel.f_min,
        f_max=mel.f_max,
        rand_init=False,
    )
    out = []
    with torch.no_grad():
        for clip in clips:
            wav = vocoder(amplitude_to_db(mel(clip.unsqueeze(0))))[0]
            wav = torch.nn.functional.pad(wav, (0, max(0, len(clip) - len(wav))))
            out.append(wav[: len(clip)])
    return out


def write_set(folder, clips, entries, speakers, sample_rate):
    """Write clips as ``folder/wav/digit{d}_spk{s}_{i}.wav`` + ``labels.json``; their paths."""
    from audiodiff.audio import write_audio

    paths = []
    for i, (clip, entry) in enumerate(zip(clips, entries.values())):
        name = f"digit{entry['digit']}_spk{speakers.index(entry['speaker'])}_{i:03d}.wav"
        paths.append(os.path.join(folder, "wav", name))
        write_audio(paths[-1], clip, sample_rate)
    with open(os.path.join(folder, "labels.json"), "w", encoding="utf-8") as f:
        json.dump({"samples": {}, "label_names": {"speaker": speakers}}, f)
    return paths


def vocoder_per_clip(ref_paths, paths, with_pesq):
    """Vocoder metrics of each file against its reference: key -> [N] tensor (NaN: unscored)."""
    from audiodiff.audio import read_audio
    from audiodiff.metrics.vocoder import vocoder_metrics

    scores = {}
    for ref_path, path in zip(ref_paths, paths):
        ref, rate = read_audio(ref_path)
        gen, _ = read_audio(path, sample_rate=rate)
        for key, value in vocoder_metrics(ref, gen, rate, with_pesq=with_pesq).items():
            scores.setdefault(key, []).append(value)
    return {key: torch.tensor(values, dtype=torch.float64) for key, values in scores.items()}


def vocoder_summary(per_clip):
    """Means over the scored clips, and how many PESQ/STOI could score."""
    out = {key: values.nanmean().item() for key, values in per_clip.items()}
    for key in ("pesq", "stoi"):
        if key in per_clip:
            out[f"{key}_scored"] = int((~per_clip[key].isnan()).sum())
    return out


def bootstrap(outputs, per_clip, reference, num, generator):
    """Sampling noise of every metric but NDB/K (k-means per resample would be slow).

    The clips are resampled with replacement ``num`` times, with the same draws for every set
    (the degraded sets are the test clips, in the same order: the differences are paired).

    Returns
    -------
    dict
        set -> metric -> ``{"std"}``, plus for the degraded sets ``"vs_test"`` and
        ``"vs_noise"``: 95% intervals of (set - real test) and (set - white noise).
    """
    from audiodiff.metrics.generative import (
        am_score,
        frechet_distance,
        inception_score,
        modified_inception_score,
    )

    classifier_metrics = {
        "is": lambda o, i: inception_score(o["digit_probs"][i]),
        "mis": lambda o, i: modified_inception_score(o["digit_probs"][i]),
        "am": lambda o, i: am_score(o["digit_probs"][i], reference["train"]["digit_probs"]),
        "fid": lambda o, i: frechet_distance(o["embedding"][i], reference["test"]["embedding"]),
    }
    size = len(outputs["real test"]["digit_probs"])
    draws = [torch.randint(0, size, (size,), generator=generator) for _ in range(num)]
    values = {}
    for row, out in outputs.items():
        values[row] = {k: [fn(out, i) for i in draws] for k, fn in classifier_metrics.items()}
        for key, clip_values in per_clip.get(row, {}).items():
            values[row][key] = [clip_values[i].nanmean().item() for i in draws]
    result = {}
    for row, metrics in values.items():
        result[row] = {}
        for key, samples in metrics.items():
            samples = torch.tensor(samples, dtype=torch.float64)
            entry = {"std": samples.std().item()}
            if row in DEGRADED:
                for name, other in (("vs_test", "real test"), ("vs_noise", "white noise")):
                    if key in values[other] and other != row:
                        diff = samples - torch.tensor(values[other][key], dtype=torch.float64)
                        entry[name] = [diff.nanquantile(q).item() for q in (0.025, 0.975)]
            result[row][key] = entry
    return result


def check_order(results, noise):
    """Ordering problems and ties: is every degraded set between real test and white noise?

    Returns
    -------
    (list of str, list of str)
        Problems (a set on the wrong side of real test or of white noise beyond the sampling
        noise) and ties (on the wrong side, but within the noise).
    """
    problems, ties = [], []
    for key, name, higher_is_better in GENERATIVE + VOCODER:
        sign = 1 if higher_is_better else -1
        best, worst = results["real test"].get(key), results["white noise"].get(key)
        if best is None or worst is None:
            continue
        for row in DEGRADED:
            value = results[row].get(key)
            if value is None:
                continue
            checks = [("vs_test", "better than real test", sign * (value - best))]
            if row != "white noise":
                checks.append(("vs_noise", "worse than white noise", sign * (worst - value)))
            for which, what, excess in checks:
                if excess <= 1e-9:
                    continue
                low, high = noise.get(row, {}).get(key, {}).get(which, (None, None))
                other = best if which == "vs_test" else worst
                text = f"{name}: {row} ({value:.4g}) {what} ({other:.4g})"
                if low is not None and low <= 0.0 <= high:
                    ties.append(
                        f"{text}, within noise: 95% CI of the difference [{low:.3g}, {high:.3g}]"
                    )
                else:
                    problems.append(text)
    return problems, ties


def markdown_table(results):
    """One row per set, generative then vocoder metrics; arrows say which way is better."""
    columns = GENERATIVE + VOCODER
    head = ["set"] + [f"{name} {'↑' if up else '↓'}" for _, name, up in columns]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for row, metrics in results.items():
        cells = [row]
        for key, _, _ in columns:
            value = metrics.get(key)
            if value is None:
                cells.append("-")
            elif key.endswith("_acc"):
                cells.append(f"{100 * value:.1f}%")
            else:
                cells.append(f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def noise_line(noise):
    """One line: the bootstrap std of each metric on the real test and Griffin-Lim sets."""
    names = dict((k, n) for k, n, _ in GENERATIVE + VOCODER)
    parts = []
    for row in ("real test", "Griffin-Lim test"):
        keys = [k for k, _, _ in GENERATIVE + (VOCODER if row != "real test" else ())]
        stds = ", ".join(
            f"{names[k]} {noise[row][k]['std']:.2g}" for k in keys if k in noise.get(row, {})
        )
        parts.append(f"{row}: {stds}")
    return "Bootstrap std (sampling noise over the clips): " + "; ".join(parts) + "."


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--classifier", required=True, help="classifier experiment folder")
    parser.add_argument("--data_folder", help="FSDD folder (default: the bundled copy)")
    parser.add_argument("--num", type=int, help="clips per set (default: the whole test split)")
    parser.add_argument("--work_dir", help="where the wav sets go (default: a temporary folder)")
    parser.add_argument("--json_out", help="write the results as JSON here")
    parser.add_argument("--markdown", help="write the markdown table here")
    parser.add_argument("--no_pesq", action="store_true", help="skip PESQ")
    parser.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    return parser.parse_args(argv)


def build_sets(evaluator, manifests, num, generator):
    """The five (clips, manifest entries) sets, clips at the classifier's rate."""
    from audiodiff.data import read_manifest

    test = pick(read_manifest(manifests["test"]), num, generator)
    train = pick(read_manifest(manifests["train"]), len(test), generator)
    clean = load_clips(test, evaluator.sample_rate)
    noise = white_noise_like(clean, generator)
    return {
        "real test": (clean, test),
        "real train": (load_clips(train, evaluator.sample_rate), train),
        "Griffin-Lim test": (griffin_lim_round_trip(clean, evaluator.mel.cpu()), test),
        "test + noise 0 dB": ([c + n for c, n in zip(clean, noise)], test),
        "white noise": (noise, test),
    }


def main(argv):
    args = parse_args(argv)
    from audiodiff.audio import AudioReadError
    from audiodiff.data import BUNDLED_FSDD, DataFolderError, prepare_fsdd
    from audiodiff.metrics.evaluator import EvaluationError, SampleEvaluator
    from audiodiff.training.samples import parse_sample_name

    start = time.time()
    work = args.work_dir or tempfile.mkdtemp(prefix="sanity_")
    generator = torch.Generator().manual_seed(args.seed)
    try:
        evaluator = SampleEvaluator.from_experiment(args.classifier, device=args.device)
        manifests = prepare_fsdd(args.data_folder or BUNDLED_FSDD, os.path.join(work, "prepared"))
        with open(manifests["speakers"], encoding="utf-8") as f:
            speakers = list(json.load(f))
        sets = build_sets(evaluator, manifests, args.num, generator)
        results, outputs, per_clip, paths = {}, {}, {}, {}
        for row in ROWS:
            log(f"{row} ({time.time() - start:.0f} s)")
            clips, entries = sets[row]
            folder = os.path.join(work, row.replace(" ", "_").replace("+", "plus"))
            paths[row] = write_set(folder, clips, entries, speakers, evaluator.sample_rate)
            outputs[row] = evaluator.predict(evaluator.features_from_files(paths[row]))
            labels = [parse_sample_name(p) for p in paths[row]]
            results[row] = evaluator.evaluate_outputs(outputs[row], labels, speakers)
            if row != "real train":
                per_clip[row] = vocoder_per_clip(paths["real test"], paths[row], not args.no_pesq)
                results[row].update(vocoder_summary(per_clip[row]))
        log(f"bootstrap ({time.time() - start:.0f} s)")
        noise = bootstrap(outputs, per_clip, evaluator.reference(), args.bootstrap, generator)
    except (EvaluationError, AudioReadError, DataFolderError) as err:
        sys.exit(f"error: {err}")
    except ImportError as err:
        sys.exit(f"error: {err} (or pass --no_pesq)")
    problems, ties = check_order(results, noise)
    table, note = markdown_table(results), noise_line(noise)
    summary = {
        "classifier": args.classifier,
        "clips_per_set": len(paths["real test"]),
        "seconds": round(time.time() - start, 1),
        "results": results,
        "bootstrap": noise,
        "ties": ties,
        "order_problems": problems,
    }
    print(table)
    print(note)
    print(json.dumps(summary))
    for tie in ties:
        print(f"tie: {tie}")
    for problem in problems:
        print(f"warning: {problem}")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(f"{table}\n\n{note}\n")
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
