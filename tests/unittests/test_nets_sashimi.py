"""SaShiMi and S4D: kernel vs the recurrence, FFT convolution vs direct sums, non-causality,
shapes, conditioning, bf16."""

import math

import pytest
import torch

from audiodiff.nets import S4D, SaShiMi
from audiodiff.nets.sashimi import s4d_kernel


def tiny(**kwargs):
    torch.manual_seed(0)
    args = dict(d_model=8, n_layers=1, pool=(2, 2), state_size=4, embed_dim=16, step_embed_dim=8)
    args.update(kwargs)
    model = SaShiMi(**args)
    torch.nn.init.normal_(model.output[-1].weight)
    return model


def test_kernel_equals_recurrent_reference():
    """Zero-order-hold recurrence x_k = exp(dt A) x_{k-1} + (exp(dt A) - 1) / A * B u_k,
    y_k = 2 Re(C x_k), driven by a random input, equals the convolution with the kernel."""
    torch.manual_seed(0)
    channels, modes, length = 2, 3, 12
    layer = S4D(channels, state_size=2 * modes, bidirectional=False).double()
    with torch.no_grad():
        layer.a_log_real.uniform_(-1.0, 0.5)
        layer.log_dt.fill_(math.log(0.3))
    u = torch.randn(length, channels, dtype=torch.float64)
    dt = layer.log_dt.exp()[:, None]
    a = torch.complex(-layer.a_log_real.exp(), layer.a_imag).to(torch.complex128)
    c = torch.view_as_complex(layer.c.detach().contiguous()).to(torch.complex128)
    decay, gain = torch.exp(dt * a), torch.expm1(dt * a) / a
    state = torch.zeros(channels, modes, dtype=torch.complex128)
    ys = []
    for k in range(length):
        state = decay * state + gain * u[k][:, None]
        ys.append(2 * (c * state).sum(-1).real)
    recurrent = torch.stack(ys)  # [length, channels]
    kernel = s4d_kernel(layer.log_dt, layer.a_log_real, layer.a_imag, layer.c, length).double()
    conv = torch.stack([sum(kernel[:, j] * u[k - j] for j in range(k + 1)) for k in range(length)])
    torch.testing.assert_close(conv, recurrent, rtol=1e-4, atol=1e-5)


def test_bidirectional_fft_convolution_equals_direct_sums():
    torch.manual_seed(0)
    channels, length = 3, 10
    layer = S4D(channels, state_size=4)
    u = torch.randn(2, length, channels)
    k_fwd, k_bwd = layer.kernel(length).detach().chunk(2, dim=0)
    expected = torch.zeros_like(u)
    for t in range(length):
        for s in range(length):
            if s <= t:
                expected[:, t] += k_fwd[:, t - s] * u[:, s]
            else:
                expected[:, t] += k_bwd[:, s - t - 1] * u[:, s]
    expected += u * layer.d.detach()
    torch.testing.assert_close(layer.convolve(u).detach(), expected, rtol=1e-4, atol=1e-4)


def test_non_causal_output_depends_on_the_future():
    model = tiny().double()
    x = torch.randn(1, 1, 32, dtype=torch.float64, requires_grad=True)
    model(x, torch.tensor([10]))[0, 0, 8].backward()
    grad = x.grad[0, 0].abs()
    assert grad[9:].sum() > 1e-8, "no dependence on samples after t"
    assert grad[:8].sum() > 1e-8, "no dependence on samples before t"
    assert grad[-1] > 0  # the whole input: also the last sample


def test_causal_layer_ignores_the_future():
    layer = S4D(4, state_size=4, bidirectional=False).double()
    u = torch.randn(1, 20, 4, dtype=torch.float64, requires_grad=True)
    layer(u)[0, 5].sum().backward()
    past, future = u.grad[0, :6].abs().max(), u.grad[0, 6:].abs().max()
    assert past > 1e-3 and future < 1e-9 * past  # zero up to FFT round-off


@pytest.mark.parametrize("length", [32, 30, 17])
def test_shapes_any_length(length):
    model = tiny(label_classes={"digit": 10})
    out = model(torch.randn(2, 1, length), torch.tensor([0, 199]), digit=torch.tensor([5, -1]))
    assert out.shape == (2, 1, length)


def test_labels_change_the_output():
    model = tiny(label_classes={"digit": 10}).eval()
    x, t = torch.randn(1, 1, 16).expand(2, 1, 16), torch.tensor([4, 4])
    out = model(x, t, digit=torch.tensor([1, 2]))
    assert not torch.allclose(out[0], out[1])
    with pytest.raises(ValueError, match="out of range"):
        model(x, t, digit=torch.tensor([1, 12]))
    with pytest.raises(ValueError, match="no mel"):
        model(x, t, mel=torch.randn(2, 4, 4))


def test_paper_size_parameter_count():
    params = SaShiMi().num_parameters()  # the paper's SC09 model: 23.0M
    assert 22.5e6 < params < 23.5e6


def test_bf16_autocast_and_backward():
    model = tiny()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(torch.randn(2, 1, 32), torch.tensor([1, 2]))
    assert bool(torch.isfinite(out.float()).all())
    out.float().pow(2).mean().backward()
    assert model.down[0].s4.c.grad is not None and model.down[0].s4.log_dt.grad is not None
