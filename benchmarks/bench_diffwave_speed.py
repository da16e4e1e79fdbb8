#!/usr/bin/env python3
"""Speed of audiodiff's DiffWave against SpeechBrain's ``DiffWave`` lobe, on one device.

Both networks at the paper's SC09 size (36 residual layers, 256 channels, dilation cycle 12,
T = 200; unconditional), times measured in one run:

- a training step (forward + eps loss + backward + AdamW step) on a batch of 16 x 1 s at
  16 kHz: ours and the peer in fp32, bf16 autocast, and bf16 autocast + ``torch.compile``
  (the compiled rows on GPU only). The same loss function (``audiodiff.diffusion.diffusion_loss``)
  and optimizer drive both. TF32 matmuls/convolutions are allowed for both (so "fp32" means
  fp32 storage with TF32 tensor-core math, cuDNN's default for the peer's convolutions).
- sampling 16 x 1 s: the peer's 200-step ancestral chain (fp32; only ``--peer_steps`` of its
  network calls are timed and the total is extrapolated to 200, as the table says), ours
  with DiffWave's 6-step fast schedule and with the full 200-step chain (bf16 autocast on
  GPU; ``--compile`` adds the fast schedule through ``torch.compile(mode="reduce-overhead")``).

Prints a markdown table (milliseconds per step, real-time factor RTF = seconds of compute per
second of audio) and writes everything as JSON with ``--json``. ``--quick`` runs tiny sizes
on any device (a smoke test).

Usage: python benchmarks/bench_diffwave_speed.py [--json out.json] [--compile] [--quick]
"""

import argparse
import contextlib
import json
import time

import torch
from bench_spectrogram_speed import timed

from audiodiff.diffusion import diffusion_loss, make_schedule
from audiodiff.diffusion.generate import sample_from_model
from audiodiff.nets import DiffWave

PAPER = dict(residual_channels=256, residual_layers=36, dilation_cycle=12)
TINY = dict(residual_channels=16, residual_layers=4, dilation_cycle=2)
PEER_NUMBERS_H100 = {"train_fp32_ms": 472, "train_bf16_ms": 451, "sample_200_s": 33.0}
"""The peer's numbers measured on an H100 before this benchmark existed (issue text)."""


def autocast(device, enabled):
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def peak_gib(device):
    if device.type != "cuda":
        return None
    peak = torch.cuda.max_memory_allocated() / 2**30
    torch.cuda.reset_peak_memory_stats()
    return round(peak, 1)


def top_kernels(step, device, top=25):
    """The ``top`` GPU kernels of two profiled calls of ``step``: [(name, ms per step, %)]."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(2):
            step()
        torch.cuda.synchronize(device)
    events = [e for e in prof.key_averages() if e.device_type.name == "CUDA"]
    total = sum(e.self_device_time_total for e in events) or 1
    events.sort(key=lambda e: -e.self_device_time_total)
    return [
        (
            e.key[:90],
            round(e.self_device_time_total / 2000, 2),
            round(100 * e.self_device_time_total / total, 1),
        )
        for e in events[:top]
    ] + [("all kernels", round(total / 2000, 2), 100.0)]


def train_step_ms(model, device, batch, samples, repeats, bf16, compile_mode=False, profile=False):
    """Median ms of one training step (``compile_mode``: False = eager, None = compiled in
    the default mode, a ``torch.compile`` mode, or a dict of inductor options compiled in the
    default mode); None (with the error) on out-of-memory.
    ``profile`` (CUDA only) adds the top kernels of two more steps under ``"kernels"``."""
    schedule = make_schedule("linear", num_steps=200).to(device)
    compiled = compile_mode is not False
    if isinstance(compile_mode, dict):
        net = torch.compile(model, options=compile_mode)
    else:
        net = torch.compile(model, mode=compile_mode) if compiled else model
    opt = torch.optim.AdamW(model.parameters(), lr=2e-4, fused=device.type == "cuda")
    x0 = 0.1 * torch.randn(batch, 1, samples, device=device)

    def step():
        with autocast(device, bf16):
            loss = diffusion_loss(net, x0, schedule, prediction="eps")
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    try:
        ms = 1000 * timed(step, device, repeats, warmup=3 if compiled else 2)
        result = {"ms": ms, "peak_gib": peak_gib(device)}
        if profile and device.type == "cuda":
            try:
                result["kernels"] = top_kernels(step, device)
            except Exception as err:  # the profile is extra information, never fatal
                result["kernels"] = [("profile failed", repr(err)[:200])]
        return result
    except torch.OutOfMemoryError as err:
        return {"ms": None, "error": f"out of memory: {str(err)[:120]}"}
    finally:
        if device.type == "cuda":
            torch.cuda.empty_cache()


def peer_model(size, device):
    from speechbrain.lobes.models.DiffWave import DiffWave as PeerDiffWave

    return PeerDiffWave(
        input_channels=80,
        residual_layers=size["residual_layers"],
        residual_channels=size["residual_channels"],
        dilation_cycle_length=size["dilation_cycle"],
        total_steps=200,
        unconditional=True,
    ).to(device)


@torch.no_grad()
def peer_sampling_s(model, device, num, samples, timed_steps):
    """The peer's 200-step chain: time ``timed_steps`` network calls, extrapolate to 200."""
    model.eval()
    x = torch.randn(num, 1, samples, device=device)
    t = torch.full((num,), 100, device=device, dtype=torch.long)
    per_call = timed(lambda: model(x, t), device, timed_steps, warmup=1)
    return {"s_200_steps": 200 * per_call, "timed_calls": timed_steps, "extrapolated": True}


@torch.no_grad()
def our_sampling_s(
    model, device, num, samples, sampler, repeats, bf16, compile_model=False, steps=None
):
    model.eval()
    schedule = make_schedule("linear", num_steps=200).to(device)
    net = torch.compile(model, mode="reduce-overhead") if compile_model else model

    def sample():
        return sample_from_model(
            net,
            schedule,
            (num, 1, samples),
            prediction="eps",
            sampler=sampler,
            steps=steps,
            autocast_dtype=torch.bfloat16 if bf16 else None,
        )

    # the 200-step chain runs after the fast schedule has warmed the same network up
    warmup = 2 if compile_model else (0 if sampler == "ddpm" else 1)
    seconds = timed(sample, device, repeats, warmup=warmup)
    return {"s": seconds, "steps": 6 if sampler == "fast" else steps or 200}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--json")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument("--compile", action="store_true", help="also compiled fast sampling")
    parser.add_argument("--no_train_compile", action="store_true", help="skip bf16 + compile")
    parser.add_argument("--compile_mode", default=None, help="torch.compile mode of training")
    parser.add_argument("--peer_steps", type=int, default=5, help="peer sampling calls timed")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    args = parser.parse_args()
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    gpu = device.type == "cuda"
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = gpu
    size = TINY if args.quick else PAPER
    batch, samples, num = (2, 2000, 2) if args.quick else (16, 16000, 16)
    repeats = 1 if args.quick else args.repeats
    audio_s = num * samples / 16000
    torch.manual_seed(0)
    ours = DiffWave(**size).to(device)
    peer = peer_model(size, device)
    result = {
        "device": torch.cuda.get_device_name() if gpu else "CPU",
        "torch": torch.__version__,
        "size": size,
        "batch": batch,
        "samples": samples,
        "params_M": {
            "ours": ours.num_parameters() / 1e6,
            "peer": sum(p.numel() for p in peer.parameters()) / 1e6,
        },
        "train": {},
        "sampling": {},
    }
    train = result["train"]
    train["ours_fp32"] = train_step_ms(ours, device, batch, samples, repeats, bf16=False)
    train["ours_bf16"] = train_step_ms(ours, device, batch, samples, repeats, bf16=gpu)
    train["peer_fp32"] = train_step_ms(peer, device, batch, samples, repeats, bf16=False)
    train["peer_bf16"] = train_step_ms(peer, device, batch, samples, repeats, bf16=gpu)
    if gpu and not args.no_train_compile:
        try:
            start = time.perf_counter()
            train["ours_bf16_compiled"] = train_step_ms(
                ours, device, batch, samples, repeats, bf16=True, compile_mode=args.compile_mode
            )
            train["ours_bf16_compiled"]["mode"] = args.compile_mode or "default"
            train["ours_bf16_compiled"]["wall_s_incl_compile"] = time.perf_counter() - start
        except Exception as err:  # report the eager numbers even if compilation fails
            train["ours_bf16_compiled"] = {"ms": None, "error": repr(err)[:300]}
        try:  # the peer compiled the same way: a user can compile SpeechBrain's lobe too
            train["peer_bf16_compiled"] = train_step_ms(
                peer, device, batch, samples, repeats, bf16=True, compile_mode=args.compile_mode
            )
        except Exception as err:
            train["peer_bf16_compiled"] = {"ms": None, "error": repr(err)[:300]}

    sampling = result["sampling"]
    sampling["peer_ddpm_200"] = peer_sampling_s(
        peer, device, num, samples, 1 if args.quick else args.peer_steps
    )
    del peer
    sample_repeats = 1 if args.quick else 3
    sampling["ours_fast_6"] = our_sampling_s(
        ours, device, num, samples, "fast", sample_repeats, gpu
    )
    # --quick: a respaced 10-step ancestral chain stands in for the 200 steps
    chain = 10 if args.quick else None
    sampling["ours_ddpm"] = our_sampling_s(ours, device, num, samples, "ddpm", 1, gpu, steps=chain)
    if args.compile and gpu:
        try:
            sampling["ours_fast_6_compiled"] = our_sampling_s(
                ours, device, num, samples, "fast", sample_repeats, gpu, compile_model=True
            )
        except Exception as err:
            sampling["ours_fast_6_compiled"] = {"s": None, "error": repr(err)[:300]}
    for entry in sampling.values():
        seconds = entry.get("s", entry.get("s_200_steps"))
        entry["rtf"] = None if seconds is None else seconds / audio_s
    print_table(result, audio_s, num)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


def _ratio(peer, ours):
    return f"{peer / ours:.2f}x" if peer and ours else "-"


def print_table(result, audio_s, num):
    train, sampling = result["train"], result["sampling"]
    peer32, peer16 = train["peer_fp32"].get("ms"), train["peer_bf16"].get("ms")
    peer_best = min(v for v in (peer32, peer16) if v) if (peer32 or peer16) else None
    rows = []

    def ms(entry):
        if entry.get("ms") is None:
            return entry.get("error", "-")
        mem = f", {entry['peak_gib']} GiB" if entry.get("peak_gib") is not None else ""
        return f"{entry['ms']:.1f} ms{mem}"

    batch = f"batch {result['batch']} x {result['samples']} samples"
    rows.append(
        (
            f"train step fp32/TF32 ({batch})",
            ms(train["ours_fp32"]),
            ms(train["peer_fp32"]),
            _ratio(peer32, train["ours_fp32"].get("ms")),
        )
    )
    rows.append(
        (
            "train step bf16 autocast",
            ms(train["ours_bf16"]),
            ms(train["peer_bf16"]),
            _ratio(peer16, train["ours_bf16"].get("ms")),
        )
    )
    if "ours_bf16_compiled" in train:
        ours_compiled = train["ours_bf16_compiled"].get("ms")
        rows.append(
            (
                "train step bf16 + torch.compile, vs the peer's best eager step",
                ms(train["ours_bf16_compiled"]),
                f"{peer_best:.1f} ms" if peer_best else "-",
                _ratio(peer_best, ours_compiled),
            )
        )
        if "peer_bf16_compiled" in train:
            rows.append(
                (
                    "train step bf16 + torch.compile, both compiled",
                    ms(train["ours_bf16_compiled"]),
                    ms(train["peer_bf16_compiled"]),
                    _ratio(train["peer_bf16_compiled"].get("ms"), ours_compiled),
                )
            )
    peer = sampling["peer_ddpm_200"]
    peer_text = (
        f"{peer['s_200_steps']:.2f} s, RTF {peer['rtf']:.3f} (200 steps, "
        f"extrapolated from {peer['timed_calls']} calls)"
    )
    for key, label in (
        ("ours_fast_6", "fast schedule, 6 steps"),
        ("ours_fast_6_compiled", "fast 6 steps, torch.compile"),
        ("ours_ddpm", f"{sampling['ours_ddpm']['steps']}-step ancestral chain"),
    ):
        if key not in sampling:
            continue
        entry = sampling[key]
        text = (
            entry.get("error", "-")
            if entry.get("s") is None
            else (f"{entry['s']:.3f} s, RTF {entry['rtf']:.4f}")
        )
        rows.append(
            (
                f"sample {num} x {audio_s / num:.2f} s: {label}",
                text,
                peer_text,
                _ratio(peer["s_200_steps"], entry.get("s")),
            )
        )
    params = result["params_M"]
    print(
        f"\nDevice: {result['device']}, torch {result['torch']}; DiffWave {result['size']}, "
        f"{params['ours']:.1f}M parameters (peer {params['peer']:.1f}M)"
    )
    print(
        f"| {'measure':<52} | {'audiodiff DiffWave':<26} | {'SpeechBrain DiffWave':<44} | "
        "speed-up |"
    )
    print(f"|{'-' * 54}|{'-' * 28}|{'-' * 46}|----------|")
    for r in rows:
        print(f"| {r[0]:<52} | {r[1]:<26} | {r[2]:<44} | {r[3]:>8} |")
    print(f"(peer on an H100 in the issue: {PEER_NUMBERS_H100})")


if __name__ == "__main__":
    main()
