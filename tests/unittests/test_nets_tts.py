"""Tests of the TTS lobes: TTSDecoder's per-condition dropout, DiffusionTTS's checks, the
speaker / content / text encoders' masking and the voice-conversion perturbations."""

import pytest
import torch

from audiodiff.nets import (
    DiffusionTTS,
    EmbeddingAdapter,
    MelContentEncoder,
    ReferenceEncoder,
    SpeakerTable,
    SpectrogramUNet,
    TextEncoder,
    TTSDecoder,
    masked_instance_norm,
    random_mel_warp,
)
from audiodiff.nets.content_encoder import GradientReversal


def tiny_unet(**kwargs):
    unet = SpectrogramUNet(
        in_channels=3,
        base_channels=8,
        channel_mults=(1, 2),
        num_res_blocks=1,
        attention_levels=(1,),
        num_heads=2,
        cond_drop_prob=0.0,
        context_dim=6,
        **kwargs,
    )
    torch.nn.init.normal_(unet.output[-1].weight, std=0.1)  # zero-init output: make it respond
    for module in unet.modules():  # zero-init attention outputs too
        if hasattr(module, "proj") and isinstance(module.proj, torch.nn.Linear):
            torch.nn.init.normal_(module.proj.weight, std=0.1)
    return unet


@pytest.fixture
def decoder_inputs():
    g = torch.Generator().manual_seed(0)
    return dict(
        x=torch.randn(2, 1, 8, 10, generator=g),
        t=torch.tensor([3, 50]),
        content_map=torch.randn(2, 8, 10, generator=g),
        frame_mask=torch.ones(2, 10, dtype=torch.bool),
        speaker_tokens=torch.randn(2, 2, 6, generator=g),
        content_tokens=torch.randn(2, 1, 6, generator=g),
    )


def test_decoder_dropped_condition_is_ignored(decoder_inputs):
    decoder = TTSDecoder(tiny_unet()).eval()
    base = decoder(**decoder_inputs)
    other = {
        k: v + 1.0 if k in ("speaker_tokens", "content_map", "content_tokens") else v
        for k, v in decoder_inputs.items()
    }
    assert not torch.allclose(decoder(**other), base)
    no = torch.zeros(2, dtype=torch.bool)
    for keep, changed in (("speaker_keep", "speaker_tokens"), ("content_keep", "content_map")):
        moved = dict(decoder_inputs, **{changed: decoder_inputs[changed] + 1.0})
        torch.testing.assert_close(
            decoder(**moved, **{keep: no}), decoder(**decoder_inputs, **{keep: no})
        )
        assert not torch.allclose(decoder(**moved), base)
    # a dropped speaker is the same as no speaker tokens at all
    without = dict(decoder_inputs, speaker_tokens=None)
    torch.testing.assert_close(decoder(**decoder_inputs, speaker_keep=no), decoder(**without))


def test_decoder_training_dropout_rates():
    decoder = TTSDecoder(
        tiny_unet(), speaker_drop_prob=0.2, content_drop_prob=0.3, both_drop_prob=0.1
    ).train()
    torch.manual_seed(0)
    keep_s, keep_c = decoder._training_keep(20000, torch.device("cpu"), None, None)
    dropped_s, dropped_c = (~keep_s).float().mean(), (~keep_c).float().mean()
    both = (~keep_s & ~keep_c).float().mean()
    assert abs(float(dropped_s) - 0.3) < 0.015 and abs(float(dropped_c) - 0.4) < 0.015
    assert abs(float(both) - 0.1) < 0.01
    decoder.eval()
    keep_s, keep_c = decoder._training_keep(100, torch.device("cpu"), None, None)
    assert bool(keep_s.all() and keep_c.all())


def test_decoder_refuses_wrong_unet():
    with pytest.raises(ValueError, match="in_channels=3"):
        TTSDecoder(
            SpectrogramUNet(
                in_channels=1,
                base_channels=8,
                channel_mults=(1,),
                attention_levels=(),
                cond_drop_prob=0.0,
            )
        )
    with pytest.raises(ValueError, match="cond_drop_prob"):
        TTSDecoder(
            SpectrogramUNet(
                in_channels=3,
                base_channels=8,
                channel_mults=(1,),
                attention_levels=(),
                cond_drop_prob=0.1,
            )
        )


def test_diffusion_tts_checks_its_parts():
    decoder, adapter = TTSDecoder(tiny_unet()), EmbeddingAdapter(4, 6)
    with pytest.raises(ValueError, match="needs"):
        DiffusionTTS("phoneme", decoder, adapter, "table", SpeakerTable(2, 4))
    with pytest.raises(ValueError, match="unknown route"):
        DiffusionTTS("music", decoder, adapter, "table", SpeakerTable(2, 4))
    with pytest.raises(ValueError, match="speaker_encoder must be None"):
        DiffusionTTS(
            "spectrogram",
            decoder,
            adapter,
            "embedding",
            SpeakerTable(2, 4),
            content_encoder=MelContentEncoder(8, 8, 2),
        )
    model = DiffusionTTS(
        "spectrogram", decoder, adapter, "embedding", content_encoder=MelContentEncoder(8, 8, 2)
    )
    vector = torch.randn(3, 4)
    assert model.speaker_vector(speaker_embedding=vector) is vector
    with pytest.raises(ValueError, match="pretrained speaker embedding"):
        model.speaker_vector(speaker=torch.tensor([0]))


def test_speaker_table_range():
    table = SpeakerTable(3, 4)
    with pytest.raises(ValueError, match="0-2"):
        table(torch.tensor([3]))


def test_reference_encoder_ignores_padding():
    enc = ReferenceEncoder(n_mels=8, dim=4, hidden_dim=8, num_layers=2).eval()
    mel = torch.randn(1, 8, 12)
    mask = torch.tensor([[True] * 9 + [False] * 3])
    noisy = mel.clone()
    noisy[..., 9:] = 100.0
    torch.testing.assert_close(enc(mel, mask), enc(noisy, mask))
    torch.testing.assert_close(enc(mel[..., :9], mask[:, :9]), enc(mel, mask))


def test_text_encoder_batch_equals_single():
    enc = TextEncoder(vocab_size=12, dim=16, num_layers=1, num_heads=2, out_dim=8).eval()
    tokens = torch.tensor([[1, 4, 5, 6, 1], [1, 7, 1, 0, 0]])
    hidden, mu = enc(tokens, tokens > 0)
    single_h, single_mu = enc(tokens[1:, :3], tokens[1:, :3] > 0)
    torch.testing.assert_close(hidden[1, :3], single_h[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(mu[1, :, :3], single_mu[0], atol=1e-5, rtol=1e-5)
    assert float(mu[1, :, 3:].abs().sum()) == 0.0


def test_content_encoder_perturbs_in_training_only():
    enc = MelContentEncoder(n_mels=8, hidden_dim=8, bottleneck_dim=2, num_layers=1)
    mel, mask = torch.randn(2, 8, 6), torch.ones(2, 6, dtype=torch.bool)
    enc.eval()
    torch.testing.assert_close(enc(mel, mask)[0], enc(mel, mask)[0])
    enc.train()
    torch.manual_seed(0)
    a = enc(mel, mask)[0]
    assert not torch.allclose(a, enc(mel, mask)[0])


def test_masked_instance_norm_ignores_padding():
    x = torch.randn(2, 3, 8)
    mask = torch.tensor([[True] * 5 + [False] * 3, [True] * 8])
    out = masked_instance_norm(x, mask)
    valid = out[0, :, :5]
    torch.testing.assert_close(valid.mean(-1), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(valid.var(-1, unbiased=False), torch.ones(3), atol=1e-3, rtol=0)
    assert float(out[0, :, 5:].abs().sum()) == 0.0


def test_mel_warp_moves_formants():
    ramp = torch.arange(10.0).reshape(1, 10, 1)
    torch.manual_seed(0)
    warped = random_mel_warp(ramp.expand(64, 10, 1), max_warp=0.2)
    assert warped.shape == (64, 10, 1)
    # each example is the ramp read at k / a: slopes 1 / a in [1 / 1.2, 1 / 0.8]
    slope = (warped[:, 4, 0] - warped[:, 2, 0]) / 2
    assert float(slope.min()) >= 1 / 1.2 - 1e-4 and float(slope.max()) <= 1 / 0.8 + 1e-4
    assert float(slope.std()) > 0.01


def test_gradient_reversal():
    x = torch.ones(3, requires_grad=True)
    GradientReversal.apply(x, 0.5).sum().backward()
    torch.testing.assert_close(x.grad, torch.full((3,), -0.5))


def test_adversary_pushes_speaker_information_out():
    """The bottleneck receives minus ``adversarial_scale`` times the head's gradient: the encoder
    is trained to make the speaker head fail."""
    enc = MelContentEncoder(
        n_mels=8,
        hidden_dim=8,
        bottleneck_dim=2,
        num_layers=1,
        num_speakers=2,
        max_warp=0.0,
        max_gain=0.0,
        adversarial_scale=0.5,
    )
    mask = torch.ones(4, 6, dtype=torch.bool)
    code = torch.randn(4, 2, 6, requires_grad=True)
    target = torch.tensor([0, 1] * 2)
    loss = torch.nn.functional.cross_entropy(enc.speaker_logits(code, mask), target)
    (reversed_grad,) = torch.autograd.grad(loss, code)
    enc.adversarial_scale = -1.0  # GradientReversal with scale -1 is the plain gradient
    loss = torch.nn.functional.cross_entropy(enc.speaker_logits(code, mask), target)
    (plain_grad,) = torch.autograd.grad(loss, code)
    assert float(plain_grad.abs().sum()) > 0
    torch.testing.assert_close(reversed_grad, -0.5 * plain_grad)
