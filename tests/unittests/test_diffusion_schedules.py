"""Tests of audiodiff.diffusion.schedules."""

import math

import pytest
import torch
from hyperpyyaml import load_hyperpyyaml

from audiodiff.diffusion import (
    NoiseSchedule,
    cosine_betas,
    linear_betas,
    make_schedule,
    respace_timesteps,
)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_alpha_bar_strictly_decreasing_in_unit_interval(kind):
    schedule = make_schedule(kind, num_steps=1000)
    alpha_bar = schedule.alpha_bar
    assert alpha_bar.dtype == torch.float32 and alpha_bar.shape == (1000,)
    assert bool((alpha_bar[1:] < alpha_bar[:-1]).all())
    assert 0 < float(alpha_bar[-1]) and float(alpha_bar[0]) < 1


def test_buffers_consistent():
    schedule = make_schedule("linear", num_steps=50)
    betas = linear_betas(50)
    torch.testing.assert_close(schedule.betas, betas.float())
    torch.testing.assert_close(schedule.alphas, 1 - betas.float())
    torch.testing.assert_close(schedule.alpha_bar, torch.cumprod(1 - betas, 0).float())
    torch.testing.assert_close(schedule.alpha_bar_prev[0], torch.tensor(1.0))
    torch.testing.assert_close(schedule.alpha_bar_prev[1:], schedule.alpha_bar[:-1])
    assert set(dict(schedule.named_buffers())) == {"betas", "alphas", "alpha_bar", "alpha_bar_prev"}


def test_linear_betas_endpoints():
    betas = linear_betas(1000)
    assert betas.dtype == torch.float64
    torch.testing.assert_close(betas[[0, -1]], torch.tensor([1e-4, 0.02], dtype=torch.float64))


def test_cosine_matches_closed_form():
    T, s = 1000, 0.008
    alpha_bar = NoiseSchedule(cosine_betas(T, s=s)).alpha_bar.double()

    def f(t):
        return math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2

    # Code step t is the paper's step t + 1: alpha_bar[t] = f(t + 1) / f(0). The last step
    # is affected by the max_beta clip, so compare the others.
    expected = torch.tensor([f(t + 1) / f(0) for t in range(T - 1)], dtype=torch.float64)
    torch.testing.assert_close(alpha_bar[:-1], expected, rtol=1e-5, atol=1e-7)
    assert cosine_betas(T).max() == 0.999


def test_make_schedule_betas_round_trip():
    betas = [0.01, 0.05, 0.2, 0.5]
    schedule = make_schedule("betas", betas=betas)
    assert schedule.num_steps == 4
    torch.testing.assert_close(schedule.betas, torch.tensor(betas))
    torch.testing.assert_close(schedule.alpha_bar[-1], torch.tensor(0.99 * 0.95 * 0.8 * 0.5))


@pytest.mark.parametrize("betas", [[0.1, 0.0], [0.1, 1.0], [-0.1], [1.5], [], [[0.1, 0.2]]])
def test_bad_betas_raise(betas):
    with pytest.raises(ValueError):
        NoiseSchedule(betas)


def test_make_schedule_errors():
    with pytest.raises(ValueError, match="linear"):
        make_schedule("quadratic")
    with pytest.raises(ValueError):
        make_schedule("betas")
    with pytest.raises(ValueError):
        make_schedule("cosine", betas=[0.1])


def test_schedule_kwargs_and_log_snr():
    schedule = make_schedule("linear", num_steps=10, beta_start=0.1, beta_end=0.5)
    torch.testing.assert_close(schedule.betas[[0, -1]], torch.tensor([0.1, 0.5]))
    t = torch.tensor([0, 9])
    alpha_bar = schedule.alpha_bar[t]
    torch.testing.assert_close(
        schedule.log_snr(t), 0.5 * torch.log(alpha_bar / (1 - alpha_bar)), rtol=1e-5, atol=1e-6
    )


def test_state_dict_round_trip():
    a = make_schedule("cosine", num_steps=20)
    b = make_schedule("linear", num_steps=20)
    b.load_state_dict(a.state_dict())
    torch.testing.assert_close(b.alpha_bar, a.alpha_bar)


def test_hyperpyyaml():
    hparams = load_hyperpyyaml(
        """
schedule: !apply:audiodiff.diffusion.make_schedule
    kind: cosine
    num_steps: 1000
custom: !new:audiodiff.diffusion.NoiseSchedule
    betas: [0.1, 0.2, 0.3]
"""
    )
    assert isinstance(hparams["schedule"], NoiseSchedule)
    assert hparams["schedule"].num_steps == 1000
    torch.testing.assert_close(hparams["custom"].betas, torch.tensor([0.1, 0.2, 0.3]))


@pytest.mark.parametrize("T, steps", [(1000, 50), (1000, 20), (1000, 1), (20, 20), (10, 3)])
def test_respace_timesteps(T, steps):
    timesteps = respace_timesteps(T, steps)
    assert timesteps.dtype == torch.long and timesteps.shape == (steps,)
    assert int(timesteps[-1]) == T - 1
    assert int(timesteps[0]) >= 0
    assert bool((timesteps[1:] > timesteps[:-1]).all())


def test_respace_values():
    assert respace_timesteps(1000, 50)[:3].tolist() == [19, 39, 59]
    assert respace_timesteps(20, 20).tolist() == list(range(20))
    with pytest.raises(ValueError):
        respace_timesteps(10, 11)
    with pytest.raises(ValueError):
        respace_timesteps(10, 0)
