#!/usr/bin/env python3
"""What each trained vocoder's noise prior does on the held-out LJSpeech clips (CPU, seconds).

For every ``--exp NAME=DIR`` (the prior fitted in that experiment, from its checkpoint) and
every test clip (x0 = the recording, its own mel conditioning the prior), with eps a draw of
the prior and W its whitening (``noise.whiten``):

- residual signal at the first sampling step: a sampler starts from x ~ N(0, Sigma), while
  training saw x_t = sqrt(a) x0 + sqrt(1 - a) eps there. With a = alpha_bar_T (the 50-step
  chain) and a = gamma_S (the start of the 6-step fast schedule), the share of x_t that the
  start leaves out, ``10 log10(a ||x0||^2 / ((1 - a) ||eps||^2))`` (plain) and the same after
  W (whitened: what the loss and the network's likelihood see);
- the whitening's inverse error ``||W(eps) - z|| / ||z||`` (eps = L z; 0 for an exact
  inverse, SpecGrad's G^+ M^-1 G is approximate) and the std of W(eps) (1 when exact);
- speech-to-noise per frame: 20 log10 of the recording's frame RMS over the noise's (median
  and 10th / 90th percentiles over the frames within 40 dB of the clip's loudest);
- the spread of the noise gain, 20 log10 of its 99th over its 1st percentile (SpecGrad: |M|
  over bins and frames; PriorGrad: the per-frame std): the loss weights 1 / gain^2 spread
  twice as much in dB, a measure of how ill-conditioned the whitened loss is;
- PriorGrad only: the share of frames whose std sits at its floor ``std_min``.

With ``--per_step_loss``, the whitened loss E ||W (eps_hat - eps)||^2 / dim of each trained
network on crops of the test clips (the first ``--crops``, 32 frames from frame 100) at
several steps t, beside that of the predictor that ignores the speech (x0 = 0: eps_hat =
x_t / sqrt(1 - alpha_bar_t)); a network above that line at large t has not yet learnt the
noise it is given.

Writes ``OUT/prior_diagnostics.json`` and ``OUT/prior_levels.jpg`` (one clip: the frame RMS
of speech and of each prior's noise, in dB, over time). Prints a markdown table.

Usage
-----
python benchmarks/vocoder_prior_diagnostics.py --data_folder /path/to/LJSpeech-1.1 \
    --exp diffwave=DIR1 --exp priorgrad=DIR2 --exp specgrad=DIR3 --out OUT
"""

import argparse
import json
import os
import sys
import tempfile

import torch

from audiodiff.data import load_utterances, prepare_ljspeech
from audiodiff.diffusion import PriorGradPrior
from audiodiff.diffusion.samplers.fast_schedule import align_noise_levels
from audiodiff.inference import DiffusionVocoder

COLUMNS = (
    ("residual_T_plain_db", "residual at T, plain (dB)"),
    ("residual_T_white_db", "residual at T, whitened (dB)"),
    ("residual_fast_white_db", "residual at fast start, whitened (dB)"),
    ("inverse_error", "W L z vs z (rel. error)"),
    ("whitened_std", "std of W eps"),
    ("speech_to_noise_db", "speech / noise per frame (dB, median)"),
    ("gain_range_db", "noise gain spread, p99 / p1 (dB)"),
)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--exp", action="append", default=[], help="NAME=DIR, repeatable")
    parser.add_argument("--data_folder", required=True, help="the LJSpeech-1.1 folder")
    parser.add_argument("--held_out_last", type=int, default=20)
    parser.add_argument("--max_clips", type=int, help="only the first N test clips")
    parser.add_argument("--fast_schedule", default="diffwave6")
    parser.add_argument("--out", required=True)
    parser.add_argument("--per_step_loss", action="store_true")
    parser.add_argument("--crops", type=int, default=8)
    parser.add_argument("--steps_t", type=int, nargs="+", default=[0, 5, 10, 20, 30, 40, 49])
    return parser.parse_args(argv)


@torch.no_grad()
def per_step_loss(vocoder, test, steps_t, num_crops, frames=32, start=100):
    """Whitened loss per t of the network and of the x0 = 0 predictor on test-clip crops."""
    from audiodiff.training.vocoding import conditioning_mel, prior_parameterized

    hop = vocoder.mel.hop_length
    crops = [
        (w[start * hop : (start + frames) * hop], m[:, start : start + frames])
        for w, m in zip(test["wav"], test["mel_db"])
        if m.shape[-1] >= start + frames
    ][:num_crops]
    x0 = torch.stack([c[0] for c in crops])[:, None]
    mel_db = torch.stack([c[1] for c in crops])
    noise = vocoder.prior.condition(mel_db)
    eps = noise.sample(x0, torch.Generator().manual_seed(0))
    cond = conditioning_mel(mel_db, vocoder.mel_offset_db, vocoder.mel_scale_db)
    network = prior_parameterized(vocoder.model, noise, vocoder.prediction, vocoder.precondition)
    model, trivial = {}, {}
    for t in steps_t:
        ab = vocoder.schedule.alpha_bar[t]
        x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
        out = network(x_t, torch.full((len(x0),), t), mel=cond)
        model[t] = float(noise.whiten(out - eps).pow(2).mean())
        trivial[t] = float(noise.whiten(x_t / (1 - ab).sqrt() - eps).pow(2).mean())
    return {"model": model, "x0_zero": trivial, "crops": len(crops)}


def ratio_db(a, x0, eps):
    """10 log10(a ||x0||^2 / ((1 - a) ||eps||^2)): the start's missing share of x_t."""
    return float(10 * torch.log10(a * x0.pow(2).sum() / ((1 - a) * eps.pow(2).sum())))


def frame_rms_db(x, hop):
    """20 log10 of the RMS of each hop-long frame of x [samples]."""
    frames = x[: x.shape[-1] // hop * hop].reshape(-1, hop)
    return 20 * torch.log10(frames.pow(2).mean(dim=1).sqrt().clamp(min=1e-8))


def shaped(noise, z):
    """eps = L z for white z: SpecGrad's filter, PriorGrad's per-frame std, or z itself."""
    if hasattr(noise, "shape"):  # FilteredNoise
        return noise.shape(z)
    if hasattr(noise, "std_like"):  # DiagonalNoise
        return noise.std_like(z) * z
    return z  # StandardGaussianPrior


def diagnose(vocoder, wav, mel_db, a_T, a_fast, generator):
    """The diagnostics of one prior on one clip (see the module docstring)."""
    hop = vocoder.mel.hop_length
    x0 = wav[: mel_db.shape[-1] * hop][None, None].double()
    x0 = torch.nn.functional.pad(x0, (0, mel_db.shape[-1] * hop - x0.shape[-1]))
    noise = vocoder.prior.condition(mel_db[None])
    z = torch.randn(x0.shape, generator=generator, dtype=torch.float64)
    eps = shaped(noise, z)
    white_x0, white_eps = noise.whiten(x0), noise.whiten(eps)
    speech_db, noise_db = frame_rms_db(x0[0, 0], hop), frame_rms_db(eps[0, 0], hop)
    loud = speech_db > speech_db.max() - 40
    snr = (speech_db - noise_db)[loud]
    out = {
        "residual_T_plain_db": ratio_db(a_T, x0, eps),
        "residual_T_white_db": ratio_db(a_T, white_x0, white_eps),
        "residual_fast_plain_db": ratio_db(a_fast, x0, eps),
        "residual_fast_white_db": ratio_db(a_fast, white_x0, white_eps),
        "inverse_error": float((white_eps - z).norm() / z.norm()),
        "whitened_std": float(white_eps.std()),
        "speech_to_noise_db": float(snr.median()),
        "speech_to_noise_p10_db": float(snr.quantile(0.1)),
        "speech_to_noise_p90_db": float(snr.quantile(0.9)),
    }
    # the spread of the noise gain (and of the loss weights 1 / gain^2, the inverse):
    # 20 log10(99th / 1st percentile) of |M| over the STFT bins and frames (SpecGrad), of the
    # per-frame std (PriorGrad); 0 dB for N(0, I)
    if hasattr(noise, "filter"):
        gain = noise.filter.abs().flatten()
    elif hasattr(noise, "std"):
        gain = noise.std.flatten()
    else:
        gain = torch.ones(1)
    gain = gain.double()
    out["gain_range_db"] = float(20 * torch.log10(gain.quantile(0.99) / gain.quantile(0.01)))
    if isinstance(vocoder.prior, PriorGradPrior):
        std = vocoder.prior.frame_std(mel_db[None])
        out["std_at_floor"] = float((std <= vocoder.prior.std_min * (1 + 1e-6)).float().mean())
        out["std_max"] = float(std.max())
    return out, speech_db, noise_db


def levels_figure(path, speech_db, noise_dbs, hop, sample_rate, title):
    """Frame RMS (dB) over time of a clip and of each prior's noise for it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seconds = torch.arange(len(speech_db)) * hop / sample_rate
    fig, ax = plt.subplots(figsize=(10, 3.6))
    ax.plot(seconds, speech_db, color="black", lw=1.2, label="speech (recording)")
    for name, level in noise_dbs.items():
        ax.plot(seconds, level, lw=0.9, label=f"{name} noise")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frame RMS (dB)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv):
    args = parse_args(argv)
    if not args.exp:
        sys.exit("error: give at least one --exp NAME=DIR")
    vocoders = {}
    for spec in args.exp:
        name, _, folder = spec.partition("=")
        try:
            vocoders[name] = DiffusionVocoder.from_hparams(folder, device="cpu")
        except FileNotFoundError as err:
            sys.exit(f"error: {name}: {err}")
    first = next(iter(vocoders.values()))
    manifests = prepare_ljspeech(
        args.data_folder, tempfile.mkdtemp(), phonemes=False, held_out_last=args.held_out_last
    )
    test = load_utterances(
        manifests["test"], first.mel, first.sample_rate, max_items=args.max_clips
    )
    os.makedirs(args.out, exist_ok=True)
    results = {"clips": test["ids"], "priors": {}, "per_clip": {}, "mean": {}}
    plot = {}
    for name, vocoder in vocoders.items():
        schedule = vocoder.schedule
        a_T = float(schedule.alpha_bar[-1])
        a_fast = float(align_noise_levels(schedule, args.fast_schedule, clamp=True)[1][-1])
        results["priors"][name] = repr(vocoder.prior)
        results["alpha_bar_T"], results["gamma_fast_start"] = a_T, a_fast
        rows = []
        for i, (wav, mel_db) in enumerate(zip(test["wav"], test["mel_db"])):
            generator = torch.Generator().manual_seed(i)
            row, speech_db, noise_db = diagnose(vocoder, wav, mel_db, a_T, a_fast, generator)
            rows.append(row)
            if i == 0:
                plot["speech"], plot[name] = speech_db, noise_db
        results["per_clip"][name] = rows
        results["mean"][name] = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}
        if args.per_step_loss:
            results.setdefault("per_step_loss", {})[name] = per_step_loss(
                vocoder, test, args.steps_t, args.crops
            )
    with open(os.path.join(args.out, "prior_diagnostics.json"), "w") as f:
        json.dump(results, f, indent=1)
    levels_figure(
        os.path.join(args.out, "prior_levels.jpg"),
        plot.pop("speech"),
        plot,
        first.mel.hop_length,
        first.sample_rate,
        f"{test['ids'][0]}: frame RMS of the recording and of one draw of each prior's noise",
    )
    print(
        f"{len(test['ids'])} clips; alpha_bar_T {results['alpha_bar_T']:.3f}, fast-schedule "
        f"start gamma {results['gamma_fast_start']:.3f}"
    )
    print("| prior | " + " | ".join(title for _, title in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for name, mean in results["mean"].items():
        print(f"| {name} | " + " | ".join(f"{mean[k]:.3f}" for k, _ in COLUMNS) + " |")
    for name, loss in results.get("per_step_loss", {}).items():
        for kind in ("model", "x0_zero"):
            print(f"{name} {kind}: " + ", ".join(f"t={t} {v:.3f}" for t, v in loss[kind].items()))


if __name__ == "__main__":
    main(sys.argv[1:])
