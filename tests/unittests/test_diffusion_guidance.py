"""Tests of audiodiff.diffusion.guidance."""

import pytest
import torch

from audiodiff.diffusion import guided_eps


class ToyDenoiser:
    """eps = x_t * (1 + label) + t / 10, counting its calls and batch sizes."""

    def __init__(self):
        self.batch_sizes = []

    def __call__(self, x_t, t, label, context=None):
        assert context is None
        self.batch_sizes.append(x_t.shape[0])
        return x_t * (1 + label.float()[:, None]) + t.float()[:, None] / 10


@pytest.fixture
def inputs():
    x_t = torch.randn(3, 4)
    t = torch.tensor([1, 2, 3])
    cond = {"label": torch.tensor([1, 2, 3]), "context": None}
    uncond = {"label": torch.tensor([-1, -1, -1]), "context": None}
    return x_t, t, cond, uncond


def test_scale_one_is_plain_conditional_call(inputs):
    x_t, t, cond, uncond = inputs
    denoiser = ToyDenoiser()
    out = guided_eps(denoiser, x_t, t, cond, uncond, guidance_scale=1.0)
    torch.testing.assert_close(out, ToyDenoiser()(x_t, t, **cond))
    assert denoiser.batch_sizes == [3]
    torch.testing.assert_close(guided_eps(denoiser, x_t, t, cond, None, 4.0), out)


@pytest.mark.parametrize("scale", [0.0, 2.5, 7.0])
def test_guided_combination_single_batched_call(inputs, scale):
    x_t, t, cond, uncond = inputs
    denoiser = ToyDenoiser()
    out = guided_eps(denoiser, x_t, t, cond, uncond, guidance_scale=scale)
    assert denoiser.batch_sizes == [6]
    eps_c = ToyDenoiser()(x_t, t, **cond)
    eps_u = ToyDenoiser()(x_t, t, **uncond)
    torch.testing.assert_close(out, eps_u + scale * (eps_c - eps_u))


def test_mismatched_keys_raise(inputs):
    x_t, t, cond, _ = inputs
    with pytest.raises(ValueError, match="same keys"):
        guided_eps(ToyDenoiser(), x_t, t, cond, {"context": None}, guidance_scale=2.0)
    with pytest.raises(ValueError):
        bad = {"label": None, "context": None}
        guided_eps(ToyDenoiser(), x_t, t, cond, bad, guidance_scale=2.0)


def test_no_cond():
    calls = []

    def denoiser(x_t, t):
        calls.append(x_t.shape[0])
        return x_t

    x_t = torch.ones(2, 3)
    torch.testing.assert_close(guided_eps(denoiser, x_t, torch.zeros(2).long()), x_t)
    assert calls == [2]


def test_chained_guidance_one_scale_per_condition(inputs):
    """eps = eps_2 + s_1 (eps_0 - eps_1) + s_2 (eps_1 - eps_2), from one 3-fold batched call."""
    x_t, t, cond, uncond = inputs
    partial = {"label": torch.tensor([0, 0, 0]), "context": None}
    denoiser = ToyDenoiser()
    out = guided_eps(denoiser, x_t, t, cond, [partial, uncond], guidance_scale=[2.0, 3.5])
    assert denoiser.batch_sizes == [9]
    eps = [ToyDenoiser()(x_t, t, **c) for c in (cond, partial, uncond)]
    expected = eps[2] + 2.0 * (eps[0] - eps[1]) + 3.5 * (eps[1] - eps[2])
    torch.testing.assert_close(out, expected)


def test_chained_equal_scales_match_single_scale(inputs):
    x_t, t, cond, uncond = inputs
    partial = {"label": torch.tensor([2, 0, 1]), "context": None}
    chained = guided_eps(ToyDenoiser(), x_t, t, cond, [partial, uncond], guidance_scale=[3.0, 3.0])
    single = guided_eps(ToyDenoiser(), x_t, t, cond, uncond, guidance_scale=3.0)
    torch.testing.assert_close(chained, single)


def test_chained_all_ones_is_one_conditional_call(inputs):
    x_t, t, cond, uncond = inputs
    denoiser = ToyDenoiser()
    out = guided_eps(denoiser, x_t, t, cond, [uncond, uncond], guidance_scale=[1, 1.0])
    assert denoiser.batch_sizes == [3]
    torch.testing.assert_close(out, ToyDenoiser()(x_t, t, **cond))


def test_chained_scale_count_must_match(inputs):
    x_t, t, cond, uncond = inputs
    with pytest.raises(ValueError, match="as many guidance scales"):
        guided_eps(ToyDenoiser(), x_t, t, cond, [uncond, uncond], guidance_scale=2.0)
