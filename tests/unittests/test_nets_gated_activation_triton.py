"""The gated activation with its one-pass Triton backward: the reference formula, the fallback,
the kernel against autograd through Triton's CPU interpreter (in a subprocess,
``run_in_triton_interpreter`` of conftest.py), DiffWave's fused-skip path with the kernels
against plain PyTorch, and bf16 on CUDA where there is one."""

import textwrap

import pytest
import torch

from audiodiff.nets.dilated_conv_triton import triton
from audiodiff.nets.gated_activation_triton import gated_activation, gated_activation_reference

needs_triton = pytest.mark.skipif(triton is None, reason="triton is not installed")


def test_reference_is_tanh_of_filter_times_sigmoid_of_gate():
    h = torch.randn(2, 7, 12)
    want = torch.tanh(h[..., 6:]) * torch.sigmoid(h[..., :6])
    torch.testing.assert_close(gated_activation_reference(h), want)


def test_fallback_is_the_reference_and_copies_are_checked():
    h = torch.randn(1, 5, 24)  # 12 channels: never the kernel
    assert torch.equal(gated_activation(h), gated_activation_reference(h))
    a, b = gated_activation(h, copies=2)
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="copies"):
        gated_activation(h, copies=3)


INTERPRETED_CHECK = textwrap.dedent(
    """
    import torch
    from audiodiff.nets import DiffWave
    from audiodiff.nets.gated_activation_triton import (
        gated_activation, gated_activation_reference)

    torch.manual_seed(0)
    for B, T, C in [(2, 37, 16), (1, 50, 32), (3, 5, 48)]:
        h = torch.randn(B, T, 2 * C, requires_grad=True)
        ref = gated_activation_reference(h)
        g1, g2 = torch.randn_like(ref), torch.randn_like(ref)
        a = gated_activation(h)
        assert torch.equal(a, ref)
        got, = torch.autograd.grad(a, h, g1)
        want, = torch.autograd.grad(gated_activation_reference(h), h, g1)
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
        # two copies, the second read through a strided slice (as the fused skip product does)
        a1, a2 = gated_activation(h, copies=2)
        wide = torch.cat([torch.zeros_like(a2), a2], dim=-1)[..., C:]
        got, = torch.autograd.grad((a1 * g1).sum() + (wide * g2).sum(), h)
        want, = torch.autograd.grad(gated_activation_reference(h), h, g1 + g2)
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
        a1, a2 = gated_activation(h, copies=2)  # only the second copy used
        got, = torch.autograd.grad((a2 * g2).sum(), h)
        want, = torch.autograd.grad(gated_activation_reference(h), h, g2)
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    # DiffWave's fused-skip path (compiled training) with the kernels vs plain PyTorch
    args = dict(residual_channels=16, residual_layers=3, dilation_cycle=2, embed_dim=32,
                label_classes={"digit": 10}, cond_drop_prob=0.0)
    fast = DiffWave(**args)
    torch.nn.init.normal_(fast.output_projection.weight)
    slow = DiffWave(**args, dilated_kernel="torch")
    slow.load_state_dict(fast.state_dict())
    h0 = torch.randn(2, 40, 16)
    steps = torch.randn(2, 3, 16)
    outs = [fast.run_layers_fused_skip(h0, steps, None), slow.run_layers_per_layer(h0, steps, None)]
    torch.testing.assert_close(outs[0], outs[1], atol=1e-4, rtol=1e-4)
    for out in outs:
        out.square().sum().backward()
    for (name, p), q in zip(fast.named_parameters(), slow.parameters()):
        if q.grad is not None:
            torch.testing.assert_close(p.grad, q.grad, atol=1e-3, rtol=1e-3, msg=name)
    assert fast.layers[0].dilated.weight.grad.abs().sum() > 0
    print("interpreted gated kernel matches")
    """
)


@needs_triton
def test_gated_backward_matches_autograd_in_the_triton_interpreter(run_in_triton_interpreter):
    run_in_triton_interpreter(INTERPRETED_CHECK, "interpreted gated kernel matches")


@needs_triton
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gated_backward_bf16_on_cuda():
    torch.manual_seed(0)
    h = torch.randn(2, 3000, 128, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    g1, g2 = torch.randn(2, 2, 3000, 64, device="cuda", dtype=torch.bfloat16)
    a1, a2 = gated_activation(h, copies=2)
    (got,) = torch.autograd.grad([a1, a2], h, [g1, g2])
    (want,) = torch.autograd.grad(gated_activation_reference(h.float()), h, g1.float() + g2.float())
    torch.testing.assert_close(got.float(), want.float(), atol=0.02, rtol=0.02)
