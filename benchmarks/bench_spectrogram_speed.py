#!/usr/bin/env python3
"""Speed of the AudioMNIST spectrogram-diffusion recipe against SpeechBrain's own lobes.

Times, on one device in one run:
- a training step (forward + loss + backward + AdamW step) of our U-Net at the recipe's GPU
  size (bf16 autocast, batch 128) and of SpeechBrain's ``UNetModel`` + ``DenoisingDiffusion``
  at the SpeechBrain recipe's size (128 channels, 4 res blocks, T=250, fp32, batch 16);
- a full sampling pass: ours with DPM-Solver++(2M), 20 steps, classifier-free guidance 2.0
  (a doubled batch), with and without the Griffin-Lim vocoder; the peer's 250-step DDPM.

Prints a table (samples/s, real-time factor = seconds of compute per second of audio) and
writes JSON with ``--json``.

Usage: python benchmarks/bench_spectrogram_speed.py [--json out.json] [--quick]
"""

import argparse
import json

import torch

from audiodiff.audio import GriffinLimVocoder
from audiodiff.diffusion import diffusion_loss, make_schedule
from audiodiff.diffusion.generate import sample_from_model
from audiodiff.metrics.speed import measure_speed
from audiodiff.nets import SpectrogramUNet

N_MELS, FRAMES, HOP, SR = 80, 64, 256, 16000
AUDIO_SECONDS = FRAMES * HOP / SR
OURS = dict(
    base_channels=64,
    channel_mults=(1, 2, 2, 4),
    num_res_blocks=2,
    attention_levels=(2, 3),
    label_classes={"digit": 10},
    cond_drop_prob=0.1,
)
# --quick: tiny networks on both sides, so a CPU smoke run takes seconds (numbers meaningless)
OURS_QUICK = dict(
    OURS, base_channels=8, channel_mults=(1, 2), num_res_blocks=1, attention_levels=()
)
PEER = dict(model_channels=128, num_res_blocks=4, attention_resolutions=[32, 16, 8], timesteps=250)
PEER_QUICK = dict(model_channels=32, num_res_blocks=1, attention_resolutions=[], timesteps=4)


def timed(fn, device, repeats, warmup=2):
    """Median seconds of ``fn()`` over ``repeats`` CUDA-synchronised runs after ``warmup``."""
    return measure_speed(fn, audio_seconds=1.0, repeats=repeats, warmup=warmup, device=device)[
        "seconds"
    ]


def bench_ours(device, batch, repeats, num_samples, compile_sampler=False, quick=False):
    torch.manual_seed(0)
    model = SpectrogramUNet(**(OURS_QUICK if quick else OURS)).to(device)
    schedule = make_schedule("cosine", num_steps=1000).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-4, fused=device.type == "cuda")
    x0 = torch.randn(batch, 1, N_MELS, FRAMES, device=device).clamp(-1, 1)
    digits = torch.randint(0, 10, (batch,), device=device)
    use_bf16 = device.type == "cuda"

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            loss = diffusion_loss(model, x0, schedule, prediction="v", cond={"digit": digits})
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    train_s = timed(step, device, repeats)
    model.eval()
    net = torch.compile(model, mode="reduce-overhead") if compile_sampler else model
    vocoder = GriffinLimVocoder(sample_rate=SR, hop_length=HOP, n_mels=N_MELS).to(device)
    labels = {"digit": torch.arange(num_samples, device=device) % 10}

    def sample():
        return sample_from_model(
            net,
            schedule,
            (num_samples, 1, N_MELS, FRAMES),
            labels=labels,
            steps=2 if quick else 20,
            guidance_scale=2.0,
            clip_x0=1.0,
            autocast_dtype=torch.bfloat16 if use_bf16 else None,
        )

    sample_s = timed(sample, device, max(1, repeats // 5), warmup=1)
    mel = sample() * 40 - 60
    vocode_s = timed(lambda: vocoder(mel), device, max(1, repeats // 5), warmup=1)
    return {
        "params_M": sum(p.numel() for p in model.parameters()) / 1e6,
        "train_step_s": train_s,
        "train_batch": batch,
        "train_samples_per_s": batch / train_s,
        "sample_s": sample_s,
        "vocoder_s": vocode_s,
        "num_samples": num_samples,
        "rtf_model": sample_s / (num_samples * AUDIO_SECONDS),
        "rtf_with_vocoder": (sample_s + vocode_s) / (num_samples * AUDIO_SECONDS),
    }


def bench_speechbrain(device, batch, repeats, num_samples, quick=False):
    from speechbrain.nnet.diffusion import DenoisingDiffusion, LengthMaskedGaussianNoise
    from speechbrain.nnet.unet import UNetModel

    size = PEER_QUICK if quick else PEER
    unet = UNetModel(
        in_channels=1,
        model_channels=size["model_channels"],
        out_channels=1,
        num_res_blocks=size["num_res_blocks"],
        attention_resolutions=size["attention_resolutions"],
        dropout=0.25,
    ).to(device)
    diffusion = DenoisingDiffusion(
        unet, timesteps=size["timesteps"], noise=LengthMaskedGaussianNoise()
    ).to(device)
    opt = torch.optim.AdamW(unet.parameters(), lr=2e-4)
    x0 = torch.randn(batch, 1, N_MELS, FRAMES, device=device)

    def step():
        pred, noise, _ = diffusion.train_sample(x0)
        loss = torch.nn.functional.mse_loss(pred, noise)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    train_s = timed(step, device, repeats)
    unet.eval()
    sample_s = timed(
        lambda: diffusion.sample((num_samples, 1, N_MELS, FRAMES)), device, 1, warmup=1
    )
    return {
        "params_M": sum(p.numel() for p in unet.parameters()) / 1e6,
        "train_step_s": train_s,
        "train_batch": batch,
        "train_samples_per_s": batch / train_s,
        "sample_s": sample_s,
        "num_samples": num_samples,
        "rtf_model": sample_s / (num_samples * AUDIO_SECONDS),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--json")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a CPU smoke run")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="also time sampling through torch.compile(mode='reduce-overhead')",
    )
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    reps = 2 if args.quick else 20
    peer_samples = 2 if args.quick else 10
    sizes = [2] if args.quick else [10, 100]
    batch = 4 if args.quick else 128
    ours = {n: bench_ours(device, batch, reps, n, quick=args.quick) for n in sizes}
    compiled = {}
    if args.compile:
        try:
            compiled = {
                n: bench_ours(device, batch, reps, n, True, quick=args.quick) for n in sizes
            }
        except Exception as err:  # report the eager numbers even if compilation fails
            print(f"torch.compile sampling failed: {err!r}")
    peer = bench_speechbrain(device, 2 if args.quick else 16, reps, peer_samples, args.quick)
    name = torch.cuda.get_device_name() if device.type == "cuda" else "CPU"
    o10 = ours[min(ours)]
    ours_dtype = "bf16" if device.type == "cuda" else "fp32"
    rows = [
        ("parameters (M)", f"{o10['params_M']:.2f}", f"{peer['params_M']:.2f}", ""),
        (
            "train samples/s",
            f"{o10['train_samples_per_s']:.0f} (batch {o10['train_batch']}, {ours_dtype})",
            f"{peer['train_samples_per_s']:.0f} (batch {peer['train_batch']}, fp32)",
            f"{o10['train_samples_per_s'] / peer['train_samples_per_s']:.1f}x",
        ),
    ]
    for n, res in ours.items():
        rows.append(
            (
                f"sampling {n} x {AUDIO_SECONDS:.2f} s, model RTF",
                f"{res['rtf_model']:.5f}",
                f"{peer['rtf_model']:.4f} ({peer['num_samples']} samples)",
                f"{peer['rtf_model'] / res['rtf_model']:.0f}x",
            )
        )
        rows.append(
            (
                f"sampling {n}, RTF incl. Griffin-Lim",
                f"{res['rtf_with_vocoder']:.5f}",
                "-",
                f"{peer['rtf_model'] / res['rtf_with_vocoder']:.0f}x",
            )
        )
    for n, res in compiled.items():
        rows.append(
            (
                f"sampling {n}, model RTF, torch.compile",
                f"{res['rtf_model']:.5f}",
                f"{peer['rtf_model']:.4f} ({peer['num_samples']} samples)",
                f"{peer['rtf_model'] / res['rtf_model']:.0f}x",
            )
        )
        rows.append(
            (
                f"sampling {n}, RTF incl. GL, torch.compile",
                f"{res['rtf_with_vocoder']:.5f}",
                "-",
                f"{peer['rtf_model'] / res['rtf_with_vocoder']:.0f}x",
            )
        )
    print(f"\nDevice: {name}, torch {torch.__version__}")
    print(f"| {'measure':<40} | {'audiodiff':<28} | {'SpeechBrain':<28} | ratio |")
    print(f"|{'-' * 42}|{'-' * 30}|{'-' * 30}|-------|")
    for r in rows:
        print(f"| {r[0]:<40} | {r[1]:<28} | {r[2]:<28} | {r[3]:>5} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "device": name,
                    "torch": torch.__version__,
                    "ours": ours,
                    "ours_compiled": compiled,
                    "speechbrain": peer,
                },
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
