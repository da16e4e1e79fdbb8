"""benchmarks/bench_diffwave_compile_modes.py: each variant (per-layer skip sum, cuDNN dilated
convolution, autograd's gated backward) computes the lobe's function with the lobe's
parameters (outputs and gradients)."""

import os
import sys

import pytest
import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "benchmarks"))

from bench_diffwave_compile_modes import VARIANTS, conv_gated  # noqa: E402

from audiodiff.nets import DiffWave  # noqa: E402


@pytest.mark.parametrize("variant", ["cat", "per_layer", "conv", "torch_gate"])
def test_variant_equals_the_lobe(variant):
    torch.manual_seed(0)
    size = dict(residual_channels=8, residual_layers=5, dilation_cycle=2, embed_dim=16)
    size.update(label_classes={"digit": 10}, cond_drop_prob=0.0)
    lobe, variant_model = DiffWave(**size).double(), VARIANTS[variant](**size).double()
    torch.nn.init.normal_(lobe.output_projection.weight)
    for layer in lobe.layers:  # non-zero biases, so that the summed skip bias is tested
        torch.nn.init.normal_(layer.output.bias)
    variant_model.load_state_dict(lobe.state_dict())
    if variant == "conv":  # the cuDNN path is the one that runs
        assert all(layer.gated.func is conv_gated for layer in variant_model.layers)
    x, t, digit = (
        torch.randn(3, 1, 70).double(),
        torch.tensor([1, 50, 199]),
        torch.tensor([2, -1, 9]),
    )
    out_lobe, out_variant = lobe(x, t, digit=digit), variant_model(x, t, digit=digit)
    torch.testing.assert_close(out_variant, out_lobe)
    out_lobe.square().sum().backward()
    out_variant.square().sum().backward()
    grads = dict(variant_model.named_parameters())
    for name, p in lobe.named_parameters():
        torch.testing.assert_close(grads[name].grad, p.grad, msg=name)


def test_registered_quick_run_names_existing_variants():
    """benchmarks/run.py's quick run of this benchmark asks only for variants that exist."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bench_run", os.path.join(REPO, "benchmarks", "run.py")
    )
    bench_run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_run)
    (entry,) = [b for b in bench_run.BENCHMARKS if b.name == "diffwave_compile_modes"]
    args = entry.quick_args
    variants = args[args.index("--variants") + 1].split(",")
    assert variants and set(variants) <= set(VARIANTS)
