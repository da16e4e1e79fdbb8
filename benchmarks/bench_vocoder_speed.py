#!/usr/bin/env python3
"""Real-time factor of the diffusion vocoders at batch 1, beside SpeechBrain's DiffWave lobe.

One mel of ``--seconds`` of audio (22,050 Hz, hop 256, 80 bands) vocoded at batch 1, in the
same process and on the same device:

- audiodiff's vocoders (each ``--exp NAME=DIR``, or a randomly initialised DiffWave BASE with
  the standard prior when none is given; the weights do not change the speed): the whole
  ``DiffusionVocoder.vocode`` call (prior filter, x_T and fresh noise, the mel upsampled once,
  6 network calls of DiffWave's fast schedule), bf16 autocast on GPU: eager, eager with the
  concatenation form of the dilated convolutions (``dilated_kernel="torch"``), and through
  ``torch.compile(mode="reduce-overhead")`` (CUDA graphs; compile time not counted), and the
  full 50-step chain eager;
- SpeechBrain's ``speechbrain.lobes.models.DiffWave`` at the same size (30 layers x 64
  channels, T = 50, its ``DiffWaveDiffusion.inference`` with the same 6-level fast schedule,
  and its 50-step chain), fp32 eager as it ships (and under bf16 autocast).

RTF = seconds of compute / seconds of audio (median of ``--repeats`` calls after warm-up).
Prints a markdown table; ``--json`` writes everything.

Usage: python benchmarks/bench_vocoder_speed.py [--exp specgrad=DIR ...] [--json out.json]
       [--seconds 5] [--no_compile] [--no_peer] [--quick]
"""

import argparse
import contextlib
import json
import sys

import torch

from audiodiff.audio import MelSpectrogram
from audiodiff.diffusion import StandardGaussianPrior, make_schedule
from audiodiff.inference import DiffusionVocoder
from audiodiff.metrics.speed import measure_speed
from audiodiff.nets import DiffWave

BASE = dict(residual_channels=64, residual_layers=30, dilation_cycle=10)
TINY = dict(residual_channels=16, residual_layers=4, dilation_cycle=2)
FAST = (1e-4, 1e-3, 1e-2, 5e-2, 0.2, 0.5)
PEER_H100 = {"rtf_6": 0.075, "rtf_50": 0.635}
"""The SpeechBrain lobe's RTF on an H100 as the issue reports it."""


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--exp", action="append", default=[], help="NAME=DIR, repeatable")
    parser.add_argument("--json")
    parser.add_argument("--seconds", type=float, default=5.0, help="audio per call")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--no_compile", action="store_true")
    parser.add_argument(
        "--compile",
        action="append",
        help="compile only these NAMEs (default: every one; on the CPU only those named)",
    )
    parser.add_argument("--no_peer", action="store_true")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    return parser.parse_args(argv)


def random_vocoder(size, device):
    torch.manual_seed(0)
    model = DiffWave(**size, n_mels=80, upsample_factors=(16, 16))
    schedule = make_schedule("linear", 50, beta_start=1e-4, beta_end=0.05)
    return DiffusionVocoder(model, schedule, StandardGaussianPrior(), MelSpectrogram(22050)).to(
        device
    )


def set_dilated_kernel(model, kind):
    for layer in model.layers:
        layer.dilated_kernel = kind


def time_call(fn, audio_s, device, repeats, warmup):
    try:
        return measure_speed(
            fn, audio_seconds=audio_s, repeats=repeats, warmup=warmup, device=device
        )
    except Exception as err:  # one failed row (e.g. a compile error) must not lose the others
        return {"rtf": None, "error": repr(err)[:300]}


def bench_ours(name, vocoder, mel_db, audio_s, device, args):
    rows = {}
    repeats = 1 if args.quick else args.repeats
    rows[f"{name} 6 steps, eager"] = time_call(
        lambda: vocoder.vocode(mel_db, steps=6), audio_s, device, repeats, 1
    )
    set_dilated_kernel(vocoder.model, "torch")
    rows[f"{name} 6 steps, eager, concatenation form"] = time_call(
        lambda: vocoder.vocode(mel_db, steps=6), audio_s, device, repeats, 1
    )
    set_dilated_kernel(vocoder.model, "auto")
    if not args.quick:
        rows[f"{name} 50 steps, eager"] = time_call(
            lambda: vocoder.vocode(mel_db, steps=50), audio_s, device, max(1, repeats // 3), 1
        )
    wanted = args.compile is None or name in args.compile
    # on the CPU only when named by --compile (inductor, no CUDA graphs: a dry run of this path)
    on_device = device.type == "cuda" or args.compile is not None
    if on_device and not args.no_compile and wanted:
        compiled = torch.compile(vocoder.model, mode="reduce-overhead")
        object.__setattr__(vocoder, "_compiled", compiled)
        graphs = "CUDA graphs" if device.type == "cuda" else "CPU, no CUDA graphs"
        rows[f"{name} 6 steps, torch.compile reduce-overhead ({graphs})"] = time_call(
            lambda: vocoder.vocode(mel_db, steps=6), audio_s, device, repeats, 3
        )
        rows[f"{name} 50 steps, torch.compile reduce-overhead"] = time_call(
            lambda: vocoder.vocode(mel_db, steps=50), audio_s, device, max(1, repeats // 3), 1
        )
        # the concatenation form is faster eager on the GPU; capture it too (a fresh compile)
        set_dilated_kernel(vocoder.model, "torch")
        compiled = torch.compile(vocoder.model, mode="reduce-overhead")
        object.__setattr__(vocoder, "_compiled", compiled)
        rows[f"{name} 6 steps, torch.compile reduce-overhead ({graphs}), concatenation form"] = (
            time_call(lambda: vocoder.vocode(mel_db, steps=6), audio_s, device, repeats, 3)
        )
        set_dilated_kernel(vocoder.model, "auto")
        object.__setattr__(vocoder, "_compiled", None)
    return rows


def bench_peer(size, mel_db, audio_s, device, args):
    """SpeechBrain's DiffWave lobe + DiffWaveDiffusion at the same size (T = 50)."""
    from speechbrain.lobes.models.DiffWave import DiffWave as PeerDiffWave
    from speechbrain.lobes.models.DiffWave import DiffWaveDiffusion

    torch.manual_seed(0)
    model = PeerDiffWave(
        input_channels=80,
        residual_layers=size["residual_layers"],
        residual_channels=size["residual_channels"],
        dilation_cycle_length=size["dilation_cycle"],
        total_steps=50,
    ).to(device)
    model.eval()
    diffusion = DiffWaveDiffusion(model, timesteps=50, beta_start=1e-4, beta_end=0.05).to(device)
    condition = ((mel_db + 100) / 100).clamp(0, 1)[None].to(device)  # its [0, 1] log-mel scale
    repeats = 1 if args.quick else max(3, args.repeats // 2)
    rows = {}
    for label, bf16 in (("fp32", False), ("bf16 autocast", True)):
        if bf16 and device.type != "cuda":
            continue
        ctx = (
            (lambda: torch.autocast("cuda", dtype=torch.bfloat16))
            if bf16
            else contextlib.nullcontext
        )

        def run(fast):
            with torch.no_grad(), ctx():
                return diffusion.inference(
                    unconditional=False,
                    scale=256,
                    condition=condition,
                    fast_sampling=fast,
                    fast_sampling_noise_schedule=list(FAST) if fast else None,
                    device=device,
                )

        rows[f"SpeechBrain DiffWave 6 steps, {label}"] = time_call(
            lambda: run(True), audio_s, device, repeats, 1
        )
        if not args.quick:
            rows[f"SpeechBrain DiffWave 50 steps, {label}"] = time_call(
                lambda: run(False), audio_s, device, 1, 1
            )
    return rows


def main(argv):
    args = parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    size = TINY if args.quick else BASE
    seconds = 0.1 if args.quick else args.seconds
    vocoders = {}
    for spec in args.exp:
        name, _, folder = spec.partition("=")
        try:
            vocoders[name] = DiffusionVocoder.from_hparams(folder, device=str(device))
        except FileNotFoundError as err:
            print(f"warning: {name}: {err}", file=sys.stderr)
    if not vocoders:
        vocoders["random BASE"] = random_vocoder(size, device)
    first = next(iter(vocoders.values()))
    samples = int(seconds * first.sample_rate) // first.hop_length * first.hop_length
    audio = 0.1 * torch.randn(samples, generator=torch.Generator().manual_seed(0))
    mel_db = first.mel_db_of(audio)[0]
    audio_s = mel_db.shape[-1] * first.hop_length / first.sample_rate
    result = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "CPU",
        "torch": torch.__version__,
        "audio_seconds": audio_s,
        "size": size,
        "rows": {},
    }
    for name, vocoder in vocoders.items():
        result["rows"].update(bench_ours(name, vocoder, mel_db, audio_s, device, args))
        result.setdefault("params", {})[name] = sum(p.numel() for p in vocoder.model.parameters())
    if not args.no_peer:
        try:
            result["rows"].update(bench_peer(size, mel_db, audio_s, device, args))
        except Exception as err:
            result["rows"]["SpeechBrain DiffWave"] = {"rtf": None, "error": repr(err)[:300]}
    print(
        f"\nDevice: {result['device']}, torch {result['torch']}; batch 1, "
        f"{audio_s:.2f} s of audio per call; DiffWave {size}"
    )
    print(f"| {'system':<70} | {'seconds':>9} | {'RTF':>8} |")
    print(f"|{'-' * 72}|{'-' * 11}|{'-' * 10}|")
    for label, row in result["rows"].items():
        if row.get("rtf") is None:
            print(f"| {label:<70} | {'-':>9} | {row.get('error', '-')[:60]} |")
        else:
            print(f"| {label:<70} | {row['seconds']:>9.4f} | {row['rtf']:>8.5f} |")
    print(f"(SpeechBrain's lobe on an H100 in the issue: {PEER_H100})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
