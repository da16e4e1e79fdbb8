"""The implicit-GEMM Triton kernels of DiffWave's dilated convolution: the reference against
``conv1d``; the kernels (forward, input, weight and bias gradients) against the reference
through Triton's CPU interpreter (in a subprocess, ``run_in_triton_interpreter`` of conftest.py);
a whole DiffWave with and without the kernels; bf16 on CUDA where there is one."""

import textwrap

import pytest
import torch
import torch.nn.functional as F

from audiodiff.nets.dilated_conv_triton import (
    dilated_linear,
    dilated_linear_reference,
    dilated_weight_grad,
    triton,
    triton_usable,
)

needs_triton = pytest.mark.skipif(triton is None, reason="triton is not installed")


@pytest.mark.parametrize("dilation,kernel_size", [(1, 3), (4, 3), (2, 5), (64, 3)])
def test_reference_is_a_dilated_conv1d(dilation, kernel_size):
    torch.manual_seed(0)
    y, w, b = torch.randn(2, 40, 6), torch.randn(10, kernel_size * 6), torch.randn(10)
    # tap j of the Linear weight is the conv kernel's position j
    conv_w = w.unflatten(1, (kernel_size, 6)).permute(0, 2, 1)
    pad = dilation * (kernel_size - 1) // 2
    conv = F.conv1d(y.transpose(1, 2), conv_w, b, padding=pad, dilation=dilation)
    out = dilated_linear_reference(y, w, b, dilation, kernel_size)
    torch.testing.assert_close(out, conv.transpose(1, 2), atol=1e-5, rtol=1e-5)


def test_reference_appends_local_features_unshifted():
    y, local = torch.zeros(1, 5, 2), torch.arange(5.0).reshape(1, 5, 1)
    w = torch.zeros(1, 7)
    w[0, 6] = 1.0  # only the local channel
    out = dilated_linear_reference(y, w, None, 2, 3, local=local)
    assert out[0, :, 0].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_fallback_without_triton_and_wrong_weight_shape():
    y = torch.randn(1, 10, 12)  # 12 channels: not a multiple of 16, the fallback
    assert not triton_usable(y, 12)
    w = torch.randn(24, 36)
    assert torch.equal(dilated_linear(y, w, None, 2, 3), dilated_linear_reference(y, w, None, 2, 3))
    with pytest.raises(ValueError, match="is not"):
        dilated_linear(y, torch.randn(24, 30), None, 2, 3)


INTERPRETED_CHECK = textwrap.dedent(
    """
    import torch
    from audiodiff.nets import DiffWave
    from audiodiff.nets.dilated_conv_triton import (
        dilated_linear, dilated_linear_reference, triton_usable)

    torch.manual_seed(0)
    # (batch, samples, C, dilation, taps, bias): dilations beyond the clip, 5 taps, no bias
    # and with or without a per-item step added to the input
    for B, T, C, d, k, bias, with_step in [
            (2, 50, 16, 1, 3, True, False), (2, 37, 32, 4, 3, False, True),
            (1, 20, 16, 32, 3, True, True), (3, 70, 16, 2, 5, True, False)]:
        y = torch.randn(B, T, C, requires_grad=True)
        w = torch.randn(2 * C, k * C, requires_grad=True)
        b = torch.randn(2 * C, requires_grad=True) if bias else None
        step = torch.randn(B, C, requires_grad=True) if with_step else None
        assert triton_usable(y, C)
        params = [y, w] + ([b] if bias else []) + ([step] if with_step else [])
        y_in = y + step[:, None] if with_step else y
        h = dilated_linear(y_in, w, b, d, k)
        g = torch.randn_like(h)
        got = torch.autograd.grad(h, params, g)
        ref = dilated_linear_reference(y_in, w, b, d, k)
        want = torch.autograd.grad(ref, params, g)
        torch.testing.assert_close(h, ref, atol=1e-4, rtol=1e-4)
        for x, z in zip(got, want):
            torch.testing.assert_close(x, z, atol=1e-4, rtol=1e-4)
        assert (h - ref).abs().max() < 1e-4 and got[0].abs().sum() > 0
    # output channels not a multiple of 16: the concatenation form, same result
    y, w = torch.randn(2, 30, 16), torch.randn(24, 48)
    torch.testing.assert_close(dilated_linear(y, w, None, 2, 3),
                               dilated_linear_reference(y, w, None, 2, 3))
    # a whole DiffWave: the kernels vs the concatenation, outputs and every gradient
    args = dict(residual_channels=16, residual_layers=3, dilation_cycle=2, embed_dim=32,
                label_classes={"digit": 10}, cond_drop_prob=0.0)
    torch.manual_seed(1)
    fast = DiffWave(**args)
    torch.nn.init.normal_(fast.output_projection.weight)
    slow = DiffWave(**args, dilated_kernel="torch")
    slow.load_state_dict(fast.state_dict())
    x, t, digit = torch.randn(2, 1, 40), torch.tensor([3, 100]), torch.tensor([1, 7])
    outs = [m(x, t, digit=digit) for m in (fast, slow)]
    torch.testing.assert_close(outs[0], outs[1], atol=1e-4, rtol=1e-4)
    for out in outs:
        out.square().sum().backward()
    for (name, p), q in zip(fast.named_parameters(), slow.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-3, rtol=1e-3, msg=name)
    # the vocoder mode: taps by the kernels + the mel by a second product, vs one concatenation
    args = dict(residual_channels=16, residual_layers=3, dilation_cycle=2, embed_dim=32,
                n_mels=8, upsample_factors=(2, 2))
    torch.manual_seed(2)
    fast = DiffWave(**args)
    torch.nn.init.normal_(fast.output_projection.weight)
    slow = DiffWave(**args, dilated_kernel="torch")
    slow.load_state_dict(fast.state_dict())
    x, t, mel = torch.randn(2, 1, 40), torch.tensor([3, 40]), torch.randn(2, 8, 10)
    outs = [m(x, t, mel=mel) for m in (fast, slow)]
    torch.testing.assert_close(outs[0], outs[1], atol=1e-4, rtol=1e-4)
    for out in outs:
        out.square().sum().backward()
    for (name, p), q in zip(fast.named_parameters(), slow.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-3, rtol=1e-3, msg=name)
    print("interpreted kernels match")
    """
)


@needs_triton
def test_kernels_match_the_reference_in_the_triton_interpreter(run_in_triton_interpreter):
    run_in_triton_interpreter(INTERPRETED_CHECK, "interpreted kernels match")


@needs_triton
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_kernels_bf16_on_cuda():
    torch.manual_seed(0)
    y = torch.randn(2, 3000, 64, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    w = torch.randn(128, 192, device="cuda", requires_grad=True)
    b = torch.randn(128, device="cuda", requires_grad=True)
    h = dilated_linear(y, w, b, 256, 3)
    g = torch.randn_like(h)
    got = torch.autograd.grad(h, [y, w, b], g)
    ref = dilated_linear_reference(y, w, b.to(y.dtype), 256, 3)
    want = torch.autograd.grad(ref, [y, w, b], g)
    torch.testing.assert_close(h, ref, atol=0.3, rtol=0.05)
    for x, z in zip(got, want):
        torch.testing.assert_close(x.float(), z.float(), atol=2.0, rtol=0.05)


@pytest.mark.parametrize(
    "batch,length,dilation,taps",
    [(1, 50, 4, 3), (4, 37, 1, 3), (3, 20, 32, 3), (3, 70, 2, 5), (5, 100, 40, 5), (2, 10, 9, 3)],
)
def test_weight_grad_over_flat_rows_matches_autograd(batch, length, dilation, taps):
    # shifts beyond the clip (32 > 20), one item (no cross-item rows), 5 taps, shift = T - 1
    torch.manual_seed(0)
    y = torch.randn(batch, length, 8, dtype=torch.float64)
    w = torch.randn(16, taps * 8, dtype=torch.float64, requires_grad=True)
    g = torch.randn(batch, length, 16, dtype=torch.float64)
    (want,) = torch.autograd.grad(dilated_linear_reference(y, w, None, dilation, taps), w, g)
    got = dilated_weight_grad(g, y, dilation, taps)
    torch.testing.assert_close(got, want, atol=1e-10, rtol=1e-10)
    assert got.abs().sum() > 0
