#!/usr/bin/env python3
"""Vocode the held-out LJSpeech clips with trained diffusion vocoders and Griffin-Lim; score.

For every ``--exp NAME=DIR`` (a recipes/LJSpeech/vocoder experiment) and every ``--steps``
(6: DiffWave's fast schedule; 50: the full training chain), each test clip (the recipe's
split: the last ``--held_out_last`` ids) is vocoded at batch 1 from its own mel (the
vocoder's front-end, the same for every system), written as ``OUT/wavs/NAME_STEPS/ID.wav``,
and scored against the recording: MR-STFT, mel L1, log-spectral distance
(``audiodiff.metrics.vocoder``; PESQ and STOI afterwards on a CPU with
``benchmarks/score_vocoder_outputs.py``). Griffin-Lim (``GriffinLimVocoder``, the project's
default inversion, same mel) is scored the same way (``OUT/wavs/griffinlim``).

Writes ``OUT/eval.json`` (means and per-clip scores, seconds of compute per system),
``OUT/spectrograms.png`` (real vs every system, two clips) and ``OUT/noise.png`` (one clip's
mel beside the noise each prior draws for it, and the whitened SpecGrad noise).

On a CPU (``benchmarks/cpu_vocoder_compare.sh``): ``--clip_seconds`` vocodes the first
seconds of each clip only (``OUT/wavs/reference`` holds the recordings cut the same way),
``--clips_at 50=5`` the first 5 clips only at 50 steps, ``--with_pesq`` adds PESQ (wb) and
STOI in the same pass, ``--no_griffin_lim`` leaves Griffin-Lim to another run, and
``--figure_format jpg`` writes the figures as JPEG.

Usage
-----
python benchmarks/vocoder_eval.py --data_folder .gpu_data/vocoder/LJSpeech-1.1 \
    --exp diffwave=results/dw --exp priorgrad=results/pg --exp specgrad=results/sg --out OUT
"""

import argparse
import json
import os
import sys
import tempfile
import time

import torch

from audiodiff.audio import (
    GriffinLimVocoder,
    amplitude_to_db,
    plot_spectrograms,
    read_audio,
    write_audio,
)
from audiodiff.data import load_utterances, prepare_ljspeech
from audiodiff.diffusion import SpecGradPrior
from audiodiff.inference import DiffusionVocoder
from audiodiff.metrics.speed import synchronize
from audiodiff.metrics.vocoder import vocoder_metrics

NO_PESQ = dict(with_pesq=False, with_stoi=False)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--exp", action="append", default=[], help="NAME=DIR, repeatable")
    parser.add_argument("--data_folder", required=True, help="the LJSpeech-1.1 folder")
    parser.add_argument("--held_out_last", type=int, default=20)
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, nargs="*", default=[6, 50])
    parser.add_argument("--max_clips", type=int, help="only the first N test clips")
    parser.add_argument("--griffin_lim_iters", type=int, default=64)
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--plot_clips", type=int, default=2)
    parser.add_argument("--clip_seconds", type=float, help="vocode each clip's first seconds")
    parser.add_argument(
        "--clips_at", action="append", default=[], help="STEPS=N: only N clips at STEPS steps"
    )
    parser.add_argument("--with_pesq", action="store_true", help="PESQ (wb) and STOI too")
    parser.add_argument("--no_griffin_lim", action="store_true")
    parser.add_argument("--figure_format", choices=("png", "jpg"), default="png")
    return parser.parse_args(argv)


def clips_at(specs):
    """``["50=5"]`` -> ``{50: 5}`` (the number of clips vocoded at a step count).

    Example
    -------
    >>> clips_at(["50=5", "6=20"])
    {50: 5, 6: 20}
    """
    out = {}
    for spec in specs:
        steps, _, num = spec.partition("=")
        try:
            out[int(steps)] = int(num)
        except ValueError:
            sys.exit(f"error: --clips_at expects STEPS=N, got {spec!r}")
    return out


def cut(clips, seconds, sample_rate, hop_length):
    """Each (id, wav, mel_db) cut to its first ``seconds`` (whole frames); None: unchanged."""
    if seconds is None:
        return clips
    frames = max(1, int(seconds * sample_rate) // hop_length)
    return [(i, w[: frames * hop_length], m[:, :frames]) for i, w, m in clips]


def mean_scores(per_clip):
    keys = per_clip[0]["scores"].keys()
    return {k: sum(c["scores"][k] for c in per_clip) / len(per_clip) for k in keys}


def run_system(name, synth, clips, out, sample_rate, device, metrics=NO_PESQ):
    """Vocode every clip with ``synth(mel_db) -> wav``; write, score, time."""
    folder = os.path.join(out, "wavs", name)
    per_clip, compute_s, audio_s = [], 0.0, 0.0
    for utt_id, wav, mel_db in clips:
        synchronize(device)
        start = time.perf_counter()
        gen = synth(mel_db.to(device)[None])[0]
        synchronize(device)
        compute_s += time.perf_counter() - start
        gen = gen[: wav.shape[-1]].float().cpu()
        audio_s += wav.shape[-1] / sample_rate
        path = os.path.join(folder, f"{utt_id}.wav")
        write_audio(path, gen, sample_rate)
        gen, _ = read_audio(path)  # score the 16-bit file, as the CPU scorer will (LSD is
        # sensitive to the quantisation floor in near-silent frames)
        scores = vocoder_metrics(wav[: gen.shape[-1]], gen, sample_rate, **metrics)
        per_clip.append({"id": utt_id, "scores": scores})
    result = {
        "mean": mean_scores(per_clip),
        "per_clip": per_clip,
        "compute_s": compute_s,
        "audio_s": audio_s,
        "rtf_batch1_eager": compute_s / audio_s,
    }
    print(
        f"{name:>16}: "
        + ", ".join(f"{k} {v:.4f}" for k, v in result["mean"].items())
        + f" | RTF {result['rtf_batch1_eager']:.4f} (batch 1, eager, {len(clips)} clips)",
        flush=True,
    )
    return result


def noise_figure(path, vocoders, mel_db, sample_rate, mel):
    """The mel of a clip beside a draw of each prior's noise for it (and SpecGrad's whitened
    noise), on one dB colour scale."""
    panels, titles = [mel_db.cpu()], ["speech (real)"]
    length = mel_db.shape[-1] * mel.hop_length
    for name, vocoder in vocoders.items():
        prior = vocoder.prior
        noise = prior.condition(mel_db[None].to(vocoder.device))
        like = torch.zeros(1, 1, length, device=vocoder.device)
        draw = noise.sample(like, torch.Generator(device=vocoder.device).manual_seed(0))
        panels.append(amplitude_to_db(mel.to(draw.device)(draw[0, 0]))[0].cpu())
        titles.append(f"{name}: {type(prior).__name__} noise")
        if isinstance(prior, SpecGradPrior):
            white = noise.whiten(draw)
            panels.append(amplitude_to_db(mel.to(draw.device)(white[0, 0]))[0].cpu())
            titles.append(f"{name}: whitened noise")
    plot_spectrograms(panels, path, titles, ncols=2, vmin=-80.0, vmax=20.0)


def main(argv):
    args = parse_args(argv)
    if not args.exp:
        sys.exit("error: give at least one --exp NAME=DIR")
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    os.makedirs(args.out, exist_ok=True)
    vocoders = {}
    for spec in args.exp:
        name, _, folder = spec.partition("=")
        try:
            vocoders[name] = DiffusionVocoder.from_hparams(folder, device=str(device))
        except FileNotFoundError as err:
            print(f"warning: {name}: {err}", file=sys.stderr)
    if not vocoders:
        sys.exit("error: no vocoder could be loaded")
    first = next(iter(vocoders.values()))
    for name, vocoder in vocoders.items():
        vocoder.check_mel_settings(first.mel_settings, what=f"{name}'s front-end")
    sample_rate, mel = first.sample_rate, first.mel
    manifests = prepare_ljspeech(
        args.data_folder,
        tempfile.mkdtemp(),
        phonemes=False,
        held_out_last=args.held_out_last,
    )
    test = load_utterances(manifests["test"], mel, sample_rate, max_items=args.max_clips)
    clips = list(zip(test["ids"], test["wav"], test["mel_db"]))
    clips = cut(clips, args.clip_seconds, sample_rate, mel.hop_length)
    for utt_id, wav, _ in clips:
        write_audio(os.path.join(args.out, "wavs", "reference", f"{utt_id}.wav"), wav, sample_rate)
    print(f"{len(clips)} test clips, {test['ids'][0]} .. {test['ids'][-1]}", flush=True)
    metrics = dict(with_pesq=True, with_stoi=True) if args.with_pesq else NO_PESQ
    limits = clips_at(args.clips_at)

    results = {
        "clips": test["ids"],
        "device": str(device),
        "clip_seconds": args.clip_seconds,
        "threads": torch.get_num_threads(),
        "systems": {},
        "priors": {},
    }
    if device.type == "cuda":
        results["gpu"] = torch.cuda.get_device_name()
    for name, vocoder in vocoders.items():
        results["priors"][name] = repr(vocoder.prior)
        for steps in args.steps:
            system = f"{name}_{steps}"
            results["systems"][system] = run_system(
                system,
                lambda m, v=vocoder, s=steps: v.vocode(m, steps=s),
                clips[: limits.get(steps, len(clips))],
                args.out,
                sample_rate,
                device,
                metrics,
            )
    if not args.no_griffin_lim:
        griffin_lim(args, results, clips, mel, sample_rate, device, metrics)
    with open(os.path.join(args.out, "eval.json"), "w") as f:
        json.dump(results, f, indent=1)
    figures(args, vocoders, clips, mel, sample_rate)
    print(f"wrote {args.out}/eval.json, figures, wavs/", flush=True)


def griffin_lim(args, results, clips, mel, sample_rate, device, metrics):
    """Griffin-Lim (the project's default inversion) on the same mels, scored the same way."""
    griffin_lim = GriffinLimVocoder(
        sample_rate=sample_rate,
        n_fft=mel.n_fft,
        hop_length=mel.hop_length,
        n_mels=mel.n_mels,
        f_min=mel.f_min,
        f_max=mel.f_max,
        n_iter=args.griffin_lim_iters,
    ).to(device)
    torch.manual_seed(0)
    results["systems"]["griffinlim"] = run_system(
        "griffinlim", griffin_lim, clips, args.out, sample_rate, device, metrics
    )


def figures(args, vocoders, clips, mel, sample_rate):
    """Real vs every system (first step count and Griffin-Lim), and the priors' noise."""
    panels, titles = [], []
    systems = [f"{n}_{args.steps[0]}" for n in vocoders] if args.steps else []
    systems += [] if args.no_griffin_lim else ["griffinlim"]
    for utt_id, _, mel_db in clips[: args.plot_clips]:
        panels.append(mel_db)
        titles.append(f"{utt_id} real")
        for system in systems:
            gen, _ = read_audio(os.path.join(args.out, "wavs", system, f"{utt_id}.wav"))
            panels.append(amplitude_to_db(mel.cpu()(gen))[0])
            titles.append(f"{utt_id} {system}")
    ext = args.figure_format
    path = os.path.join(args.out, f"spectrograms.{ext}")
    plot_spectrograms(panels, path, titles, len(systems) + 1, vmin=-80, vmax=10)
    if args.steps:
        noise_figure(
            os.path.join(args.out, f"noise.{ext}"), vocoders, clips[0][2], sample_rate, mel
        )


if __name__ == "__main__":
    main(sys.argv[1:])
