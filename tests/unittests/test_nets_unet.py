"""Tests for audiodiff.nets.unet.SpectrogramUNet (tiny configs, CPU)."""

import pytest
import torch
from torch import nn

from audiodiff.nets import CrossAttention2d, SelfAttention2d, SpectrogramUNet

LABELS = {"digit": 10, "speaker": 6}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny ops: one thread avoids thread-sync overhead (10x slower when the CPU is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_unet(perturb=True, **kwargs):
    """A tiny U-Net; ``perturb`` re-initialises the zero-initialised layers so that
    conditioning reaches the output."""
    torch.manual_seed(0)
    config = dict(
        base_channels=16,
        channel_mults=(1, 2, 2),
        num_res_blocks=1,
        attention_levels=(2,),
        num_heads=2,
        label_classes=LABELS,
    )
    config.update(kwargs)
    model = SpectrogramUNet(**config)
    if perturb:
        nn.init.normal_(model.output[-1].weight, std=0.1)
        for module in model.modules():
            if isinstance(module, (SelfAttention2d, CrossAttention2d)):
                nn.init.normal_(module.proj.weight, std=0.1)
    return model.eval()


def labels(batch, digit, speaker):
    return dict(
        digit=torch.full((batch,), digit, dtype=torch.long),
        speaker=torch.full((batch,), speaker, dtype=torch.long),
    )


@pytest.mark.parametrize("shape", [(2, 1, 80, 61), (1, 1, 37, 50), (2, 1, 8, 8), (1, 1, 3, 5)])
def test_output_shape_any_size_and_zero_init(shape):
    model = make_unet(perturb=False)
    x = torch.randn(shape)
    t = torch.randint(0, 1000, (shape[0],))
    out = model(x, t)
    assert out.shape == shape
    torch.testing.assert_close(out, torch.zeros(shape), rtol=0, atol=0)  # zero-init last conv
    assert make_unet()(x, t, **labels(shape[0], 3, 1)).abs().max() > 0


def test_out_channels_and_float_scalar_t():
    model = make_unet(in_channels=2, out_channels=3, label_classes=None)
    x = torch.randn(2, 2, 20, 17)
    out = model(x, torch.tensor([5, 5]))
    assert out.shape == (2, 3, 20, 17)
    torch.testing.assert_close(model(x, torch.tensor([5.0, 5.0])), out)
    torch.testing.assert_close(model(x, torch.tensor(5)), out)
    assert (model(x, torch.tensor([6, 6])) - out).abs().max() > 1e-6


def test_batch_elements_are_independent():
    model = make_unet(context_dim=8)
    x, t = torch.randn(3, 1, 20, 12), torch.tensor([1, 50, 900])
    context, mask = torch.randn(3, 5, 8), torch.rand(3, 5) > 0.3
    cond = dict(digit=torch.tensor([1, -1, 9]), speaker=torch.tensor([0, 5, -1]))
    out = model(x, t, context=context, context_mask=mask, **cond)
    for b in range(3):
        single = model(
            x[b : b + 1],
            t[b : b + 1],
            context=context[b : b + 1],
            context_mask=mask[b : b + 1],
            **{name: value[b : b + 1] for name, value in cond.items()},
        )
        torch.testing.assert_close(single, out[b : b + 1], atol=1e-5, rtol=1e-4)


def test_labels_change_output_and_minus_one_equals_omitted():
    model = make_unet()
    x, t = torch.randn(2, 1, 24, 20), torch.tensor([10, 10])
    base = model(x, t, **labels(2, 3, 2))
    assert (model(x, t, **labels(2, 4, 2)) - base).abs().max() > 1e-4
    assert (model(x, t, **labels(2, 3, 5)) - base).abs().max() > 1e-4
    null = model(x, t, **labels(2, -1, -1))
    assert (null - base).abs().max() > 1e-4
    torch.testing.assert_close(model(x, t), null)
    torch.testing.assert_close(model(x, t, digit=torch.tensor([-1, -1]), speaker=None), null)
    only_digit = model(x, t, digit=torch.tensor([3, 3]))
    torch.testing.assert_close(only_digit, model(x, t, **labels(2, 3, -1)))


def test_unknown_label_and_out_of_range():
    model = make_unet()
    x, t = torch.randn(2, 1, 16, 16), torch.tensor([0, 1])
    with pytest.raises(ValueError, match="digit.*speaker"):
        model(x, t, emotion=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"digit label 12 out of range \[0, 9\]"):
        model(x, t, digit=torch.tensor([0, 12]))
    with pytest.raises(ValueError, match=r"speaker label -3 out of range \[0, 5\]"):
        model(x, t, digit=torch.tensor([0, 1]), speaker=torch.tensor([-3, 0]))
    with pytest.raises(ValueError, match="unknown label"):
        make_unet(label_classes=None)(x, t, digit=torch.tensor([0, 1]))


def test_condition_dropout_train_vs_eval():
    model = make_unet(cond_drop_prob=1.0, context_dim=8)
    x, t = torch.randn(2, 1, 16, 12), torch.tensor([3, 400])
    context = torch.randn(2, 4, 8)
    null = model(x, t)
    conditioned = model(x, t, context=context, **labels(2, 7, 2))
    assert (conditioned - null).abs().max() > 1e-4  # eval: nothing dropped
    model.train()
    dropped = model(x, t, context=context, **labels(2, 7, 2))
    torch.testing.assert_close(dropped, null, atol=1e-5, rtol=1e-4)


def test_embeddings_are_trained():
    model = make_unet(cond_drop_prob=0.0, context_dim=8).train()
    param_ids = {id(p) for p in model.parameters()}
    assert id(model.label_embeds["digit"].weight) in param_ids
    assert id(model.null_context) in param_ids
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, t = torch.randn(2, 1, 16, 12), torch.tensor([3, 400])
    loss = model(x, t, **labels(2, 4, -1)).square().mean()
    loss.backward()
    digit_grad = model.label_embeds["digit"].weight.grad
    assert digit_grad[4].abs().sum() > 0
    torch.testing.assert_close(digit_grad[:4], torch.zeros_like(digit_grad[:4]))
    assert model.label_embeds["speaker"].weight.grad[6].abs().sum() > 0  # null row
    optimizer.step()
    for name in ["label_embeds.digit.table.weight", "time_embed.mlp.0.weight"]:
        assert (model.state_dict()[name] - before[name]).abs().max() > 0, name
    unchanged = model.state_dict()["label_embeds.digit.table.weight"][:4]
    torch.testing.assert_close(unchanged, before["label_embeds.digit.table.weight"][:4])


def test_context_changes_output_and_masking():
    model = make_unet(context_dim=8, label_classes=None)
    x, t = torch.randn(2, 1, 16, 12), torch.tensor([3, 400])
    torch.manual_seed(3)
    context = torch.randn(2, 6, 8)
    out = model(x, t, context=context)
    assert (model(x, t, context=torch.randn(2, 6, 8)) - out).abs().max() > 1e-4
    # All-False mask = no context (the learned null token).
    none_kept = torch.zeros(2, 6, dtype=torch.bool)
    null = model(x, t)
    torch.testing.assert_close(model(x, t, context=context, context_mask=none_kept), null)
    assert (out - null).abs().max() > 1e-4
    # Partial mask: masked positions have no influence; same as cutting them off.
    mask = torch.tensor([[True] * 3 + [False] * 3, [True] * 5 + [False]])
    masked = model(x, t, context=context, context_mask=mask)
    assert (masked - out).abs().max() > 1e-4
    changed = context.clone()
    changed[~mask] = 50.0
    torch.testing.assert_close(model(x, t, context=changed, context_mask=mask), masked)
    first = model(x[:1], t[:1], context=context[:1, :3])
    torch.testing.assert_close(masked[:1], first, atol=1e-5, rtol=1e-4)


def test_context_without_context_dim_raises():
    model = make_unet()
    with pytest.raises(ValueError, match="context_dim"):
        model(torch.randn(1, 1, 8, 8), torch.tensor([0]), context=torch.randn(1, 2, 4))


def test_bad_config_raises():
    with pytest.raises(ValueError, match="attention level"):
        SpectrogramUNet(base_channels=16, channel_mults=(1, 2), attention_levels=(2,))
    with pytest.raises(ValueError, match="reserved"):
        SpectrogramUNet(
            base_channels=16, channel_mults=(1, 2), attention_levels=(), label_classes={"t": 3}
        )


def test_bf16_autocast_cpu():
    model = make_unet(context_dim=8)
    x, t = torch.randn(2, 1, 20, 13), torch.tensor([3, 400])
    reference = model(x, t, context=torch.ones(2, 3, 8), **labels(2, 1, 1))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x, t, context=torch.ones(2, 3, 8), **labels(2, 1, 1))
    assert out.shape == x.shape
    scale = reference.abs().max()
    assert (out.float() - reference).abs().max() < 0.1 * scale


def test_parameter_count_default_config():
    model = SpectrogramUNet()
    assert 15e6 < model.num_parameters() < 25e6
    assert model.num_parameters(trainable_only=True) == model.num_parameters()
