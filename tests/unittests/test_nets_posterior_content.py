"""PosteriorContentEncoder: shapes and frame alignment, a frozen recogniser outside the
trainable parameters, the checkpoint and the EMA, and the YAML factory's kinds."""

import pytest
import torch

from audiodiff.audio import MelSpectrogram, SpectrogramNormalizer
from audiodiff.diffusion import EMA
from audiodiff.inference.recognizer import Recognizer
from audiodiff.nets import (
    CharacterVocabulary,
    CTCRecognizer,
    DiffusionTTS,
    EmbeddingAdapter,
    MelContentEncoder,
    PosteriorContentEncoder,
    SpectrogramUNet,
    TTSDecoder,
    content_encoder_for,
)

N_MELS = 8


def tiny_recognizer():
    torch.manual_seed(0)
    vocab = CharacterVocabulary()
    model = CTCRecognizer(
        n_mels=N_MELS, vocab_size=len(vocab), conv_channels=8, hidden_dim=4, num_layers=1
    )
    return Recognizer(MelSpectrogram(n_mels=N_MELS), model, vocab)


def encoder(**kwargs):
    return PosteriorContentEncoder(tiny_recognizer(), out_dim=N_MELS, hidden_dim=16, **kwargs)


@pytest.mark.parametrize("frames", [1, 10, 11, 37])
def test_shapes_and_frame_count(frames):
    enc = encoder()
    mask = torch.ones(3, frames, dtype=torch.bool)
    mask[1, frames // 2 + 1 :] = False
    content, code = enc(torch.randn(3, N_MELS, frames) * 10 - 40, mask)
    assert content.shape == (3, N_MELS, frames) and code.shape == (3, 29, frames)
    assert (content[1][:, ~mask[1]] == 0).all() and (code[1][:, ~mask[1]] == 0).all()
    assert code.min() >= -1 and code.max() <= 0


def test_each_recognizer_frame_is_repeated_subsampling_times():
    enc = encoder()
    db = torch.randn(1, N_MELS, 12) * 10 - 40
    mask = torch.ones(1, 12, dtype=torch.bool)
    log_probs, _ = enc.frozen.recognizer(db, torch.ones(1))  # [1, 6, V]
    code = enc.posteriors(db, mask)
    expected = log_probs.clamp(min=enc.floor) / -enc.floor
    assert torch.allclose(code[0, :, 0::2], expected[0].T, atol=1e-6)
    assert torch.equal(code[0, :, 0::2], code[0, :, 1::2])


def test_the_normalizer_is_inverted_before_the_recognizer():
    norm = SpectrogramNormalizer(-90.0, 0.0)
    db = torch.rand(1, N_MELS, 10) * 80 - 85
    mask = torch.ones(1, 10, dtype=torch.bool)
    plain, with_norm = encoder(), encoder(normalizer=norm)
    assert torch.allclose(
        plain.posteriors(db, mask), with_norm.posteriors(norm.normalize(db), mask)
    )


def test_recognizer_is_frozen_and_not_a_parameter_nor_in_the_state_dict():
    enc = encoder().train()
    rec = enc.frozen.recognizer
    assert not rec.training and not any(p.requires_grad for p in rec.parameters())
    rec_params = {id(p) for p in rec.parameters()}
    assert not rec_params & {id(p) for p in enc.parameters()}
    assert all(k.startswith("net.") for k in enc.state_dict())
    mask = torch.ones(2, 9, dtype=torch.bool)
    content, _ = enc(torch.randn(2, N_MELS, 9) - 40, mask)
    content.sum().backward()
    assert all(p.grad is None for p in rec.parameters())
    assert all(p.grad is not None for p in enc.parameters())


def test_ema_copy_shares_the_recognizer():
    unet = SpectrogramUNet(
        in_channels=3, base_channels=8, channel_mults=(1, 2), num_res_blocks=1,
        attention_levels=(1,), num_heads=2, cond_drop_prob=0.0, context_dim=8,
    )  # fmt: skip
    model = DiffusionTTS(
        "spectrogram", TTSDecoder(unet), EmbeddingAdapter(4, 8), speaker_source="embedding",
        content_encoder=encoder(),
    )  # fmt: skip
    ema = EMA(model)
    copy = ema.averaged.content_encoder
    assert copy.frozen.recognizer is model.content_encoder.frozen.recognizer
    assert copy.net[0].weight is not model.content_encoder.net[0].weight
    ema.update(model)
    assert not any("recognizer" in k for k in model.state_dict())


def test_factory_kinds():
    assert isinstance(content_encoder_for("mel", n_mels=N_MELS, hidden_dim=8), MelContentEncoder)
    with pytest.raises(ValueError, match="content_recognizer_folder"):
        content_encoder_for("posteriors")
    with pytest.raises(ValueError, match="content_recognizer_folder /nonexistent"):
        content_encoder_for("posteriors", recognizer_folder="/nonexistent")
    with pytest.raises(ValueError, match="unknown content_encoder_kind"):
        content_encoder_for("ppg")
