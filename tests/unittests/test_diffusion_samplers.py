"""Contract tests shared by every sampler in audiodiff.diffusion.samplers."""

import functools

import pytest
import torch
from hyperpyyaml import load_hyperpyyaml

from audiodiff.diffusion import (
    SAMPLERS,
    get_sampler,
    make_schedule,
    sample_ddim,
    sample_ddpm,
    sample_dpm_solver,
)

MU, S = 0.5, 0.3  # data distribution x0 ~ N(MU, S^2), independently per dimension
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
# (name, sampler, kwargs): every sampler family and mode, few steps for the cheap tests.
FAST_CASES = [
    ("ddpm", sample_ddpm, {"steps": 10}),
    ("ddim", sample_ddim, {"steps": 10}),
    ("ddim_eta1", sample_ddim, {"steps": 10, "eta": 1.0}),
    ("dpm_solver", sample_dpm_solver, {"steps": 10}),
]
FAST_IDS = [case[0] for case in FAST_CASES]


def _ab(schedule, t, x):
    return schedule.alpha_bar.to(x.device)[t].reshape(-1, *[1] * (x.ndim - 1))


def gaussian_denoiser(schedule):
    """The exact E[eps | x_t] for x0 ~ N(MU, S^2): for x_t = a x0 + s eps (a^2 = ab),
    x_t ~ N(a MU, ab S^2 + 1 - ab) and E[eps | x_t] = s (x_t - a MU) / (ab S^2 + 1 - ab)."""

    def denoiser(x_t, t):
        ab = _ab(schedule, t, x_t)
        return (1 - ab).sqrt() * (x_t - ab.sqrt() * MU) / (ab * S**2 + 1 - ab)

    return denoiser


def true_x0_denoiser(schedule, x0):
    """Returns the eps that makes x0 the exact answer: eps = (x_t - a x0) / s."""

    def denoiser(x_t, t):
        ab = _ab(schedule, t, x_t)
        return (x_t - ab.sqrt() * x0) / (1 - ab).sqrt()

    return denoiser


# Distribution test. 4000 x 8 = 32000 draws: the sample mean has standard error
# S / sqrt(32000) = 0.0017 and the sample std 0.0012, so 0.01 is about 6 standard errors
# for the mean. The std tolerance adds to this the sampler's own discretisation bias,
# measured on this problem (always an under-estimate of S; it shrinks as steps grow):
# full DDPM -0.003 (cosine) / -0.005 (linear); respaced ancestral 50 steps (DDPM, DDIM eta=1,
# beta_tilde variance too small for large steps) -0.028; DDIM eta=0 50 steps -0.014 (cosine)
# / -0.026 (linear); DPM-Solver++(2M) 20 steps -0.019 (cosine), 50 steps -0.013 (linear).
# The linear schedule is only run where time-uniform steps suit it (DPM-Solver 20 steps on
# it: -0.055).
DISTRIBUTION_CASES = [
    ("cosine", sample_ddpm, {}, 0.01),
    ("cosine", sample_ddpm, {"steps": 50}, 0.035),
    ("cosine", sample_ddim, {"steps": 50}, 0.02),
    ("cosine", sample_ddim, {"steps": 50, "eta": 1.0}, 0.035),
    ("cosine", sample_dpm_solver, {"steps": 20}, 0.025),
    ("linear", sample_ddpm, {}, 0.01),
    ("linear", sample_ddim, {"steps": 50}, 0.035),
    ("linear", sample_dpm_solver, {"steps": 50}, 0.02),
]


@pytest.mark.parametrize(
    "kind, sampler, kwargs, std_tol",
    DISTRIBUTION_CASES,
    ids=[f"{c[0]}-{c[1].__name__}-{c[2]}" for c in DISTRIBUTION_CASES],
)
def test_samples_match_gaussian_data(kind, sampler, kwargs, std_tol):
    schedule = make_schedule(kind, num_steps=1000)
    generator = torch.Generator().manual_seed(0)
    x_T = torch.randn(4000, 8, generator=generator)
    x0 = sampler(gaussian_denoiser(schedule), x_T, schedule, generator=generator, **kwargs)
    assert abs(float(x0.mean()) - MU) < 0.01
    assert abs(float(x0.std()) - S) < std_tol


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name, sampler, kwargs", FAST_CASES, ids=FAST_IDS)
def test_shape_dtype_device_kept(name, sampler, kwargs, dtype, device):
    schedule = make_schedule("cosine", num_steps=100).to(device)
    x_T = torch.randn(2, 1, 4, 6, dtype=dtype, device=device)
    out = sampler(gaussian_denoiser(schedule), x_T, schedule, **kwargs)
    assert out.shape == x_T.shape and out.dtype == dtype and out.device == x_T.device
    assert bool(torch.isfinite(out).all())


@pytest.mark.parametrize("name, sampler, kwargs", FAST_CASES, ids=FAST_IDS)
def test_same_seed_same_output(name, sampler, kwargs):
    schedule = make_schedule("cosine", num_steps=100)
    x_T = torch.randn(3, 5)
    denoiser = gaussian_denoiser(schedule)
    outs = [
        sampler(denoiser, x_T, schedule, generator=torch.Generator().manual_seed(seed), **kwargs)
        for seed in (1, 1, 2)
    ]
    assert torch.equal(outs[0], outs[1])
    deterministic = name in ("ddim", "dpm_solver")
    assert torch.equal(outs[0], outs[2]) == deterministic


@pytest.mark.parametrize("name, sampler, kwargs", FAST_CASES, ids=FAST_IDS)
@pytest.mark.parametrize("kind", ["cosine", "linear"])
def test_true_x0_denoiser_recovers_x0(name, sampler, kwargs, kind):
    schedule = make_schedule(kind, num_steps=1000)
    x0 = torch.rand(3, 2, 5) * 2 - 1
    x_T = torch.randn(3, 2, 5)
    out = sampler(true_x0_denoiser(schedule, x0), x_T, schedule, **kwargs)
    torch.testing.assert_close(out, x0, rtol=1e-4, atol=1e-4)


def test_full_ddpm_equals_explicit_ancestral_chain():
    T = 20
    schedule = make_schedule("linear", num_steps=T, beta_start=1e-3, beta_end=0.3)
    denoiser = gaussian_denoiser(schedule)
    x_T = torch.randn(6, 3)
    betas, alphas = schedule.betas, schedule.alphas
    ab, ab_prev = schedule.alpha_bar, schedule.alpha_bar_prev
    generator = torch.Generator().manual_seed(3)
    x = x_T.clone()
    for t in reversed(range(T)):  # Ho et al. 2020, Algorithm 2
        eps = denoiser(x, torch.full((6,), t))
        x = (x - betas[t] / (1 - ab[t]).sqrt() * eps) / alphas[t].sqrt()
        if t > 0:
            var = (1 - ab_prev[t]) / (1 - ab[t]) * betas[t]
            x = x + var.sqrt() * torch.randn(x.shape, generator=generator)
    out = sample_ddpm(denoiser, x_T, schedule, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(out, x, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(out, sample_ddpm(denoiser, x_T, schedule, steps=10))


def test_respaced_ddpm_equals_ddim_eta1():
    schedule = make_schedule("cosine", num_steps=100)
    denoiser, x_T = gaussian_denoiser(schedule), torch.randn(4, 3)
    a = sample_ddpm(denoiser, x_T, schedule, steps=7, generator=torch.Generator().manual_seed(0))
    b = sample_ddim(
        denoiser, x_T, schedule, steps=7, eta=1.0, generator=torch.Generator().manual_seed(0)
    )
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_dpm_solver_first_order_steps_equal_ddim():
    # With 3 steps, DPM-Solver++(2M) takes only first-order steps (first and last), which are
    # DDIM steps (Lu et al. 2022, sec. 4.1); with 6 its second-order steps differ.
    schedule = make_schedule("cosine", num_steps=100)
    denoiser, x_T = gaussian_denoiser(schedule), torch.randn(4, 3)
    torch.testing.assert_close(
        sample_dpm_solver(denoiser, x_T, schedule, steps=3),
        sample_ddim(denoiser, x_T, schedule, steps=3),
        rtol=1e-4,
        atol=1e-4,
    )
    a = sample_dpm_solver(denoiser, x_T, schedule, steps=6)
    assert not torch.allclose(a, sample_ddim(denoiser, x_T, schedule, steps=6), atol=1e-3)


@pytest.mark.parametrize("sampler, order", [(sample_ddim, 1), (sample_dpm_solver, 2)])
def test_convergence_order_to_exact_ode_map(sampler, order):
    """The probability-flow ODE maps x_T to MU + S (x_T - a MU) / sqrt(ab S^2 + 1 - ab) for
    Gaussian data; doubling the steps must divide the error by about 2**order."""
    schedule = make_schedule("cosine", num_steps=1000)
    ab = schedule.alpha_bar[-1].double()
    x_T = torch.linspace(-2, 2, 9, dtype=torch.float64)[:, None]
    exact = MU + S * (x_T - ab.sqrt() * MU) / (ab * S**2 + 1 - ab).sqrt()
    denoiser = gaussian_denoiser(schedule)
    errors = [
        float((sampler(denoiser, x_T, schedule, steps=n) - exact).abs().max()) for n in (50, 100)
    ]
    ratio = errors[0] / errors[1]
    assert 2**order * 0.8 < ratio < 2**order * 1.25


@pytest.mark.parametrize("name, sampler, kwargs", FAST_CASES, ids=FAST_IDS)
def test_clip_x0_and_callback(name, sampler, kwargs):
    schedule = make_schedule("cosine", num_steps=100)
    seen = []

    def callback(n, x_t, x0):
        seen.append(n)
        assert x_t.shape == x0.shape == (50, 2)
        assert float(x0.abs().max()) <= 0.6 + 1e-6

    x_T = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    out = sampler(
        gaussian_denoiser(schedule), x_T, schedule, clip_x0=0.6, callback=callback, **kwargs
    )
    assert seen == list(range(kwargs["steps"]))
    assert float(out.abs().max()) <= 0.6 + 1e-4
    assert float(out.abs().max()) > 0.55  # the clip is active: MU + 2 S = 1.1 > 0.6


class CondDenoiser:
    """Toy conditional denoiser: eps = 0.5 x_t + 0.1 * label (label -1 = null)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, x_t, t, label):
        self.calls += 1
        return 0.5 * x_t + 0.1 * label.to(x_t.dtype)[:, None]


@pytest.mark.parametrize("name, sampler, kwargs", FAST_CASES, ids=FAST_IDS)
def test_guidance(name, sampler, kwargs):
    schedule = make_schedule("cosine", num_steps=100)
    x_T = torch.randn(4, 3)
    cond, uncond = {"label": torch.tensor([0, 1, 2, 3])}, {"label": torch.full((4,), -1)}

    def run(denoiser, **extra):
        return sampler(
            denoiser, x_T, schedule, generator=torch.Generator().manual_seed(0), **kwargs, **extra
        )

    plain = run(CondDenoiser(), cond=cond)
    torch.testing.assert_close(
        run(CondDenoiser(), cond=cond, uncond=uncond, guidance_scale=1.0), plain
    )
    counted = CondDenoiser()
    guided = run(counted, cond=cond, uncond=uncond, guidance_scale=3.0)
    assert counted.calls == kwargs["steps"]  # one batched call per step

    def by_hand(x_t, t):  # eps_u + 3 (eps_c - eps_u), written out
        eps_c = CondDenoiser()(x_t, t, **cond)
        eps_u = CondDenoiser()(x_t, t, **uncond)
        return eps_u + 3.0 * (eps_c - eps_u)

    torch.testing.assert_close(guided, run(by_hand))
    assert not torch.allclose(guided, plain)


def test_get_sampler_and_yaml():
    assert set(SAMPLERS) == {"ddpm", "ddim", "dpm_solver", "fast"}
    for name, fn in SAMPLERS.items():
        assert get_sampler(name) is fn
    with pytest.raises(ValueError, match="dpm_solver"):
        get_sampler("euler")
    hparams = load_hyperpyyaml(
        "sampler: !name:audiodiff.diffusion.samplers.sample_ddim\n  steps: 5"
    )
    assert isinstance(hparams["sampler"], functools.partial)
    schedule = make_schedule("cosine", num_steps=50)
    out = hparams["sampler"](gaussian_denoiser(schedule), torch.randn(2, 3), schedule)
    assert out.shape == (2, 3)


def test_progress_bar_runs(capsys):
    schedule = make_schedule("cosine", num_steps=20)
    out = sample_ddim(
        gaussian_denoiser(schedule), torch.randn(2, 3), schedule, steps=4, progress=True
    )
    assert out.shape == (2, 3)
