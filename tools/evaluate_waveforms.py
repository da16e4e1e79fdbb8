#!/usr/bin/env python3
"""Waveform quality of generated 1 s clips beside real ones: babble, spectral line, clicks, voices.

Usage
-----
python tools/evaluate_waveforms.py SAMPLES_DIR [--real_fsdd_test] [--real DIR ...]
    [--classifier EXP] [--json_out FILE]

``SAMPLES_DIR`` holds the wavs (``SAMPLES_DIR/wav/*.wav`` or ``SAMPLES_DIR/*.wav``), all at
``--sample_rate`` (16 kHz); each is padded with zeros or cropped to ``--seconds``. References:

- ``--real_fsdd_test``: the bundled FSDD test split exactly as ``recipes/SC09/diffwave`` trains on
  it (``prepare_fsdd`` + ``load_waveforms``: 1 s at 16 kHz, left-aligned, zero-padded, peak
  ``--peak_level`` = the recipe's ``peak_level`` 0.9);
- ``--real DIR``: a Speech Commands / SC09 folder (e.g.
  ``bundled_data/sc09_mini/speech_commands_v0.01``) prepared the same way (``prepare_sc09``,
  every split), or any folder of wavs read as they are.

Figures (``audiodiff.metrics.waveform_quality``): the mean RMS of each 100 ms and of 0.6-1.0 s
(mean linear RMS over clips, then dB), the 4 kHz band of the mean spectrum over its +-300 Hz
neighbours, clicks per clip; with ``--classifier``, the share of samples heard as each speaker
(``SampleEvaluator.speaker_shares``). Prints a table (samples beside each reference) and the
checks of issue 18 as ``yes`` / ``NO`` lines against the first reference; ``--json_out`` writes
everything.

The clips here are peak-normalised (the recipe's samples, and the references as prepared), so
the classifier must not depend on the level: train it with ``--level_range_db 80``
(``recipes/AudioMNIST/classifier/README.md``). A classifier at the recorded level (the
default) hears FSDD's own test split at peak 0.9 as jackson 35%, lucas 30%, theo and yweweler
0% (50 clips of each speaker); the tool says so in a ``note:`` line.
"""

import argparse
import json
import os
import sys
import tempfile

SPAN = (0.6, 1.0)
RECIPE_PEAK_LEVEL = 0.9  # recipes/SC09/diffwave/hparams/diffwave.yaml: peak_level (a test checks)
LEVEL_NOTE = (
    "note: this classifier scores features at the recorded level (no level_range_db): its "
    "speaker shares of peak-normalised clips are biased (FSDD's speakers were recorded ~20 dB "
    "apart); train one with --level_range_db 80"
)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("samples", help="folder of generated wavs (or with a wav/ subfolder)")
    parser.add_argument(
        "--real_fsdd_test",
        action="store_true",
        help="reference: the bundled FSDD test split as the SC09 recipe prepares it",
    )
    parser.add_argument("--real", action="append", default=[], help="reference folder (repeatable)")
    parser.add_argument("--classifier", help="classifier folder: adds the speaker shares")
    parser.add_argument("--json_out", help="write every figure to this JSON file")
    parser.add_argument("--sample_rate", type=int, default=16000)
    parser.add_argument("--seconds", type=float, default=1.0, help="clip length (pad / crop)")
    parser.add_argument(
        "--peak_level",
        type=float,
        default=RECIPE_PEAK_LEVEL,
        help="peak of the prepared references (the recipe's peak_level)",
    )
    parser.add_argument("--line_hz", type=float, default=4000.0, help="frequency of the line")
    parser.add_argument("--tail_margin_db", type=float, default=10.0)
    parser.add_argument("--max_speaker_share", type=float, default=0.30)
    parser.add_argument("--line_margin_db", type=float, default=3.0)
    parser.add_argument(
        "--click_margin",
        type=float,
        default=0.1,
        help="clicks per clip allowed above the reference's",
    )
    parser.add_argument("--device", help="classifier device (default: cuda when available)")
    return parser.parse_args(argv)


def read_folder(folder, sample_rate, num_samples):
    """[N, num_samples] waveforms of a folder of wavs (``folder/wav`` first), as recorded."""
    import torch

    from audiodiff.audio import pad_or_crop, read_audio
    from audiodiff.metrics.evaluator import sample_paths

    wavs = []
    for path in sample_paths(folder):
        wav, rate = read_audio(path)
        if rate != sample_rate:
            raise ValueError(
                f"{path} is at {rate} Hz, expected {sample_rate} Hz (pass --sample_rate {rate} "
                "or resample the folder)"
            )
        wavs.append(pad_or_crop(wav, num_samples))
    return torch.stack(wavs)


def prepared_reference(kind, folder, sample_rate, num_samples, peak_level, splits):
    """Waveforms of a dataset prepared as the SC09 recipe does (manifests + load_waveforms)."""
    import torch

    from audiodiff.data import prepare_fsdd, prepare_sc09
    from audiodiff.data.waveforms import load_waveforms

    prepare = prepare_fsdd if kind == "fsdd" else prepare_sc09
    with tempfile.TemporaryDirectory() as tmp:
        manifests = prepare(folder, tmp)
        wavs = [
            load_waveforms(
                manifests[split],
                sample_rate=sample_rate,
                num_samples=num_samples,
                progress=False,
                peak_level=peak_level,
            )["wav"]
            for split in splits
        ]
    return torch.cat(wavs)


def load_reference(folder, args, num_samples):
    """(name, waveforms) of a ``--real`` folder: Speech Commands layout prepared, else as is."""
    from audiodiff.data import DataFolderError
    from audiodiff.data.speech_commands import find_speech_commands

    try:
        find_speech_commands(folder)
    except DataFolderError:  # not a Speech Commands / SC09 layout: a plain folder of wavs
        return os.path.basename(os.path.normpath(folder)), read_folder(
            folder, args.sample_rate, num_samples
        )
    wavs = prepared_reference(
        "sc09", folder, args.sample_rate, num_samples, args.peak_level, ("train", "valid", "test")
    )
    return f"sc09:{os.path.basename(os.path.normpath(folder))}", wavs


def figures(wavs, sample_rate, line_hz, evaluator=None):
    """Every figure of one set of waveforms, JSON-ready."""
    from audiodiff.metrics import waveform_quality as wq

    counts, mean = wq.click_rate(wavs)
    out = {
        "num_clips": int(wavs.shape[0]),
        "tail_rms_db": wq.tail_rms_db(wavs, sample_rate, *SPAN),
        "rms_profile_db": wq.rms_profile_db(wavs, sample_rate, 0.1).tolist(),
        "spectral_line": wq.spectral_line_db(wavs, sample_rate, freq=line_hz),
        "clicks_per_clip": mean,
        "clips_with_click": float((counts > 0).double().mean()),
        "click_counts": counts.tolist(),
    }
    if evaluator is not None:
        features = evaluator.features_from_waveforms(list(wavs))
        out.update(evaluator.speaker_shares(evaluator.predict(features)))
    return out


def checks(samples, ref, ref_name, args):
    """The issue's checks: list of {name, passed, text}."""
    rows = []
    gap = samples["tail_rms_db"] - ref["tail_rms_db"]
    rows.append(
        (
            f"tail RMS {SPAN[0]}-{SPAN[1]} s at most {args.tail_margin_db:g} dB above {ref_name}",
            gap <= args.tail_margin_db,
            f"{samples['tail_rms_db']:.1f} dB vs {ref['tail_rms_db']:.1f} dB ({gap:+.1f} dB)",
        )
    )
    if "max_speaker_share" in samples:
        rows.append(
            (
                f"no speaker above {100 * args.max_speaker_share:g}% of the samples",
                samples["max_speaker_share"] <= args.max_speaker_share,
                f"largest {samples['max_speaker']} {100 * samples['max_speaker_share']:.1f}%"
                + (
                    f" ({ref_name}: {100 * ref['max_speaker_share']:.1f}%)"
                    if "max_speaker_share" in ref
                    else ""
                ),
            )
        )
    line, ref_line = samples["spectral_line"]["excess_db"], ref["spectral_line"]["excess_db"]
    rows.append(
        (
            f"{args.line_hz:g} Hz band at most {args.line_margin_db:g} dB above its neighbours",
            line <= args.line_margin_db,
            f"{line:+.2f} dB ({ref_name}: {ref_line:+.2f} dB)",
        )
    )
    clicks, ref_clicks = samples["clicks_per_clip"], ref["clicks_per_clip"]
    rows.append(
        (
            f"clicks per clip at most {ref_name}'s + {args.click_margin:g}",
            clicks <= ref_clicks + args.click_margin,
            f"{clicks:.3f} vs {ref_clicks:.3f}",
        )
    )
    return [{"name": n, "passed": bool(p), "text": t} for n, p, t in rows]


def format_report(results, check_rows):
    """A table (one column per set) and the check lines."""
    names = list(results)
    width = max(12, *(len(n) + 2 for n in names))
    rows = [("clips", [f"{r['num_clips']}" for r in results.values()])]
    rows.append(
        (f"RMS {SPAN[0]}-{SPAN[1]} s dB", [f"{r['tail_rms_db']:.1f}" for r in results.values()])
    )
    for i in range(len(next(iter(results.values()))["rms_profile_db"])):
        label = f"RMS {i / 10:.1f}-{(i + 1) / 10:.1f} s dB"
        rows.append((label, [f"{r['rms_profile_db'][i]:.1f}" for r in results.values()]))
    line_hz = next(iter(results.values()))["spectral_line"]["freq_hz"]
    rows.append(
        (
            f"{line_hz:g} Hz line dB",
            [f"{r['spectral_line']['excess_db']:+.2f}" for r in results.values()],
        )
    )
    rows.append(("clicks/clip", [f"{r['clicks_per_clip']:.3f}" for r in results.values()]))
    rows.append(
        ("clips w/ click", [f"{100 * r['clips_with_click']:.1f}%" for r in results.values()])
    )
    speakers = {s for r in results.values() for s in r.get("speaker_shares", {})}
    for speaker in sorted(speakers):
        rows.append(
            (
                f"speaker {speaker}",
                [
                    f"{100 * r['speaker_shares'][speaker]:.1f}%" if "speaker_shares" in r else "-"
                    for r in results.values()
                ],
            )
        )
    label_width = max(len(label) for label, _ in rows) + 2
    lines = [f"{'':<{label_width}}" + "".join(f"{n:>{width}}" for n in names)]
    lines += [
        f"{label:<{label_width}}" + "".join(f"{v:>{width}}" for v in values)
        for label, values in rows
    ]
    lines += [
        f"check {c['name']}: {c['text']}: {'yes' if c['passed'] else 'NO'}" for c in check_rows
    ]
    return "\n".join(lines)


def main(argv):
    args = parse_args(argv)
    from audiodiff.audio import AudioReadError
    from audiodiff.data import BUNDLED_FSDD, DataFolderError
    from audiodiff.metrics.evaluator import EvaluationError, SampleEvaluator

    num_samples = int(round(args.seconds * args.sample_rate))
    try:
        evaluator = None
        if args.classifier:
            evaluator = SampleEvaluator.from_experiment(args.classifier, device=args.device)
            if evaluator.sample_rate != args.sample_rate:
                raise EvaluationError(
                    f"the classifier works at {evaluator.sample_rate} Hz, the clips at "
                    f"{args.sample_rate} Hz"
                )
            if evaluator.level_range_db is None:
                print(LEVEL_NOTE, file=sys.stderr)
        sets = {"samples": read_folder(args.samples, args.sample_rate, num_samples)}
        if args.real_fsdd_test:
            sets["fsdd_test"] = prepared_reference(
                "fsdd", BUNDLED_FSDD, args.sample_rate, num_samples, args.peak_level, ("test",)
            )
        for folder in args.real:
            name, wavs = load_reference(folder, args, num_samples)
            sets[name if name not in sets else f"{name}_{len(sets)}"] = wavs
        results = {
            name: figures(wavs, args.sample_rate, args.line_hz, evaluator)
            for name, wavs in sets.items()
        }
    except (EvaluationError, AudioReadError, DataFolderError, ValueError) as err:
        sys.exit(f"error: {err}")
    references = [n for n in results if n != "samples"]
    check_rows = (
        checks(results["samples"], results[references[0]], references[0], args)
        if references
        else []
    )
    report = {
        "samples": os.path.abspath(args.samples),
        "classifier": args.classifier,
        "classifier_level_range_db": evaluator.level_range_db if evaluator else None,
        "settings": {
            "sample_rate": args.sample_rate,
            "seconds": args.seconds,
            "reference_peak_level": args.peak_level,
            "tail_span_s": list(SPAN),
            "line_hz": args.line_hz,
        },
        "results": results,
        "checked_against": references[0] if references else None,
        "checks": check_rows,
    }
    print(format_report(results, check_rows))
    if args.json_out:
        os.makedirs(os.path.dirname(os.path.abspath(args.json_out)), exist_ok=True)
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
