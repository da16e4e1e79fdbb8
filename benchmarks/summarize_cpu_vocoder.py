#!/usr/bin/env python3
"""Summarise a ``benchmarks/cpu_vocoder_compare.sh`` run: tables, the issue's ordering checks,
figures and listening examples.

Reads ``RUN/eval/<name>/eval.json`` (each vocoder, and ``griffinlim``), ``RUN/exp/<name>``
(training logs, the trained vocoders) and ``RUN/diagnostics/prior_diagnostics.json``.
Writes:

- ``RUN/summary.md``: training (steps, minutes, final losses, the fitted priors), the scores
  at 6 and 50 steps and of Griffin-Lim (all clips, and the clips vocoded at both step counts),
  per-clip wins, the ordering checks of issue 15 and the priors' diagnostics;
- ``RUN/spectrograms.jpg``: the mels of two clips, real and from every system;
- ``RUN/noise.jpg``: one clip's mel beside one draw of each prior's noise (and SpecGrad's
  whitened noise), on one dB scale;
- ``RUN/listen/<system>/<id>.flac``: the first ``--listen`` clips of every system (and the
  recordings, cut the same way).

Usage: python benchmarks/summarize_cpu_vocoder.py RUN [--names diffwave priorgrad specgrad]
"""

import argparse
import math
import os
import shutil
import sys

import soundfile
from vocoder_tables import load_json, training_info

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

COLUMNS = ("mrstft", "mel_l1", "lsd", "pesq", "stoi")
LOWER_IS_BETTER = {"mrstft": True, "mel_l1": True, "lsd": True, "pesq": False, "stoi": False}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("run", help="the OUT_DIR of cpu_vocoder_compare.sh")
    parser.add_argument("--names", nargs="+", default=["diffwave", "priorgrad", "specgrad"])
    parser.add_argument("--listen", type=int, default=6, help="examples per system")
    parser.add_argument("--plot_clips", type=int, default=2)
    return parser.parse_args(argv)


def mean_over(entry, ids, key):
    """Mean of ``key`` over the per-clip scores of ``ids`` (NaN-free clips only)."""
    values = [c["scores"][key] for c in entry["per_clip"] if c["id"] in ids]
    values = [v for v in values if v == v]
    return sum(values) / len(values) if values else float("nan")


def score_table(systems, ids, title):
    """Markdown rows: each system's mean scores over ``ids`` (and its CPU RTF)."""
    lines = [f"{title}", "", "| system | clips | " + " | ".join(COLUMNS) + " | RTF (CPU) |"]
    lines.append("|---" * (len(COLUMNS) + 3) + "|")
    for system, entry in systems.items():
        have = [c["id"] for c in entry["per_clip"] if c["id"] in ids]
        if len(have) < len(ids):
            continue
        cells = [f"{mean_over(entry, ids, k):.3f}" for k in COLUMNS]
        lines.append(
            f"| {system} | {len(have)} | "
            + " | ".join(cells)
            + f" | {entry['rtf_batch1_eager']:.2f} |"
        )
    return lines


def wins(a, b, key, ids):
    """Clips (of ``ids``) on which system ``a`` scores better than ``b`` on ``key``."""
    sa = {c["id"]: c["scores"][key] for c in a["per_clip"]}
    sb = {c["id"]: c["scores"][key] for c in b["per_clip"]}
    lower = LOWER_IS_BETTER[key]
    return sum(1 for i in ids if i in sa and i in sb and (sa[i] < sb[i]) == lower)


def ordering_checks(systems, names, ids):
    """The issue's goals at 6 steps: SpecGrad <= PriorGrad <= DiffWave on MR-STFT and LSD;
    every model better than Griffin-Lim on PESQ and MR-STFT. Returns markdown lines."""
    lines = []
    s = {n: systems.get(f"{n}_6") for n in names}
    gl = systems.get("griffinlim")
    if all(s.get(n) for n in ("specgrad", "priorgrad", "diffwave")):
        for key in ("mrstft", "lsd"):
            v = {n: mean_over(s[n], ids, key) for n in ("specgrad", "priorgrad", "diffwave")}
            ok = v["specgrad"] <= v["priorgrad"] <= v["diffwave"]
            lines.append(
                f"- SpecGrad <= PriorGrad <= DiffWave on {key} at 6 steps: "
                f"{'yes' if ok else 'no'} ({v['specgrad']:.3f}, {v['priorgrad']:.3f}, "
                f"{v['diffwave']:.3f}; per clip SpecGrad better than PriorGrad on "
                f"{wins(s['specgrad'], s['priorgrad'], key, ids)}/{len(ids)}, PriorGrad "
                f"better than DiffWave on {wins(s['priorgrad'], s['diffwave'], key, ids)}/"
                f"{len(ids)})"
            )
    if gl:
        for n in names:
            if not s.get(n):
                continue
            for key in ("pesq", "mrstft"):
                ours, theirs = mean_over(s[n], ids, key), mean_over(gl, ids, key)
                better = ours < theirs if LOWER_IS_BETTER[key] else ours > theirs
                lines.append(
                    f"- {n} (6 steps) better than Griffin-Lim on {key}: "
                    f"{'yes' if better else 'no'} ({ours:.3f} vs {theirs:.3f}; per clip "
                    f"{wins(s[n], gl, key, ids)}/{len(ids)})"
                )
    return lines


def diagnostics_lines(diag):
    if not diag:
        return ["(no diagnostics: the stage failed or did not run)"]
    lines = [
        f"alpha_bar_T {diag['alpha_bar_T']:.3f}; the 6-step schedule starts at gamma "
        f"{diag['gamma_fast_start']:.3f}. Means over {len(diag['clips'])} held-out clips:",
        "",
        "| prior | residual at T, plain (dB) | residual at T, whitened (dB) | residual at the "
        "6-step start, whitened (dB) | whitening error (W L z vs z, relative) | std of W eps | "
        "noise over speech per frame, median (dB) | noise gain spread, p99 / p1 (dB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, m in diag["mean"].items():
        lines.append(
            f"| {name} | {m['residual_T_plain_db']:.1f} | {m['residual_T_white_db']:.1f} | "
            f"{m['residual_fast_white_db']:.1f} | {m['inverse_error']:.3f} | "
            f"{m['whitened_std']:.3f} | {-m['speech_to_noise_db']:.1f} | "
            f"{m.get('gain_range_db', float('nan')):.1f} |"
        )
    loss = diag.get("per_step_loss")
    if loss:
        steps_t = list(next(iter(loss.values()))["model"])
        lines += [
            "",
            "Whitened loss per step t on crops of the test clips: the trained network, and "
            "(x0 = 0) the predictor that ignores the speech:",
            "",
            "| prior | " + " | ".join(f"t = {t}" for t in steps_t) + " |",
            "|---" * (len(steps_t) + 1) + "|",
        ]
        for name, entry in loss.items():
            for kind in ("model", "x0_zero"):
                cells = " | ".join(f"{entry[kind][t]:.3f}" for t in steps_t)
                lines.append(f"| {name} ({'network' if kind == 'model' else 'x0 = 0'}) | {cells} |")
    return lines


def figures(run, names, systems, clip_ids):
    """spectrograms.jpg (real vs every system, two clips) and noise.jpg (the priors' noise)."""
    from vocoder_eval import noise_figure

    from audiodiff.audio import amplitude_to_db, plot_spectrograms, read_audio
    from audiodiff.inference import DiffusionVocoder

    vocoders = {}
    for name in names:
        try:
            vocoders[name] = DiffusionVocoder.from_hparams(
                os.path.join(run, "exp", name), device="cpu"
            )
        except (FileNotFoundError, OSError) as err:
            print(f"warning: {name}: {err}", file=sys.stderr)
    if not vocoders:
        return
    mel = next(iter(vocoders.values())).mel
    order = ["reference"] + [s for s in systems if s.endswith("_6")]
    order += [s for s in systems if s.endswith("_50")] + ["griffinlim"]
    panels, titles, mels = [], [], {}
    for utt_id in clip_ids:
        for system in order:
            folder = "reference" if system == "reference" else system
            path = find_wav(run, folder, utt_id)
            if path is None:
                continue
            wav, _ = read_audio(path)
            spec = amplitude_to_db(mel(wav))[0]
            mels.setdefault(utt_id, spec if system == "reference" else mels.get(utt_id))
            panels.append(spec)
            titles.append(f"{utt_id} {system}")
    ncols = sum(1 for s in order if find_wav(run, s, clip_ids[0]) is not None)
    plot_spectrograms(
        panels, os.path.join(run, "spectrograms.jpg"), titles, ncols, vmin=-80, vmax=10
    )
    first = clip_ids[0]
    if mels.get(first) is not None:
        noise_figure(os.path.join(run, "noise.jpg"), vocoders, mels[first], mel.sample_rate, mel)


def find_wav(run, system, utt_id):
    """The wav of ``system`` for ``utt_id`` in any eval folder of the run (None if absent)."""
    root = os.path.join(run, "eval")
    for sub in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        path = os.path.join(root, sub, "wavs", system, f"{utt_id}.wav")
        if os.path.isfile(path):
            return path
    return None


def level_table(run, systems, clip_ids):
    """Markdown rows: each system's output level against the recording (dB, mean over clips
    of 10 log10(sum gen^2 / sum ref^2)) and in the recording's silent frames (the frames 40 dB
    or more below its loudest; dB against the recording's loudest frame)."""
    from audiodiff.audio import read_audio

    hop = 256
    lines = [
        "| system | output level re recording (dB) | output in the recording's pauses, "
        "re its loudest frame (dB) |",
        "|---|---|---|",
    ]
    for system in systems:
        level, pauses = [], []
        for utt_id in clip_ids:
            gen_path, ref_path = find_wav(run, system, utt_id), find_wav(run, "reference", utt_id)
            if gen_path is None or ref_path is None:
                continue
            gen, _ = read_audio(gen_path)
            ref, _ = read_audio(ref_path)
            n = min(len(gen), len(ref)) // hop * hop
            gen, ref = gen[:n].double(), ref[:n].double()
            level.append(10 * math.log10(float(gen.pow(2).sum()) / float(ref.pow(2).sum())))
            ref_frames = ref.reshape(-1, hop).pow(2).mean(dim=1)
            gen_frames = gen.reshape(-1, hop).pow(2).mean(dim=1)
            quiet = ref_frames < ref_frames.max() * 1e-4
            if bool(quiet.any()):
                pauses.append(
                    10 * math.log10(float(gen_frames[quiet].mean()) / float(ref_frames.max()))
                )
        if level:
            pause = f"{sum(pauses) / len(pauses):.1f}" if pauses else "-"
            lines.append(f"| {system} | {sum(level) / len(level):+.1f} | {pause} |")
    return lines


def listening_examples(run, systems, clip_ids):
    """FLAC copies of the first clips of every system and of the recordings; total bytes."""
    from audiodiff.audio import read_audio

    target = os.path.join(run, "listen")
    shutil.rmtree(target, ignore_errors=True)
    total = 0
    for system in ["reference", *systems]:
        for utt_id in clip_ids:
            path = find_wav(run, system, utt_id)
            if path is None:
                continue
            wav, rate = read_audio(path)
            out = os.path.join(target, system, f"{utt_id}.flac")
            os.makedirs(os.path.dirname(out), exist_ok=True)
            soundfile.write(out, wav.numpy(), rate, subtype="PCM_16")
            total += os.path.getsize(out)
    return total


def main(argv):
    args = parse_args(argv)
    run = args.run
    systems, clips, device = {}, None, None
    for name in [*args.names, "griffinlim"]:
        entry = load_json(os.path.join(run, "eval", name, "eval.json"))
        if entry is None:
            print(f"warning: no eval.json for {name}", file=sys.stderr)
            continue
        clips = clips or entry["clips"]
        device = device or entry
        systems.update(entry["systems"])
    if not systems:
        sys.exit(f"error: no eval.json under {run}/eval")
    all_ids = [c["id"] for c in next(iter(systems.values()))["per_clip"]]
    sub_ids = [c["id"] for c in systems.get(f"{args.names[0]}_50", {"per_clip": []})["per_clip"]]
    lines = [
        "## Training (CPU-scale: the same backbone, steps, crops and seed)",
        "",
    ]
    for name in args.names:
        info = training_info(os.path.join(run, "exp", name))
        lines.append(f"- {name}: " + ("; ".join(f"{k} {v}" for k, v in info.items()) or "-"))
    seconds = device.get("clip_seconds")
    lines += [
        "",
        f"## Held-out clips ({len(all_ids)}: {all_ids[0]} .. {all_ids[-1]}, first "
        f"{seconds} s of each; CPU, batch 1, {device.get('threads')} thread)",
        "",
    ]
    lines += score_table(
        {k: v for k, v in systems.items() if not k.endswith("_50")}, all_ids, "6 steps, all clips:"
    )
    if sub_ids:
        lines += [""] + score_table(
            systems, sub_ids, f"The {len(sub_ids)} clips vocoded at 6 and 50 steps:"
        )
    lines += ["", "Output levels (6 steps, all clips; the reference = 0 dB):", ""]
    lines += level_table(
        run, ["reference", *[s for s in systems if not s.endswith("_50")]], all_ids
    )
    lines += ["", "## Ordering checks (issue 15 goals, at 6 steps, all clips)", ""]
    lines += ordering_checks(systems, args.names, all_ids)
    lines += ["", "## The priors", ""]
    diag = load_json(os.path.join(run, "diagnostics", "prior_diagnostics.json"))
    lines += diagnostics_lines(diag)
    figures(run, args.names, systems, all_ids[: args.plot_clips])
    diag_plot = os.path.join(run, "diagnostics", "prior_levels.jpg")
    if os.path.isfile(diag_plot):
        shutil.copy(diag_plot, os.path.join(run, "prior_levels.jpg"))
    size = listening_examples(
        run, [s for s in systems if not s.endswith("_50")], all_ids[: args.listen]
    )
    lines += ["", f"Listening examples: {run}/listen ({size / 1e6:.2f} MB as 16-bit FLAC)."]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(run, "summary.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
