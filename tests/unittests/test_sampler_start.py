"""Samplers' starting noise matched to the forward marginal (audiodiff.diffusion.samplers.start).

``sample_data_variance``: DiffWave's 6-step fast schedule stops at alpha_bar 0.376, where the
forward marginal of quiet data has a std well below 1. Checked against the forward process on
block-mixture data (silence with probability 1 - p, N(0, s^2) with probability p),
and with the exact posterior-mean denoiser of data made of silent and speech blocks.
"""

import math

import torch

from audiodiff.diffusion.generate import sample_from_model
from audiodiff.diffusion.samplers import get_sampler
from audiodiff.diffusion.samplers.start import marginal_start_std, start_alpha_bar
from audiodiff.diffusion.schedules import make_schedule

P_SPEECH, S2, BLOCK = 0.1, 0.02, 256  # 10% "speech" blocks at -17 dB: v = 0.002


def block_mixture_denoiser(schedule):
    """eps(x_t, t) of the exact posterior mean for data made of blocks of BLOCK samples, each
    silent (probability 1 - p) or N(0, S2) ("speech"), at fractional training step t."""
    root = schedule.alpha_bar.double().sqrt()

    def denoiser(x_t, t):
        t = t.double()
        lo = t.floor().long().clamp(0, len(root) - 2)
        ab = ((root[lo] + (t - lo) * (root[lo + 1] - root[lo])) ** 2).view(-1, 1, 1)
        x = x_t.double().view(x_t.shape[0], -1, BLOCK)
        var0, var1 = 1 - ab, ab * S2 + 1 - ab
        energy = x.pow(2).sum(-1, keepdim=True)
        log_w1 = math.log(P_SPEECH) - 0.5 * (energy / var1 + BLOCK * var1.log())
        log_w0 = math.log(1 - P_SPEECH) - 0.5 * (energy / var0 + BLOCK * var0.log())
        x0 = torch.sigmoid(log_w1 - log_w0) * ab.sqrt() * S2 / var1 * x
        return ((x - ab.sqrt() * x0) / (1 - ab).sqrt()).view_as(x_t).to(x_t.dtype)

    return denoiser


def mixture_x0(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    speech = torch.rand(n // BLOCK, 1, generator=g) < P_SPEECH
    x0 = torch.randn(n // BLOCK, BLOCK, generator=g) * math.sqrt(S2)
    return torch.where(speech, x0, torch.zeros(())).flatten()


def test_marginal_start_std_is_the_forward_marginal_at_the_fast_schedules_end():
    schedule = make_schedule("linear", 200)
    ab_s = start_alpha_bar("fast", schedule)
    x0 = mixture_x0(400_000)
    x_s = ab_s**0.5 * x0 + (1 - ab_s) ** 0.5 * torch.randn(len(x0))
    expected = marginal_start_std(ab_s, float(x0.pow(2).mean()))
    assert abs(float(x_s.std()) - expected) < 0.005, (float(x_s.std()), expected)
    assert expected < 0.85  # far from the unit start at this alpha_bar


def speech_block_fraction(sampler, start_std, steps=None):
    schedule = make_schedule("linear", 200)
    x = torch.randn(2, 100 * BLOCK, generator=torch.Generator().manual_seed(0)) * start_std
    denoiser = block_mixture_denoiser(schedule)
    out = get_sampler(sampler)(
        lambda x_t, t: denoiser(x_t, t.float()),
        x,
        schedule,
        steps=steps,
        generator=torch.Generator().manual_seed(1),
    )
    block_power = out.double().view(2, -1, BLOCK).pow(2).mean(-1)
    return float((block_power > S2 / 4).double().mean())


def test_unit_start_of_the_fast_schedule_adds_speech_where_the_marginal_start_does_not():
    """With the exact denoiser of the block mixture, the fast schedule's unit-variance start
    makes several times more "speech" blocks than the marginal start; the 200-step chain,
    which starts at alpha_bar 0.132, gives the data's 10% from the unit start."""
    schedule = make_schedule("linear", 200)
    v = P_SPEECH * S2
    matched = speech_block_fraction(
        "fast", marginal_start_std(start_alpha_bar("fast", schedule), v)
    )
    unit = speech_block_fraction("fast", 1.0)
    assert unit > 2 * matched, (unit, matched)
    chain = speech_block_fraction("ddpm", 1.0)
    assert abs(chain - P_SPEECH) < 0.03, chain


def test_dpm_solver_from_the_matched_start_keeps_silence_where_the_unit_start_babbles():
    """DPM-Solver++ integrates the probability-flow ODE: deterministic, it keeps whatever the
    start gets wrong. On the SC09 chain (alpha_bar_T = 0.132) a unit start has more variance
    than silence has there (0.868), the exact denoiser reads every block as "speech" and the
    20-step ODE makes most of them speech (babble); from the marginal's std it gives the
    data's 10%. (DDPM's 200 ancestral steps re-draw noise and correct the start: see above.)"""
    schedule = make_schedule("linear", 200)
    v = P_SPEECH * S2
    start = marginal_start_std(start_alpha_bar("dpm_solver", schedule), v)
    matched = speech_block_fraction("dpm_solver", start, steps=20)
    unit = speech_block_fraction("dpm_solver", 1.0, steps=20)
    assert abs(matched - P_SPEECH) < 0.04, matched
    assert unit > 4 * P_SPEECH, unit


def test_start_alpha_bar_of_each_sampler():
    schedule = make_schedule("linear", 200)
    gamma = math.prod(1 - b for b in (1e-4, 1e-3, 1e-2, 5e-2, 0.2, 0.5))
    assert abs(start_alpha_bar("fast", schedule) - gamma) < 1e-9
    for name in ("ddpm", "ddim", "dpm_solver"):
        assert start_alpha_bar(name, schedule) == float(schedule.alpha_bar[-1])
    wg6 = start_alpha_bar(
        "fast",
        make_schedule("linear", 50, beta_start=1e-4, beta_end=0.05),
        {"noise_levels": "wg6", "clamp": True},
    )
    assert abs(wg6 - math.prod(1 - b for b in (7e-6, 1.4e-4, 2.1e-3, 2.8e-2, 0.35, 0.7))) < 1e-9


def test_sample_from_model_scales_x_T():
    schedule = make_schedule("linear", 200)
    seen = []

    def model(x_t, t):
        if not seen:
            seen.append(float(x_t.std()))
        return torch.zeros_like(x_t)

    for variance, expected in ((None, 1.0), (0.002, marginal_start_std(0.3763, 0.002))):
        seen.clear()
        sample_from_model(
            model,
            schedule,
            (2, 40_000),
            prediction="eps",
            sampler="fast",
            steps=None,
            generator=torch.Generator().manual_seed(0),
            data_variance=variance,
        )
        assert abs(seen[0] - expected) < 0.01, (variance, seen[0], expected)
