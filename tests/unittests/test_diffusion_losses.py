"""Tests of audiodiff.diffusion.losses."""

import pytest
import torch

from audiodiff.diffusion import diffusion_loss, make_schedule, masked_mse, relative_length_mask


def test_relative_length_mask_last_dim():
    mask = relative_length_mask(torch.tensor([1.0, 0.5, 0.0]), (3, 1, 2, 4))
    assert mask.dtype == torch.bool and mask.shape == (3, 1, 1, 4)
    expected = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 0, 0]], dtype=torch.bool)
    assert torch.equal(mask.reshape(3, 4), expected)


def test_relative_length_mask_other_dim():
    # [batch, frames, features] layout: time on dim 1.
    mask = relative_length_mask(torch.tensor([0.25, 0.75]), (2, 4, 3), time_dim=1)
    assert mask.shape == (2, 4, 1)
    assert mask.reshape(2, 4).sum(1).tolist() == [1, 3]


def test_masked_mse_ignores_masked_region():
    g = torch.Generator().manual_seed(0)
    pred, target = torch.randn(2, 1, 3, 8, generator=g), torch.randn(2, 1, 3, 8, generator=g)
    mask = relative_length_mask(torch.tensor([1.0, 0.5]), pred.shape)
    loss = masked_mse(pred, target, mask)
    changed = pred.clone()
    changed[1, ..., 4:] = float("nan")
    torch.testing.assert_close(masked_mse(changed, target, mask), loss)
    # Mean over the valid elements only: 3 * 8 + 3 * 4 of them.
    sq = (pred - target) ** 2
    expected = (sq[0].sum() + sq[1, ..., :4].sum()) / 36
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(masked_mse(pred, target), sq.mean())


def _oracle(prediction, x0, noise, schedule):
    """A model returning the exact training target, written without the library helpers."""

    def model(x_t, t):
        ab = schedule.alpha_bar[t][:, None, None]
        if prediction == "eps":
            return noise
        if prediction == "x0":
            return x0
        return ab.sqrt() * noise - (1 - ab).sqrt() * x0

    return model


@pytest.mark.parametrize("prediction", ["eps", "v", "x0"])
def test_diffusion_loss_oracle_zero_and_wrong_model_positive(prediction):
    schedule = make_schedule("cosine", num_steps=100)
    g = torch.Generator().manual_seed(1)
    x0, noise = torch.randn(4, 2, 6, generator=g), torch.randn(4, 2, 6, generator=g)
    t = torch.tensor([0, 10, 50, 99])
    model = _oracle(prediction, x0, noise, schedule)
    loss = diffusion_loss(model, x0, schedule, prediction=prediction, t=t, noise=noise)
    assert loss.ndim == 0
    assert float(loss) < 1e-10
    zero_model = lambda x_t, t: torch.zeros_like(x_t)  # noqa: E731
    wrong = diffusion_loss(zero_model, x0, schedule, prediction=prediction, t=t, noise=noise)
    assert 0.1 < float(wrong) < 10.0


def test_diffusion_loss_samples_t_and_noise_with_generator():
    schedule = make_schedule("linear", num_steps=50)
    x0 = torch.randn(8, 1, 4, 5)
    seen = []

    def model(x_t, t, digit):
        seen.append((t.clone(), digit))
        return x_t

    losses = [
        diffusion_loss(
            model,
            x0,
            schedule,
            cond={"digit": 3},
            generator=torch.Generator().manual_seed(seed),
        )
        for seed in (5, 5, 6)
    ]
    torch.testing.assert_close(losses[0], losses[1])
    assert not torch.equal(losses[0], losses[2])
    t = seen[0][0]
    assert t.dtype == torch.long and t.shape == (8,) and seen[0][1] == 3
    assert int(t.min()) >= 0 and int(t.max()) <= 49


def test_diffusion_loss_with_mask_ignores_padding():
    schedule = make_schedule("cosine", num_steps=20)
    x0, noise = torch.randn(2, 1, 3, 6), torch.randn(2, 1, 3, 6)
    t = torch.tensor([3, 15])
    mask = relative_length_mask(torch.tensor([1.0, 0.5]), x0.shape)

    def model(x_t, t):
        out = torch.zeros_like(x_t)
        out[1, ..., 3:] = 1e6  # garbage only in the padded frames
        return out

    masked = diffusion_loss(model, x0, schedule, prediction="eps", mask=mask, t=t, noise=noise)
    valid = mask.expand_as(x0)
    torch.testing.assert_close(masked, (noise[valid] ** 2).mean())
