#!/usr/bin/env python3
"""Sampling time per sample: latent diffusion against spectrogram-space diffusion.

Loads a trained latent experiment (``SpectrogramGenerator``: U-Net + autoencoder) and builds
the spectrogram-space U-Net at the GPU size of ``benchmarks/gpu_audiomnist_run.sh``
(``OURS`` of ``bench_spectrogram_speed.py``; untrained: weights do not change speed). Both
sample digit-conditioned batches with the same sampler, steps and guidance (DPM-Solver++,
20 steps, guidance 2.0 by default; bf16 autocast on GPU), timed with CUDA synchronisation,
warm-up runs excluded (median of ``--repeats``). The latent model's time includes decoding
the latents to mels; Griffin-Lim (the same for both) is timed separately.

Usage: python benchmarks/bench_latent_speed.py EXP [--batch 100 500] [--json out.json]
"""

import argparse
import json

import torch
from bench_spectrogram_speed import AUDIO_SECONDS, FRAMES, N_MELS, OURS, timed

from audiodiff.diffusion import make_schedule
from audiodiff.diffusion.generate import sample_from_model
from audiodiff.inference import SpectrogramGenerator
from audiodiff.nets import SpectrogramUNet


def params_m(module):
    return sum(p.numel() for p in module.parameters()) / 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("experiment", help="latent experiment folder (train_latent.yaml)")
    parser.add_argument("--batch", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--sampler", default="dpm_solver")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--guidance_scale", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device")
    parser.add_argument("--json")
    args = parser.parse_args()
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    autocast = torch.bfloat16 if device.type == "cuda" else None
    latent = SpectrogramGenerator.from_hparams(args.experiment, device=str(device))
    if latent.modules.get("autoencoder") is None:
        raise SystemExit(f"error: {args.experiment} is not a latent experiment")
    torch.manual_seed(0)
    spec_net = SpectrogramUNet(**{**OURS, "label_classes": latent.label_classes})
    spec_net = spec_net.to(device).eval()
    spec_schedule = make_schedule("cosine", num_steps=1000).to(device)
    common = dict(
        prediction="v",
        sampler=args.sampler,
        steps=args.steps,
        guidance_scale=args.guidance_scale,
        autocast_dtype=autocast,
    )
    hp = latent.hparams
    result = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "CPU",
        "torch": torch.__version__,
        "settings": {k: v for k, v in common.items() if k != "autocast_dtype"},
        "latent_shape": list(hp["sample_shape"]),
        "params_M": {
            "latent_unet": params_m(latent.modules["model"]),
            "autoencoder": params_m(latent.modules["autoencoder"]),
            "decoder": params_m(latent.modules["autoencoder"].decoder),
            "spectrogram_unet": params_m(spec_net),
        },
        "batches": {},
    }
    for n in args.batch:
        labels = {"digit": torch.arange(n, device=device) % 10}

        def sample_latent():
            return sample_from_model(
                latent.sampling_model,
                latent.modules["schedule"],
                (n, *hp["sample_shape"]),
                labels=labels,
                clip_x0=hp.get("clip_x0"),
                **common,
            )

        def sample_spectrogram():
            return sample_from_model(
                spec_net,
                spec_schedule,
                (n, 1, N_MELS, FRAMES),
                labels=labels,
                clip_x0=1.0,
                **common,
            )

        z = sample_latent()
        loop_s = timed(sample_latent, device, args.repeats, warmup=1)
        decode_s = timed(lambda: latent.decode(z), device, args.repeats, warmup=1)
        spec_s = timed(sample_spectrogram, device, args.repeats, warmup=1)
        mel = latent.decode(z)
        vocoder_s = timed(lambda: latent.modules["vocoder"](mel), device, args.repeats, warmup=1)
        row = {
            "latent_loop_s_per_sample": loop_s / n,
            "latent_decode_s_per_sample": decode_s / n,
            "latent_s_per_sample": (loop_s + decode_s) / n,
            "spectrogram_s_per_sample": spec_s / n,
            "griffin_lim_s_per_sample": vocoder_s / n,
            "speedup": spec_s / (loop_s + decode_s),
            "speedup_incl_griffin_lim": (spec_s + vocoder_s) / (loop_s + decode_s + vocoder_s),
            "latent_rtf": (loop_s + decode_s) / (n * AUDIO_SECONDS),
            "spectrogram_rtf": spec_s / (n * AUDIO_SECONDS),
        }
        result["batches"][str(n)] = row
        print(
            f"batch {n}: latent {1e3 * row['latent_s_per_sample']:.3f} ms/sample "
            f"(loop {1e3 * row['latent_loop_s_per_sample']:.3f} + decode "
            f"{1e3 * row['latent_decode_s_per_sample']:.3f}), spectrogram "
            f"{1e3 * row['spectrogram_s_per_sample']:.3f} ms/sample: {row['speedup']:.1f}x "
            f"({row['speedup_incl_griffin_lim']:.1f}x incl. Griffin-Lim "
            f"{1e3 * row['griffin_lim_s_per_sample']:.3f} ms/sample)"
        )
    print(json.dumps(result["params_M"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
