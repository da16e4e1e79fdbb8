"""ShiftEnsemble: a patched DiffWave averaged over its sub-patch shifts is equivariant to
one-sample shifts of its input, and a per-patch-position pattern averages out."""

import pytest
import torch

from audiodiff.nets.diffwave import DiffWave
from audiodiff.nets.shift_ensemble import ShiftEnsemble


def _patched_model(patch):
    torch.manual_seed(0)
    model = DiffWave(residual_channels=8, residual_layers=3, dilation_cycle=3, patch_size=patch)
    for param in model.parameters():  # the zero-initialised output layer would hide everything
        torch.nn.init.normal_(param, std=0.3)
    return model.eval()


def test_patched_model_is_not_shift_equivariant_but_its_ensemble_is():
    model = _patched_model(4)  # receptive field 60 samples: compare far from the edges
    x = torch.randn(2, 1, 512)
    t = torch.tensor([3, 40])
    shifted = torch.roll(x, 1, dims=-1)
    ensemble = ShiftEnsemble(model)
    with torch.no_grad():
        plain = (model(shifted, t) - torch.roll(model(x, t), 1, dims=-1))[..., 200:300]
        averaged = (ensemble(shifted, t) - torch.roll(ensemble(x, t), 1, dims=-1))[..., 200:300]
    assert plain.abs().max() > 1e-2
    assert averaged.abs().max() < 1e-5


def test_patch_one_model_is_unchanged():
    model = _patched_model(1)
    x = torch.randn(1, 1, 32)
    t = torch.tensor([5])
    with torch.no_grad():
        assert torch.equal(ShiftEnsemble(model)(x, t), model(x, t))


def test_period_pattern_leaves_no_line():
    """A network that adds a fixed pattern per patch position: a line at fs / 4 alone;
    through the ensemble the spectrum at that bin is gone."""

    class Phase(torch.nn.Module):
        patch_size = 4

        def forward(self, x, t):
            bias = torch.tensor([0.3, -0.1, 0.5, -0.7]).repeat(x.shape[-1] // 4 + 1)
            return x + bias[: x.shape[-1]]

    x = torch.zeros(1, 1, 256)
    line = torch.fft.rfft(Phase()(x, 0)[0, 0]).abs()[64]  # bin 64 of 256: fs / 4
    averaged = ShiftEnsemble(Phase())(x, 0)[0, 0]
    assert line > 10
    # the pattern's mean is 0: after the first samples (where delayed copies see the
    # padding) nothing is left, at fs / 4 or anywhere else
    assert averaged[4:].abs().max() < 1e-6


def test_bad_shifts():
    with pytest.raises(ValueError, match="shifts"):
        ShiftEnsemble(lambda x: x, shifts=0)
    with pytest.raises(ValueError, match="shifts"):
        ShiftEnsemble(lambda x: x, shifts=[-1])
