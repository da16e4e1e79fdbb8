"""DiffWave: shapes in every mode, the GEMM form of the dilated convolution, the receptive
field, label / mel conditioning, parity of size with SpeechBrain's DiffWave, bf16, compile."""

import math

import pytest
import torch
import torch.nn.functional as F

from audiodiff.nets import DiffWave
from audiodiff.nets.diffwave import _ResidualLayer, diffwave_receptive_field


def tiny(**kwargs):
    torch.manual_seed(0)
    args = dict(residual_channels=8, residual_layers=4, dilation_cycle=2, embed_dim=32)
    args.update(kwargs)
    model = DiffWave(**args)
    # the output projection is zero-initialised: give the output a dependence on the input
    torch.nn.init.normal_(model.output_projection.weight)
    return model


def test_shapes_unconditional_label_and_mel():
    x, t = torch.randn(3, 1, 123), torch.tensor([0, 5, 199])
    assert tiny()(x, t).shape == (3, 1, 123)
    assert tiny(label_classes={"digit": 10})(x, t, digit=torch.tensor([0, 9, -1])).shape == (
        3,
        1,
        123,
    )
    vocoder = tiny(n_mels=10, upsample_factors=(4, 2))
    # 16 frames x hop 8 = 128 samples, cropped to the waveform's 123
    assert vocoder(x, t, mel=torch.randn(3, 10, 16)).shape == (3, 1, 123)


def test_zero_initialised_output():
    model = DiffWave(residual_channels=8, residual_layers=2, dilation_cycle=2)
    out = model(torch.randn(2, 1, 50), torch.tensor([1, 2]))
    torch.testing.assert_close(out, torch.zeros_like(out))


def test_dilated_gemm_equals_conv1d():
    torch.manual_seed(0)
    channels, dilation, k = 6, 4, 3
    layer = _ResidualLayer(channels, dilation, k, cond_channels=0)
    x = torch.randn(2, 40, channels)  # time-major
    step = torch.randn(2, channels)
    out, skip = layer(x, step)
    y = (x + step[:, None]).transpose(1, 2)  # [batch, C, time]
    weight = layer.dilated.weight.view(2 * channels, k, channels).permute(0, 2, 1)
    h = F.conv1d(y, weight, layer.dilated.bias, padding=dilation, dilation=dilation)
    gate, filt = h.chunk(2, dim=1)
    a = torch.tanh(filt) * torch.sigmoid(gate)
    h = F.conv1d(a, layer.output.weight[:, :, None], layer.output.bias)
    residual, skip_ref = h.chunk(2, dim=1)
    torch.testing.assert_close(out, (x + residual.transpose(1, 2)) / 2**0.5)
    torch.testing.assert_close(skip, skip_ref.transpose(1, 2))


@pytest.mark.parametrize("layers, cycle", [(4, 2), (6, 3)])
def test_receptive_field_analytic_equals_measured(layers, cycle):
    model = tiny(residual_layers=layers, dilation_cycle=cycle).double()
    expected = 1 + 2 * sum(2 ** (i % cycle) for i in range(layers))
    assert model.receptive_field == expected == diffwave_receptive_field(layers, cycle)
    length, center = 4 * expected, 2 * expected
    x = torch.randn(4, 1, length, dtype=torch.float64, requires_grad=True)
    model(x, torch.tensor([3, 10, 50, 100]))[:, 0, center].sum().backward()
    seen = (x.grad.abs().sum(dim=(0, 1)) > 0).nonzero().flatten()
    half = (expected - 1) // 2
    assert seen.min().item() == center - half and seen.max().item() == center + half


def test_paper_size_receptive_field():
    assert diffwave_receptive_field(36, 12) == 24571  # 1.54 s at 16 kHz


def test_labels_change_the_output_and_null_label():
    model = tiny(label_classes={"digit": 10}).eval()
    x, t = torch.randn(1, 1, 64).expand(3, 1, 64), torch.tensor([7, 7, 7])
    out = model(x, t, digit=torch.tensor([1, 2, -1]))
    assert not torch.allclose(out[0], out[1])
    torch.testing.assert_close(model(x[:1], t[:1]), out[2:])  # missing label = null label
    with pytest.raises(ValueError, match="out of range"):
        model(x, t, digit=torch.tensor([1, 2, 10]))
    with pytest.raises(ValueError, match="unknown label"):
        model(x, t, speaker=torch.tensor([0, 0, 0]))


def test_condition_dropout_only_in_training():
    model = tiny(label_classes={"digit": 10}, cond_drop_prob=1.0)
    x, t = torch.randn(2, 1, 32), torch.tensor([3, 3])
    model.train()
    dropped = model(x, t, digit=torch.tensor([4, 5]))
    model.eval()
    torch.testing.assert_close(dropped, model(x, t, digit=torch.tensor([-1, -1])))
    assert not torch.allclose(dropped, model(x, t, digit=torch.tensor([4, 5])))


def test_mel_required_exactly_in_vocoder_mode():
    x, t = torch.randn(1, 1, 32), torch.tensor([1])
    with pytest.raises(ValueError, match="needs a mel"):
        tiny(n_mels=4, upsample_factors=(2, 2))(x, t)
    with pytest.raises(ValueError, match="takes no mel"):
        tiny()(x, t, mel=torch.randn(1, 4, 8))
    vocoder = tiny(n_mels=4, upsample_factors=(2, 2))
    a = vocoder(x, t, mel=torch.randn(1, 4, 8))
    assert not torch.allclose(a, vocoder(x, t, mel=torch.randn(1, 4, 8)))


def test_fractional_steps_interpolate_smoothly():
    model = tiny().eval()
    x = torch.randn(1, 1, 32)
    out = [model(x, torch.tensor([v])) for v in (10.0, 10.5, 11.0)]
    assert not torch.allclose(out[0], out[2])
    torch.testing.assert_close(out[1], (out[0] + out[2]) / 2, rtol=0.05, atol=0.05)
    torch.testing.assert_close(model(x, torch.tensor([10])), out[0])


def test_same_size_as_speechbrain_diffwave():
    from speechbrain.lobes.models.DiffWave import DiffWave as PeerDiffWave

    peer = PeerDiffWave(
        input_channels=80,
        residual_layers=6,
        residual_channels=16,
        dilation_cycle_length=3,
        total_steps=200,
        unconditional=True,
    )
    ours = DiffWave(residual_channels=16, residual_layers=6, dilation_cycle=3)
    assert ours.num_parameters() == sum(p.numel() for p in peer.parameters())


def test_bf16_autocast_and_backward():
    model = tiny(label_classes={"digit": 10})
    x = torch.randn(2, 1, 64)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x, torch.tensor([1, 2]), digit=torch.tensor([3, 4]))
    assert out.dtype == torch.bfloat16 and bool(torch.isfinite(out).all())
    out.float().pow(2).mean().backward()
    assert model.layers[0].dilated.weight.grad is not None


def test_traces_as_one_graph():
    torch._dynamo.reset()
    model = tiny(label_classes={"digit": 10})
    compiled = torch.compile(model, backend="eager", fullgraph=True)
    x, t, d = torch.randn(2, 1, 32), torch.tensor([1, 2]), torch.tensor([3, -1])
    torch.testing.assert_close(compiled(x, t, digit=d), model.eval()(x, t, digit=d))


@pytest.mark.parametrize("patch", [2, 4])
def test_patched_model_shapes_and_receptive_field(patch):
    model = tiny(residual_layers=4, dilation_cycle=2, patch_size=patch).double()
    assert model.receptive_field == patch * diffwave_receptive_field(4, 2)
    length = 8 * model.receptive_field + 3  # not a multiple of the patch: padded, cropped
    x = torch.randn(2, 1, length, dtype=torch.float64, requires_grad=True)
    out = model(x, torch.tensor([3, 10]))
    assert out.shape == (2, 1, length)
    center = 4 * model.receptive_field
    out[:, 0, center].sum().backward()
    seen = (x.grad.abs().sum(dim=(0, 1)) > 0).nonzero().flatten()
    assert seen.max().item() - seen.min().item() + 1 <= model.receptive_field
    assert seen.min().item() <= center <= seen.max().item()


def test_patch_size_not_in_vocoder_mode():
    with pytest.raises(ValueError, match="patch_size"):
        DiffWave(residual_channels=8, residual_layers=2, n_mels=10, patch_size=2)


def test_label_template_conditions_and_shares_the_dropout():
    model = tiny(label_classes={"digit": 10}, label_template_frames=5, cond_drop_prob=1.0)
    assert model.template is not None
    x, t = torch.randn(2, 1, 60), torch.tensor([4, 4])
    digits = torch.tensor([1, 2])
    # only the template differs between two digits: zero the global label embedding
    with torch.no_grad():
        model.step_embed.label_embeds["digit"].table.weight.zero_()
    model.eval()
    a = model(x, t, digit=digits)
    b = model(x, t, digit=torch.tensor([5, 6]))
    assert not torch.allclose(a, b)
    null = model(x, t, digit=torch.tensor([-1, -1]))
    model.train()  # cond_drop_prob 1: every label dropped, in the template too
    torch.testing.assert_close(model(x, t, digit=digits), null)


def test_label_template_ignored_without_labels():
    assert tiny(label_template_frames=5).template is None


@pytest.mark.parametrize("kwargs", [{"label_classes": {"digit": 10}}, {"n_mels": 10}])
def test_fused_skip_product_equals_per_layer_skip_sum(kwargs):
    """The compiled-training path (one skip product) and the layer-by-layer path: the same
    outputs and the same gradients for every parameter."""
    model = tiny(cond_drop_prob=0.0, upsample_factors=(4, 2), **kwargs).double()
    for layer in model.layers:  # non-zero biases, so that the summed skip bias is tested
        torch.nn.init.normal_(layer.output.bias)
    x, t = torch.randn(3, 1, 64).double(), torch.tensor([1, 50, 199])
    cond = {"digit": torch.tensor([2, -1, 9])} if "label_classes" in kwargs else {}
    if "n_mels" in kwargs:
        cond["mel"] = torch.randn(3, 10, 8).double()
    grads = {}
    for path in ("run_layers_per_layer", "run_layers_fused_skip"):
        model.zero_grad()
        model.run_layers = getattr(model, path)  # an instance attribute shadows the method
        out = model(x, t, **cond)
        out.square().sum().backward()
        grads[path] = (out, {n: p.grad.clone() for n, p in model.named_parameters()})
    (out_a, grads_a), (out_b, grads_b) = grads.values()
    torch.testing.assert_close(out_b, out_a)
    for name, grad in grads_a.items():
        torch.testing.assert_close(grads_b[name], grad, msg=name)


def test_cached_upsampled_mel_equals_the_mel():
    vocoder = tiny(n_mels=6, upsample_factors=(2, 4))
    torch.nn.init.normal_(vocoder.output_projection.weight)
    x, t, mel = torch.randn(2, 1, 75), torch.tensor([1, 30]), torch.randn(2, 6, 10)
    local = vocoder.upsample_mel(mel, 75)
    assert local.shape == (2, 75, 6)
    torch.testing.assert_close(vocoder(x, t, local_mel=local), vocoder(x, t, mel=mel))
    with pytest.raises(ValueError, match="needs a mel"):
        vocoder(x, t)
    with pytest.raises(ValueError, match="takes no mel"):
        tiny()(x, t, local_mel=local)


@pytest.mark.parametrize("hop", [256, 300, 200, 128, 160, 120, 2048, 150, 2])
def test_upsample_factors_multiply_to_any_even_hop(hop):
    from audiodiff.nets import MelUpsampler, upsample_factors

    factors = upsample_factors(hop)
    assert math.prod(factors) == hop and all(f % 2 == 0 for f in factors)
    assert list(factors) == sorted(factors)
    up = MelUpsampler(factors)
    assert up(torch.randn(1, 3, 5), length=5 * hop).shape == (1, 3, 5 * hop)


def test_upsample_factors_refuse_an_odd_hop():
    from audiodiff.nets import upsample_factors

    with pytest.raises(ValueError, match="even hop length.*got 275.*274 or 276"):
        upsample_factors(275)
