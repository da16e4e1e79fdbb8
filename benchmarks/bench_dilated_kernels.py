#!/usr/bin/env python3
"""DiffWave's dilated convolution, one layer: the Triton implicit-GEMM kernel per tile config
against the cuBLAS matrix products of the concatenation form (and its copies).

For the forward and the input gradient, prints the fastest Triton configs with their ms and
TFLOP/s, beside cuBLAS doing the same product on a materialised concatenation
([batch, samples, k C]) and the time of making that concatenation (forward) or summing its
shifted gradient (backward). The weight gradient: the lobe's per-tap cuBLAS products over
flattened rows (``dilated_weight_grad``, no copy) beside one cuBLAS product on the
concatenation. Paper size: batch 16 x 16000 samples, C = 256,
dilation 64, bf16. The kernels' outputs are checked against the reference before timing.

Usage: python benchmarks/bench_dilated_kernels.py [--dilation 64] [--json out.json] [--quick]
(``--quick``: tiny sizes; without CUDA through Triton's CPU interpreter, timings meaningless)
"""

import os
import sys

if "--quick" in sys.argv:  # the interpreter is chosen when triton is imported
    os.environ.setdefault("TRITON_INTERPRET", "1")

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

from audiodiff.nets import dilated_conv_triton as dct  # noqa: E402


def timed_ms(fn, device, repeats):
    """Median ms of ``fn()`` after two warm-up calls."""
    for _ in range(2):
        fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(1000 * (time.perf_counter() - start))
    return sorted(times)[len(times) // 2]


def tile_configs(quick):
    """Candidate configs: output tile x reduction block x warps x pipeline stages, within an
    H100's shared memory (configs that still fail to compile are skipped)."""
    if quick:
        return [dict(BLOCK_T=32, BLOCK_N=16, BLOCK_K=16, num_warps=4)]
    rows = []
    for a, b, k, warps, stages in itertools.product(
        (64, 128, 256), (64, 128, 256), (32, 64, 128), (4, 8), (3, 4)
    ):
        tile = a * b
        if tile < 128 * 128 or tile > 128 * 256 or (tile == 128 * 256 and warps == 4):
            continue
        if (a + b) * k * 2 * stages > 220_000 or k == 32 and tile < 128 * 256:
            continue
        rows.append(dict(BLOCK_T=a, BLOCK_N=b, BLOCK_K=k, num_warps=warps, num_stages=stages))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dilation", type=int, default=64)
    parser.add_argument("--json")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--products", default="forward,input", help="Triton kernels to sweep")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    batch, length, channels = (2, 200, 32) if args.quick else (16, 16000, 256)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    repeats = 1 if args.quick else args.repeats
    taps, d = 3, args.dilation
    pad = d * (taps - 1) // 2
    torch.manual_seed(0)
    y = torch.randn(batch, length, channels, device=device, dtype=dtype)
    w = torch.randn(2 * channels, taps * channels, device=device, dtype=dtype) / 30
    bias = torch.randn(2 * channels, device=device, dtype=dtype)
    g = torch.randn(batch, length, 2 * channels, device=device, dtype=dtype)
    flops = 2 * batch * length * 2 * channels * taps * channels  # each of the three products
    result = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "CPU"}
    result["shape"] = dict(batch=batch, samples=length, channels=channels, dilation=d)

    def tflops(ms):
        return round(flops / ms / 1e9, 1)

    # cuBLAS on the concatenation form, and the copies that form needs
    padded = torch.nn.functional.pad(y, (0, 0, pad, pad))
    cat = torch.cat([padded[:, j * d : j * d + length] for j in range(taps)], dim=-1)
    dcat = g @ w

    def shift_sum():
        grad = torch.zeros_like(padded)
        for j in range(taps):
            grad[:, j * d : j * d + length] += dcat[..., j * channels : (j + 1) * channels]
        return grad[:, pad : pad + length]

    cublas = {
        "forward GEMM (cuBLAS, on the concatenation)": lambda: torch.nn.functional.linear(
            cat, w, bias
        ),
        "input-gradient GEMM (cuBLAS, to [B, T, kC])": lambda: g @ w,
        "weight-gradient GEMM (cuBLAS)": lambda: g.flatten(0, 1).T @ cat.flatten(0, 1),
        "weight gradient, per-tap cuBLAS over flat rows (no copy)": lambda: dct.dilated_weight_grad(
            g, y, d, taps
        ),
    }
    copies = {
        "forward: making the concatenation": lambda: torch.cat(
            [
                torch.nn.functional.pad(y, (0, 0, pad, pad))[:, j * d : j * d + length]
                for j in range(taps)
            ],
            dim=-1,
        ),
        "backward: shift-sum of its gradient": shift_sum,
    }
    rows = []
    for name, fn in {**cublas, **copies}.items():
        ms = timed_ms(fn, device, repeats)
        rows.append((name, ms, tflops(ms) if name in cublas else "-", ""))

    # the Triton kernels, each config checked against the reference first
    ref_h = dct.dilated_linear_reference(y, w, bias, d, taps)
    ref_dy = shift_sum()
    out_h = torch.empty_like(ref_h)
    out_dy = torch.empty_like(y)
    launches = {
        "forward (Triton)": (
            lambda c: dct._launch_taps_matmul(
                y, w, bias, out_h, -pad, d, taps, (channels, 1, w.stride(0)), c
            ),
            ref_h,
        ),
        "input gradient (Triton)": (
            lambda c: dct._launch_taps_matmul(
                g, w, None, out_dy, pad, -d, taps, (channels, w.stride(0), 1), c
            ),
            ref_dy,
        ),
    }
    result["triton"] = {}
    for name, (launch, ref) in launches.items():
        if name.split()[0] not in args.products.split(","):
            continue
        timings = []
        for config in tile_configs(args.quick):
            if 2 * channels % config["BLOCK_K"]:
                continue
            try:
                out = launch(config).float()
                err = ((out - ref.float()).abs().max() / ref.float().abs().max()).item()
                if err > 0.02:
                    timings.append((config, None, f"wrong: relative error {err:.3g}"))
                    continue
                timings.append((config, timed_ms(lambda: launch(config), device, repeats), ""))
            except Exception as exc:  # out of resources, unsupported tile: skipped
                timings.append((config, None, repr(exc)[:80]))
        good = sorted((t for t in timings if t[1] is not None), key=lambda t: t[1])
        result["triton"][name] = [
            {"config": c, "ms": ms, "note": note}
            for c, ms, note in good + [t for t in timings if t[1] is None]
        ]
        for config, ms, _ in good[: args.top]:
            rows.append((name, ms, tflops(ms), str(config)))
        if not good:
            rows.append((name, float("nan"), "-", "no config ran"))
    result["rows"] = rows
    print(f"\n{result['device']}: one DiffWave layer, {result['shape']}, {dtype}")
    print("| product | ms | TFLOP/s | Triton config |")
    print("|---|---|---|---|")
    for name, ms, tf, config in rows:
        print(f"| {name} | {ms:.3f} | {tf} | {config} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
