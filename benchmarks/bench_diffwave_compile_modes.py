#!/usr/bin/env python3
"""DiffWave training step per variant and ``torch.compile`` mode, against the peer's bf16 step.

A narrower companion of ``bench_diffwave_speed.py`` (same sizes, batch, loss, optimizer and
timer): the peer (SpeechBrain's ``DiffWave`` lobe, bf16 autocast, eager) and each variant of
our DiffWave (``--variants``) in bf16 autocast compiled with each mode of ``--modes``.

Variants: ``plain`` (the lobe: one fused skip product in compiled training, the dilated
convolutions as implicit-GEMM Triton kernels, the gated activation's backward as one Triton
kernel), ``torch_gate`` (:class:`TorchGateDiffWave`, the lobe with inductor's backward of the
gated activation: measured 8-9% slower per H200 step), ``cat`` (the lobe with
``dilated_kernel="torch"``: one matrix product over concatenated shifted copies, the lobe
before the kernels), ``per_layer``
(:class:`PerLayerDiffWave`, the per-layer skip sum; measured 2-3% to 5% slower on an H100)
and ``conv`` (:class:`ConvDiffWave`, the dilated convolutions through cuDNN; measured 1.8x
slower). ``--profile`` prints the top
GPU kernels of each entry; ``--peer_compile`` also times the peer under ``torch.compile``.
A mode ``opts:a+b`` compiles in the default mode with the inductor options a and b set True
(e.g. ``opts:coordinate_descent_tuning+aggressive_fusion``).

Usage: python benchmarks/bench_diffwave_compile_modes.py
       [--modes default,max-autotune-no-cudagraphs] [--variants plain,per_layer,conv]
       [--profile] [--peer_compile] [--check] [--json out.json] [--quick]

``--check`` first compares the Triton kernels with the concatenation form at paper size in bf16
(one layer of each dilation: forward and gradients, the largest error relative to the largest
value) and prints it.

Inductor's on-disk graph caches are off here: variants with the same forward graph (``plain``
and a variant that changes only a backward) would otherwise share one compiled backward.
"""

import argparse
import functools
import json
import os

os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "0")
os.environ.setdefault("TORCHINDUCTOR_AUTOGRAD_CACHE", "0")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from bench_diffwave_speed import PAPER, TINY, peer_model, train_step_ms

from audiodiff.nets import DiffWave
from audiodiff.nets.dilated_conv_triton import dilated_linear, dilated_linear_reference
from audiodiff.nets.gated_activation_triton import gated_activation_reference


class PerLayerDiffWave(DiffWave):
    """DiffWave with the per-layer skip sum also under ``torch.compile`` (the lobe before it
    fused the skip products in compiled training; the same function and parameters)."""

    def run_layers(self, h, steps, local):
        return self.run_layers_per_layer(h, steps, local)


def conv_gated(layer, x, step, local=None):
    """``_ResidualLayer.gated`` with the dilated convolution as one cuDNN ``conv1d``.

    The same weights: the Linear's [2C, k C] weight viewed as a [2C, C, k] kernel (tap j reads
    x[t + (j - (k - 1) / 2) d]). The time-major [batch, samples, C] features are handed to
    cuDNN as a channels-last [batch, C, samples] view, so no shifted copies are materialised.
    """
    channels, k = layer.channels, layer.kernel_size
    y = (x + step[:, None, :]).transpose(1, 2)
    weight = layer.dilated.weight[:, : k * channels]
    weight = weight.unflatten(1, (k, channels)).transpose(1, 2)
    pad = layer.dilation * (k - 1) // 2
    h = F.conv1d(y, weight, layer.dilated.bias, padding=pad, dilation=layer.dilation)
    h = h.transpose(1, 2)
    if local is not None:
        h = h + F.linear(local.to(h.dtype), layer.dilated.weight[:, k * channels :])
    gate, filt = h.chunk(2, dim=-1)
    return torch.tanh(filt) * torch.sigmoid(gate)


class ConvDiffWave(PerLayerDiffWave):
    """DiffWave with each layer's dilated convolution done by cuDNN (:func:`conv_gated`;
    measured 1.8x slower per compiled H100 step than the lobe)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for layer in self.layers:  # an instance attribute shadows _ResidualLayer.gated
            layer.gated = functools.partial(conv_gated, layer)


def torch_gate_gated(layer, x, step, local=None, copies=1):
    """``_ResidualLayer.gated`` with the Triton dilated convolution but autograd's (inductor's)
    backward of the gated activation (the lobe before its one-pass Triton backward)."""
    weight, bias = layer.dilated.weight, layer.dilated.bias
    h = dilated_linear(x + step[:, None, :], weight, bias, layer.dilation, layer.kernel_size)
    a = gated_activation_reference(h)
    return a if copies == 1 else (a, a)


class TorchGateDiffWave(DiffWave):
    """DiffWave whose gated activation has autograd's backward (:func:`torch_gate_gated`)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for layer in self.layers:
            layer.gated = functools.partial(torch_gate_gated, layer)


VARIANTS = {
    "plain": DiffWave,
    "torch_gate": TorchGateDiffWave,
    "cat": functools.partial(DiffWave, dilated_kernel="torch"),
    "per_layer": PerLayerDiffWave,
    "conv": ConvDiffWave,
}


def check_kernels(size, device, batch, samples):
    """Largest relative error of :func:`dilated_linear` vs the concatenation, per dilation.

    bf16 inputs as in training (with a step added to the input, as in the model); the error is
    max |kernel - reference| / max |reference| of the output and of the input, weight, bias
    and step gradients (both sides round to bf16 differently).
    """
    channels = size["residual_channels"]
    rows = {}
    for i in range(size["dilation_cycle"]):
        dilation = 2**i
        torch.manual_seed(i)
        y = torch.randn(batch, samples, channels, device=device, dtype=torch.bfloat16)
        y.requires_grad_(True)
        w = (torch.randn(2 * channels, 3 * channels, device=device) / 30).requires_grad_(True)
        b = torch.randn(2 * channels, device=device).requires_grad_(True)
        errors = []
        step = torch.randn(batch, channels, device=device, dtype=torch.bfloat16)
        step.requires_grad_(True)
        outs = [
            dilated_linear(y + step[:, None], w, b, dilation, 3),
            dilated_linear_reference(y + step[:, None], w, b, dilation, 3),
        ]
        g = torch.randn_like(outs[0])
        grads = [torch.autograd.grad(out, [y, w, b, step], g) for out in outs]
        for got, want in [(outs[0], outs[1])] + list(zip(grads[0], grads[1])):
            got, want = got.float(), want.float()
            errors.append(((got - want).abs().max() / want.abs().max()).item())
        rows[dilation] = [round(e, 5) for e in errors]
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--modes", default="default,max-autotune-no-cudagraphs")
    parser.add_argument("--variants", default="plain,per_layer,conv", help=f"of {list(VARIANTS)}")
    parser.add_argument("--json")
    parser.add_argument("--quick", action="store_true", help="tiny sizes on any device")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--profile", action="store_true", help="top GPU kernels per entry")
    parser.add_argument(
        "--peer_compile", action="store_true", help="last, also the peer compiled (default mode)"
    )
    parser.add_argument("--check", action="store_true", help="kernels vs reference first")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = device.type == "cuda"
    size = TINY if args.quick else PAPER
    batch, samples = (2, 2000) if args.quick else (16, 16000)
    repeats = 1 if args.quick else args.repeats
    bf16 = device.type == "cuda"
    torch.manual_seed(0)
    result = {"device": torch.cuda.get_device_name() if bf16 else "CPU", "size": size}
    if args.check:  # [output, grad y, grad W, grad bias, grad step] relative errors
        result["kernel_check"] = check_kernels(size, device, batch, samples)
        print("kernel check (out, dy, dW, db, dstep):", result["kernel_check"], flush=True)
    peer = peer_model(size, device)
    result["peer_bf16"] = train_step_ms(peer, device, batch, samples, repeats, bf16=bf16)
    del peer
    # every variant in one mode before the next mode: the slow max-autotune compiles come last,
    # and each result is printed as soon as it is measured (a time limit keeps what was done)
    for mode in args.modes.split(","):
        for variant in args.variants.split(","):
            key = f"ours_{variant}_{mode}"
            model = VARIANTS[variant](**size).to(device)
            compile_mode = None if mode == "default" else mode
            if mode.startswith("opts:"):  # inductor options, e.g. opts:coordinate_descent_tuning
                compile_mode = {name: True for name in mode[5:].split("+")}
            try:
                result[key] = train_step_ms(
                    model,
                    device,
                    batch,
                    samples,
                    repeats,
                    bf16=bf16,
                    compile_mode=compile_mode,
                    profile=args.profile,
                )
            except Exception as err:  # a mode that fails to compile is reported, not fatal
                result[key] = {"ms": None, "error": repr(err)[:300]}
            kernels = result[key].pop("kernels", None)
            print(f"{key}: {result[key]} (peer bf16: {result['peer_bf16']})", flush=True)
            for row in kernels or []:
                print("    ", *row, sep=" | ", flush=True)
            if kernels:
                result[key]["kernels"] = kernels
            del model
            torch._dynamo.reset()
    if args.peer_compile:  # the peer's best may be compiled too: measured, for the record
        peer = peer_model(size, device)
        try:
            result["peer_bf16_compiled"] = train_step_ms(
                peer, device, batch, samples, repeats, bf16=bf16, compile_mode=None
            )
        except Exception as err:
            result["peer_bf16_compiled"] = {"ms": None, "error": repr(err)[:300]}
        print(f"peer_bf16_compiled: {result['peer_bf16_compiled']}", flush=True)
    peer_ms = result["peer_bf16"]["ms"]
    print(f"\n{result['device']}: DiffWave {size}, batch {batch} x {samples}, bf16 autocast")
    print(f"| {'network':<44} | {'ms / train step':>15} | speed-up |")
    print(f"|{'-' * 46}|{'-' * 17}|----------|")
    for key, entry in result.items():
        if not isinstance(entry, dict) or "ms" not in entry:
            continue
        ms = entry["ms"]
        label = {"peer_bf16": "SpeechBrain DiffWave (eager)"}.get(key, f"audiodiff {key[5:]}")
        if key == "peer_bf16_compiled":
            label = "SpeechBrain DiffWave (compiled)"
        ratio = f"{peer_ms / ms:.2f}x" if ms and peer_ms else "-"
        text = f"{ms:.1f}" if ms else entry.get("error", "-")[:15]
        print(f"| {label:<44} | {text:>15} | {ratio:>8} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
