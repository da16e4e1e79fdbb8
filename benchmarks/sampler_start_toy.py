#!/usr/bin/env python3
"""Which sampler and start reproduce silence? The exact denoiser of a toy waveform (CPU, 2 s).

Data: blocks of 256 samples, each silent (90%) or N(0, 0.02) "speech" (10%), the mixture of
``tests/unittests/test_sampler_start.py``, whose exact posterior-mean denoiser stands in for a
perfectly trained network. For each training chain (the SC09 recipe's linear 200-step chain,
alpha_bar_T = 0.132, and two that end near pure noise), each sampler and each start (N(0, I),
or the forward marginal's std at the sampler's noisiest level,
``audiodiff.diffusion.samplers.start``), the table gives the share of blocks the sampler makes
"speech" (power above a quarter of the speech power; the data: 10%) and the mean power of the
other blocks (the data: silence, -inf dB). Too many speech blocks or loud silent ones = babble.

Usage: python benchmarks/sampler_start_toy.py [--clips 4]
"""

import argparse
import importlib.util
import math
import os

import torch

from audiodiff.diffusion.samplers import get_sampler
from audiodiff.diffusion.samplers.start import marginal_start_std, start_alpha_bar
from audiodiff.diffusion.schedules import make_schedule

TEST = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "tests",
    "unittests",
    "test_sampler_start.py",
)


def load_toy():
    spec = importlib.util.spec_from_file_location("sampler_start_toy_data", TEST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def block_stats(toy, schedule, sampler, steps, start_std, clips):
    x = torch.randn(clips, 100 * toy.BLOCK, generator=torch.Generator().manual_seed(0))
    denoiser = toy.block_mixture_denoiser(schedule)
    out = get_sampler(sampler)(
        lambda x_t, t: denoiser(x_t, t.float()),
        x * start_std,
        schedule,
        steps=steps,
        generator=torch.Generator().manual_seed(1),
    )
    power = out.double().view(clips, -1, toy.BLOCK).pow(2).mean(-1)
    speech = power > toy.S2 / 4
    silent = power[~speech]
    silent_db = 10 * math.log10(float(silent.mean()) + 1e-30) if silent.numel() else float("nan")
    return float(speech.double().mean()), silent_db


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=4, help="toy clips of 100 blocks each")
    args = parser.parse_args()
    toy = load_toy()
    v = toy.P_SPEECH * toy.S2
    chains = {
        "linear 200, 1e-4..0.02 (SC09)": make_schedule("linear", 200),
        "linear 200, 1e-4..0.05": make_schedule("linear", 200, beta_end=0.05),
        "cosine 200": make_schedule("cosine", 200),
    }
    runs = [("fast", None), ("ddpm", None), ("ddim", 12), ("dpm_solver", 12), ("dpm_solver", 20)]
    print("| chain (alpha_bar_T) | sampler | start (std) | speech blocks | silent blocks (dB) |")
    print("| --- | --- | --- | --- | --- |")
    for chain, schedule in chains.items():
        for sampler, steps in runs:
            name = sampler + (f" {steps}" if steps else "")
            matched = marginal_start_std(start_alpha_bar(sampler, schedule), v)
            for start, std in (("N(0, I)", 1.0), ("matched", matched)):
                share, silent_db = block_stats(toy, schedule, sampler, steps, std, args.clips)
                print(
                    f"| {chain} ({float(schedule.alpha_bar[-1]):.2g}) | {name} | {start} "
                    f"({std:.3f}) | {100 * share:.1f}% | {silent_db:.1f} |"
                )
    print(f"| data | | | {100 * toy.P_SPEECH:.1f}% | -inf |")


if __name__ == "__main__":
    main()
