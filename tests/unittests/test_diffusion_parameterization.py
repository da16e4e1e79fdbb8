"""Tests of audiodiff.diffusion.forward and audiodiff.diffusion.parameterization."""

import pytest
import torch

from audiodiff.diffusion import (
    PREDICTIONS,
    EpsDenoiser,
    append_dims,
    eps_to_x0,
    make_schedule,
    output_to_eps,
    output_to_x0,
    q_sample,
    training_target,
    v_target,
    v_to_eps,
    v_to_x0,
    x0_to_eps,
)


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(4, 2, 3, 5, generator=g)
    eps = torch.randn(4, 2, 3, 5, generator=g)
    alpha_bar = torch.tensor([0.999, 0.7, 0.2, 0.01])
    a = alpha_bar.sqrt()[:, None, None, None]
    s = (1 - alpha_bar).sqrt()[:, None, None, None]
    return x0, eps, alpha_bar, a * x0 + s * eps, a * eps - s * x0


def test_append_dims():
    v = torch.arange(3.0)
    out = append_dims(v, 4)
    assert out.shape == (3, 1, 1, 1)
    torch.testing.assert_close(out.flatten(), v)
    assert append_dims(v, 1).shape == (3,)
    with pytest.raises(ValueError):
        append_dims(torch.zeros(2, 2), 1)


def test_q_sample_closed_form():
    schedule = make_schedule("linear", num_steps=100)
    x0, noise = torch.randn(3, 2, 4), torch.randn(3, 2, 4)
    t = torch.tensor([0, 50, 99])
    ab = schedule.alpha_bar[t][:, None, None]
    expected = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
    torch.testing.assert_close(q_sample(schedule, x0, t, noise), expected)


def test_conversions_from_x_t(data):
    x0, eps, alpha_bar, x_t, v = data
    torch.testing.assert_close(eps_to_x0(eps, x_t, alpha_bar), x0, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(x0_to_eps(x0, x_t, alpha_bar), eps, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(v_target(x0, eps, alpha_bar), v)
    torch.testing.assert_close(v_to_eps(v, x_t, alpha_bar), eps, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(v_to_x0(v, x_t, alpha_bar), x0, rtol=1e-5, atol=1e-5)


def test_conversions_are_mutual_inverses(data):
    x0, eps, alpha_bar, x_t, _ = data
    # Arbitrary predictions, not consistent with x_t: round trips must still hold.
    x0_hat = eps.flip(0)
    eps_back = x0_to_eps(x0_hat, x_t, alpha_bar)
    torch.testing.assert_close(eps_to_x0(eps_back, x_t, alpha_bar), x0_hat, rtol=1e-4, atol=1e-4)
    v_hat = x0.flip(0)
    torch.testing.assert_close(
        x0_to_eps(v_to_x0(v_hat, x_t, alpha_bar), x_t, alpha_bar),
        v_to_eps(v_hat, x_t, alpha_bar),
        rtol=1e-4,
        atol=1e-4,
    )


def test_scalar_alpha_bar_broadcasts():
    x0, eps = torch.ones(2, 3), torch.zeros(2, 3)
    v = v_target(x0, eps, torch.tensor(0.36))
    torch.testing.assert_close(v, torch.full((2, 3), -0.8))


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_training_target_and_output_conversions(data, prediction):
    x0, eps, alpha_bar, x_t, v = data
    target = training_target(prediction, x0, eps, alpha_bar)
    expected = {"eps": eps, "x0": x0, "v": v}[prediction]
    torch.testing.assert_close(target, expected)
    # A perfect network's output converts back to the true eps and x0.
    torch.testing.assert_close(
        output_to_eps(prediction, target, x_t, alpha_bar), eps, rtol=1e-4, atol=1e-4
    )
    torch.testing.assert_close(
        output_to_x0(prediction, target, x_t, alpha_bar), x0, rtol=1e-4, atol=1e-4
    )


def test_bad_prediction_raises(data):
    x0, eps, alpha_bar, x_t, _ = data
    with pytest.raises(ValueError, match="eps"):
        training_target("score", x0, eps, alpha_bar)
    with pytest.raises(ValueError):
        output_to_eps("velocity", x0, x_t, alpha_bar)
    with pytest.raises(ValueError):
        output_to_x0("", x0, x_t, alpha_bar)
    with pytest.raises(ValueError):
        EpsDenoiser(lambda x, t: x, make_schedule("cosine", 10), prediction="noise")


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_eps_denoiser(prediction):
    schedule = make_schedule("cosine", num_steps=100)
    x0, eps = torch.randn(3, 1, 4, 6), torch.randn(3, 1, 4, 6)
    t = torch.tensor([5, 50, 90])
    x_t = q_sample(schedule, x0, t, eps)
    alpha_bar = schedule.alpha_bar[t]
    calls = []

    def model(x, t_in, digit=None):
        calls.append(digit)
        return training_target(prediction, x0, eps, alpha_bar)

    denoiser = EpsDenoiser(model, schedule, prediction=prediction)
    torch.testing.assert_close(denoiser(x_t, t, digit=7), eps, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(denoiser.predict_x0(x_t, t, digit=7), x0, rtol=1e-4, atol=1e-4)
    assert calls == [7, 7]
