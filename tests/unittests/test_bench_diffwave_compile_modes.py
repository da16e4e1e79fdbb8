"""benchmarks/bench_diffwave_compile_modes.py: each variant (per-layer skip sum, cuDNN dilated
convolution) computes the lobe's function with the lobe's parameters (outputs and gradients)."""

import os
import sys

import pytest
import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "benchmarks"))

from bench_diffwave_compile_modes import VARIANTS  # noqa: E402

from audiodiff.nets import DiffWave  # noqa: E402


@pytest.mark.parametrize("variant", ["per_layer", "conv"])
def test_variant_equals_the_lobe(variant):
    torch.manual_seed(0)
    size = dict(residual_channels=8, residual_layers=5, dilation_cycle=2, embed_dim=16)
    size.update(label_classes={"digit": 10}, cond_drop_prob=0.0)
    lobe, fused = DiffWave(**size).double(), VARIANTS[variant](**size).double()
    torch.nn.init.normal_(lobe.output_projection.weight)
    for layer in lobe.layers:  # non-zero biases, so that the summed skip bias is tested
        torch.nn.init.normal_(layer.output.bias)
    fused.load_state_dict(lobe.state_dict())
    x, t, digit = (
        torch.randn(3, 1, 70).double(),
        torch.tensor([1, 50, 199]),
        torch.tensor([2, -1, 9]),
    )
    out_lobe, out_fused = lobe(x, t, digit=digit), fused(x, t, digit=digit)
    torch.testing.assert_close(out_fused, out_lobe)
    out_lobe.square().sum().backward()
    out_fused.square().sum().backward()
    grads = dict(fused.named_parameters())
    for name, p in lobe.named_parameters():
        torch.testing.assert_close(grads[name].grad, p.grad, msg=name)
