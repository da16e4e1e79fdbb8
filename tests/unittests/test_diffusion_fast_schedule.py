"""DiffWave's fast schedule: step alignment, the update written out, the sampler contract."""

import numpy as np
import pytest
import torch

from audiodiff.diffusion import EpsDenoiser, get_sampler, make_schedule
from audiodiff.diffusion.generate import sample_from_model
from audiodiff.diffusion.samplers import (
    DIFFWAVE_FAST_NOISE_LEVELS,
    align_noise_levels,
    sample_fast_schedule,
)


def reference_alignment(train_betas, levels):
    """The loop of DiffWave's fast sampling (paper, Appendix B), written out with numpy."""
    train_ab = np.cumprod(1 - np.asarray(train_betas, dtype=np.float64))
    gamma = np.cumprod(1 - np.asarray(levels, dtype=np.float64))
    out = []
    for g in gamma:
        for t in range(len(train_ab) - 1):
            if train_ab[t + 1] <= g <= train_ab[t]:
                out.append(
                    t
                    + (train_ab[t] ** 0.5 - g**0.5) / (train_ab[t] ** 0.5 - train_ab[t + 1] ** 0.5)
                )
                break
    return np.array(out)


def interpolated_ab(schedule, t):
    """alpha_bar at fractional t, sqrt(alpha_bar) linear between steps."""
    root = schedule.alpha_bar.double().sqrt()
    low = t.floor().long().clamp(0, len(root) - 2)
    return torch.lerp(root[low], root[low + 1], t.double() - low) ** 2


@pytest.mark.parametrize(
    "num_steps, beta_end, levels",
    [
        (200, 0.02, DIFFWAVE_FAST_NOISE_LEVELS),
        (50, 0.05, (1e-4, 1e-3, 1e-2, 5e-2, 0.2, 0.5)),
        (200, 0.02, (1e-3, 0.01, 0.1, 0.3)),
    ],
)
def test_alignment_matches_the_reference_loop(num_steps, beta_end, levels):
    schedule = make_schedule("linear", num_steps=num_steps, beta_end=beta_end)
    t_align, gamma = align_noise_levels(schedule, levels)
    expected = reference_alignment(schedule.betas.double().numpy(), levels)
    # the level 1e-4 equals beta_0, which the loop finds at t = 0 or not at all (round-off)
    np.testing.assert_allclose(t_align.numpy()[-len(expected) :], expected, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(interpolated_ab(schedule, t_align), gamma, rtol=1e-6, atol=1e-6)
    assert bool((t_align[1:] > t_align[:-1]).all())


def test_too_much_noise_is_refused():
    schedule = make_schedule("linear", num_steps=50, beta_end=0.05)
    with pytest.raises(ValueError, match="smaller noise levels"):
        align_noise_levels(schedule, (1e-4, 1e-3, 1e-2, 5e-2, 0.2, 0.7))
    with pytest.raises(ValueError, match="in \\(0, 1\\)"):
        align_noise_levels(schedule, (0.1, 1.5))


def test_eps_denoiser_interpolates_alpha_bar_at_fractional_steps():
    schedule = make_schedule("linear", num_steps=200)
    t_align, gamma = align_noise_levels(schedule, DIFFWAVE_FAST_NOISE_LEVELS)
    denoiser = EpsDenoiser(lambda x, t: torch.zeros_like(x), schedule, prediction="eps")
    x = torch.zeros(len(t_align), 1)
    torch.testing.assert_close(denoiser._alpha_bar(t_align.float(), x), gamma.float())
    integer = torch.tensor([0, 17, 199])
    torch.testing.assert_close(
        denoiser._alpha_bar(integer.float(), x), denoiser._alpha_bar(integer, x)
    )


class RecordingDenoiser:
    """eps = 0.3 x_t + 0.01 t (a smooth toy), recording the steps it is called at."""

    def __init__(self):
        self.steps = []

    def __call__(self, x_t, t, label=None):
        self.steps.append(t.clone())
        out = 0.3 * x_t + 0.01 * t.to(x_t.dtype).view(-1, *[1] * (x_t.ndim - 1))
        if label is not None:
            out = out + 0.1 * label.to(x_t.dtype).view(-1, *[1] * (x_t.ndim - 1))
        return out


def test_update_equals_written_out_algorithm():
    schedule = make_schedule("linear", num_steps=200)
    levels = np.array(DIFFWAVE_FAST_NOISE_LEVELS)
    alpha, gamma = 1 - levels, np.cumprod(1 - levels)
    t_align, _ = align_noise_levels(schedule, levels)
    x_T = torch.randn(4, 1, 10)
    generator = torch.Generator().manual_seed(5)
    x = x_T.clone()
    for s in reversed(range(len(levels))):  # DiffWave, Algorithm 2 on the short schedule
        eps = RecordingDenoiser()(x, torch.full((4,), float(t_align[s])))
        x = (x - levels[s] / np.sqrt(1 - gamma[s]) * eps) / np.sqrt(alpha[s])
        if s > 0:
            sigma = np.sqrt((1 - gamma[s - 1]) / (1 - gamma[s]) * levels[s])
            x = x + sigma * torch.randn(x.shape, generator=generator)
    recorder = RecordingDenoiser()
    out = sample_fast_schedule(recorder, x_T, schedule, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(out, x, rtol=1e-5, atol=1e-5)
    assert len(recorder.steps) == 6 and recorder.steps[0].dtype == torch.float32
    torch.testing.assert_close(recorder.steps[0], torch.full((4,), float(t_align[-1])))


def test_true_x0_denoiser_recovers_x0():
    schedule = make_schedule("linear", num_steps=200)
    x0 = torch.rand(3, 1, 7) * 2 - 1

    def denoiser(x_t, t):
        ab = interpolated_ab(schedule, t).float().view(-1, 1, 1)
        return (x_t - ab.sqrt() * x0) / (1 - ab).sqrt()

    out = sample_fast_schedule(denoiser, torch.randn(3, 1, 7), schedule)
    torch.testing.assert_close(out, x0, rtol=1e-4, atol=1e-4)


def test_contract_steps_seed_guidance_clip_callback():
    schedule = make_schedule("linear", num_steps=200)
    x_T = torch.randn(4, 3, dtype=torch.float64)
    assert get_sampler("fast") is sample_fast_schedule
    with pytest.raises(ValueError, match="steps must be None or 6"):
        sample_fast_schedule(RecordingDenoiser(), x_T, schedule, steps=20)
    runs = [
        sample_fast_schedule(
            RecordingDenoiser(), x_T, schedule, steps=6, generator=torch.Generator().manual_seed(s)
        )
        for s in (1, 1, 2)
    ]
    assert runs[0].dtype == torch.float64 and runs[0].shape == x_T.shape
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])
    cond, uncond = {"label": torch.tensor([0, 1, 2, 3])}, {"label": torch.full((4,), -1)}
    counted = RecordingDenoiser()
    seen = []
    guided = sample_fast_schedule(
        counted,
        x_T,
        schedule,
        cond=cond,
        uncond=uncond,
        guidance_scale=3.0,
        clip_x0=0.5,
        callback=lambda n, x_t, x0: seen.append(float(x0.abs().max())),
    )
    assert len(counted.steps) == 6 and counted.steps[0].shape == (8,)  # one batched call
    assert len(seen) == 6 and max(seen) <= 0.5 + 1e-9
    assert float(guided.abs().max()) <= 0.5 + 1e-6


def test_through_sample_from_model_with_a_diffwave():
    from audiodiff.nets import DiffWave

    torch.manual_seed(0)
    model = DiffWave(
        residual_channels=8,
        residual_layers=2,
        dilation_cycle=2,
        embed_dim=16,
        label_classes={"digit": 10},
    ).eval()
    torch.nn.init.normal_(model.output_projection.weight, std=0.1)
    schedule = make_schedule("linear", num_steps=200)
    for prediction in ("eps", "v"):
        out = sample_from_model(
            model,
            schedule,
            (2, 1, 40),
            prediction=prediction,
            sampler="fast",
            steps=None,
            labels={"digit": torch.tensor([1, 2])},
            guidance_scale=2.0,
            generator=torch.Generator().manual_seed(0),
        )
        assert out.shape == (2, 1, 40) and bool(torch.isfinite(out).all())


def test_named_schedules_and_clamping_to_the_training_range():
    from audiodiff.diffusion.samplers import FAST_NOISE_LEVELS, WAVEGRAD_WG6_NOISE_LEVELS

    assert FAST_NOISE_LEVELS["diffwave6"] == DIFFWAVE_FAST_NOISE_LEVELS
    assert FAST_NOISE_LEVELS["wg6"] == WAVEGRAD_WG6_NOISE_LEVELS
    # the vocoder schedule (T = 50, betas 1e-4 .. 0.05): alpha_bar_T = 0.280 > WG-6's 0.189
    schedule = make_schedule("linear", num_steps=50, beta_start=1e-4, beta_end=0.05)
    with pytest.raises(ValueError, match="smaller noise levels"):
        align_noise_levels(schedule, "wg6")
    t_align, gamma = align_noise_levels(schedule, "wg6", clamp=True)
    assert float(t_align[-1]) == 49.0 and float(t_align[-2]) < 49.0
    torch.testing.assert_close(
        gamma[-1], torch.tensor(0.18911, dtype=torch.float64), rtol=1e-4, atol=0
    )
    named = align_noise_levels(schedule, "diffwave6")
    torch.testing.assert_close(
        named[0], align_noise_levels(schedule, DIFFWAVE_FAST_NOISE_LEVELS)[0]
    )
    with pytest.raises(ValueError, match="unknown fast schedule"):
        align_noise_levels(schedule, "wg7")
    x0 = torch.rand(2, 1, 6) * 2 - 1

    def denoiser(x_t, t):
        ab = interpolated_ab(schedule, t).float().view(-1, 1, 1)
        return (x_t - ab.sqrt() * x0) / (1 - ab).sqrt()

    out = sample_fast_schedule(
        denoiser, torch.randn(2, 1, 6), schedule, noise_levels="wg6", clamp=True
    )
    assert out.shape == x0.shape and bool(torch.isfinite(out).all())
