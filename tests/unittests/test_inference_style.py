"""Style encoders: the shared reference checks, SpeakerEncoder (features, batching, loading an
experiment folder) and ClapAudioEncoder on a tiny random CLAP model saved in the test."""

import math
import os

import pytest
import torch
import torchaudio
from hyperpyyaml import load_hyperpyyaml
from speechbrain.lobes.models.ECAPA_TDNN import ECAPA_TDNN

from audiodiff.audio import MelSpectrogram, write_audio
from audiodiff.inference import (
    ClapAudioEncoder,
    SpeakerEncoder,
    StyleEncoder,
    StyleEncoderInputError,
)

SR = 16000


def speech_like(seconds, f0=140.0, sr=SR, seed=0):
    """A harmonic tone with a slow amplitude envelope and a little noise."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(int(seconds * sr)) / sr
    wav = sum(torch.sin(2 * math.pi * f0 * k * t) / k for k in range(1, 8))
    envelope = 0.5 + 0.5 * torch.sin(2 * math.pi * 3 * t) ** 2
    return 0.2 * envelope * wav + 0.003 * torch.randn(len(t), generator=g)


def tiny_encoder(seed=0, **kwargs):
    torch.manual_seed(seed)
    net = ECAPA_TDNN(
        40,
        lin_neurons=12,
        channels=[8, 8, 8, 8, 24],
        attention_channels=4,
        se_channels=4,
        res2net_scale=2,
    )
    from speechbrain.processing.features import InputNormalization

    norm = InputNormalization(norm_type="sentence", std_norm=False)
    return SpeakerEncoder(MelSpectrogram(n_mels=40), net, mean_norm=norm, **kwargs).eval()


@pytest.fixture(scope="module")
def encoder():
    return tiny_encoder()


# ---- the shared checks -------------------------------------------------------------------
def test_bad_references_get_one_line_errors(encoder, tmp_path):
    cases = [
        (torch.zeros(SR), SR, "is silent"),
        (speech_like(0.3), SR, r"holds 0\.\d+ s of sound: at least 0\.50 s needed"),
        (torch.full((SR,), float("nan")), SR, "NaN"),
        (torch.zeros(2, SR), SR, "mono"),
        (torch.zeros(0), SR, "empty"),
        (speech_like(1.0), 2000, "too low"),
        (speech_like(1.0), 16000.5, "integer"),
    ]
    for wav, rate, message in cases:
        with pytest.raises(StyleEncoderInputError, match=message) as err:
            encoder.embed_wav(wav, rate)
        assert "\n" not in str(err.value)
    with pytest.raises(StyleEncoderInputError, match="file not found"):
        encoder.embed_file(tmp_path / "missing.wav")
    (tmp_path / "bad.wav").write_bytes(b"RIFF nonsense")
    with pytest.raises(StyleEncoderInputError, match="bad.wav"):
        encoder.embed_file(tmp_path / "bad.wav")
    write_audio(tmp_path / "quiet.wav", torch.zeros(SR), SR)
    with pytest.raises(StyleEncoderInputError, match="quiet.wav is silent"):
        encoder.embed_file(tmp_path / "quiet.wav")


def test_min_speech_seconds_can_be_lowered():
    short = tiny_encoder(min_speech_seconds=0.2)
    assert short.embed_wav(speech_like(0.3), SR).shape == (12,)


def test_prepare_resamples_and_trims(encoder):
    wav = torch.cat([torch.zeros(SR), speech_like(1.0), torch.zeros(SR)])
    prepared = encoder.prepare(wav, SR)
    assert prepared.numel() / SR == pytest.approx(1.0 + 0.1 + 0.025, abs=0.03)
    at_8k = torchaudio.functional.resample(wav, SR, 8000)
    assert encoder.prepare(at_8k, 8000).numel() == pytest.approx(prepared.numel(), abs=200)
    padded = encoder.prepare(torch.zeros(100), SR, check=False)  # generated clips: no checks
    assert padded.numel() == SR // 4


# ---- SpeakerEncoder ------------------------------------------------------------------------
def test_speaker_encoder_interface(encoder, tmp_path):
    assert (encoder.sample_rate, encoder.embedding_dim) == (SR, 12)
    wav = speech_like(1.2)
    emb = encoder.embed_wav(wav, SR)
    assert emb.shape == (12,) and emb.norm().item() == pytest.approx(1.0, abs=1e-5)
    write_audio(tmp_path / "a.wav", wav, SR)
    torch.testing.assert_close(encoder.embed_file(tmp_path / "a.wav"), emb, atol=2e-3, rtol=0)
    with torch.no_grad():
        out = encoder(torch.stack([wav, wav]), None)
    assert out.shape == (2, 12) and not out.requires_grad


def test_batches_with_lengths_equal_single_clips(encoder):
    clips = [
        speech_like(s, f0=f, seed=i)
        for i, (s, f) in enumerate([(0.8, 120), (1.5, 220), (1.1, 180)])
    ]
    alone = torch.stack([encoder(c[None])[0] for c in clips]).detach()
    torch.testing.assert_close(encoder.embed_many(clips), alone)  # default: one clip per call
    batched = encoder.embed_many(clips, batch_size=3)  # padded to the longest: close, not equal
    cosines = (batched * alone).sum(-1)
    assert float(cosines.min()) > 0.98 and float(cosines.max()) == pytest.approx(1.0, abs=1e-5)
    assert encoder.embed_many([]).shape == (0, 12)


def test_embeddings_are_differentiable_outside_no_grad():
    encoder = tiny_encoder()
    wav = speech_like(1.0).requires_grad_(True)
    encoder(wav[None]).sum().backward()
    assert wav.grad is not None and torch.isfinite(wav.grad).all()


def test_embedding_dim_is_found_without_an_fc_layer():
    class Mean(torch.nn.Module):
        def forward(self, x, lengths=None):
            return x.mean(dim=1)

    assert SpeakerEncoder(MelSpectrogram(n_mels=24), Mean()).embedding_dim == 24


HPARAMS = """
sample_rate: 16000
trim_db: 30.0
min_speech_seconds: 0.3
num_speakers: 3
mel: !new:audiodiff.audio.MelSpectrogram
    n_mels: 40
mean_norm: !new:speechbrain.processing.features.InputNormalization
    norm_type: sentence
    std_norm: false
embedding_model: !new:speechbrain.lobes.models.ECAPA_TDNN.ECAPA_TDNN
    input_size: 40
    lin_neurons: 12
    channels: [8, 8, 8, 8, 24]
    attention_channels: 4
    se_channels: 4
    res2net_scale: 2
classifier: !new:speechbrain.lobes.models.ECAPA_TDNN.Classifier
    input_size: 12
    out_neurons: !ref <num_speakers>
checkpointer: !new:speechbrain.utils.checkpoints.Checkpointer
    checkpoints_dir: SAVE
    recoverables:
        embedding_model: !ref <embedding_model>
        classifier: !ref <classifier>
"""


def test_from_hparams_loads_the_trained_weights(tmp_path):
    text = HPARAMS.replace("SAVE", str(tmp_path / "save"))
    (tmp_path / "hyperparams.yaml").write_text(text)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        SpeakerEncoder.from_hparams(tmp_path, device="cpu")
    trained = load_hyperpyyaml(text)
    torch.manual_seed(3)
    for p in trained["embedding_model"].parameters():
        p.data.normal_()
    trained["checkpointer"].save_checkpoint()
    loaded = SpeakerEncoder.from_hparams(tmp_path, device="cpu")
    assert not loaded.training and loaded.trim_db == 30.0 and loaded.min_speech_seconds == 0.3
    for a, b in zip(loaded.embedding_model.parameters(), trained["embedding_model"].parameters()):
        torch.testing.assert_close(a, b)
    with pytest.raises(FileNotFoundError, match="hyperparams.yaml"):
        SpeakerEncoder.from_hparams(tmp_path / "nowhere")


# ---- CLAP ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clap_folder(tmp_path_factory):
    """A tiny randomly initialised ClapModel + feature extractor saved with save_pretrained."""
    transformers = pytest.importorskip("transformers")
    audio = dict(
        window_size=4,
        num_mel_bins=16,
        spec_size=64,
        patch_size=4,
        patch_stride=(4, 4),
        hidden_size=16,
        projection_dim=8,
        depths=[1, 1],
        num_attention_heads=[1, 2],
        patch_embeds_hidden_size=8,
        num_hidden_layers=2,
        enable_fusion=False,
    )
    text = dict(
        vocab_size=50,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=1,
        intermediate_size=16,
        projection_dim=8,
        max_position_embeddings=32,
    )
    config = transformers.ClapConfig(text_config=text, audio_config=audio, projection_dim=8)
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("clap")
    transformers.ClapModel(config).save_pretrained(folder)
    transformers.ClapFeatureExtractor(
        feature_size=16, max_length_s=2, truncation="rand_trunc"
    ).save_pretrained(folder)
    return folder


def test_clap_encoder_matches_the_model_on_resampled_audio(clap_folder):
    import transformers

    encoder = ClapAudioEncoder.from_pretrained(clap_folder, device="cpu")
    assert (encoder.sample_rate, encoder.embedding_dim) == (48000, 8)
    wav = speech_like(1.0)
    emb = encoder.embed_wav(wav, SR)
    model = transformers.ClapModel.from_pretrained(clap_folder, local_files_only=True).eval()
    extractor = transformers.ClapFeatureExtractor.from_pretrained(
        clap_folder, local_files_only=True
    )
    at_48k = torchaudio.functional.resample(wav, SR, 48000)  # no silence to trim
    inputs = extractor([at_48k.numpy()], sampling_rate=48000, return_tensors="pt")
    with torch.no_grad():
        out = model.get_audio_features(
            input_features=inputs["input_features"], is_longer=inputs["is_longer"]
        )
    expected = out if isinstance(out, torch.Tensor) else out.pooler_output
    torch.testing.assert_close(
        emb, torch.nn.functional.normalize(expected[0], dim=-1), atol=1e-5, rtol=0
    )
    clips = [speech_like(0.8, seed=1), speech_like(1.4, f0=230, seed=2)]
    together = encoder.embed_many(clips, sample_rate=SR)
    alone = torch.stack([encoder.embed_wav(c, SR) for c in clips])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=0)
    with pytest.raises(StyleEncoderInputError, match="silent"):
        encoder.embed_wav(torch.zeros(SR), SR)


def test_clap_folder_errors(tmp_path, clap_folder):
    with pytest.raises(FileNotFoundError, match="not found"):
        ClapAudioEncoder.from_pretrained(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="preprocessor_config.json"):
        os.makedirs(tmp_path / "half")
        (tmp_path / "half" / "config.json").write_text("{}")
        ClapAudioEncoder.from_pretrained(tmp_path / "half")
    broken = tmp_path / "broken"
    os.makedirs(broken)
    for name in ("config.json", "preprocessor_config.json"):
        (broken / name).write_text((clap_folder / name).read_text())
    with pytest.raises(FileNotFoundError, match="cannot load a CLAP model"):
        ClapAudioEncoder.from_pretrained(broken)  # no weights


def test_the_interface_is_shared():
    assert issubclass(SpeakerEncoder, StyleEncoder) and issubclass(ClapAudioEncoder, StyleEncoder)


def test_loading_an_encoder_leaves_the_callers_random_state(tmp_path):
    text = HPARAMS.replace("SAVE", str(tmp_path / "save"))
    text = "__set_seed: !apply:speechbrain.utils.seed_everything [7]\n" + text
    (tmp_path / "hyperparams.yaml").write_text(text)
    load_hyperpyyaml(text)["checkpointer"].save_checkpoint()
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    SpeakerEncoder.from_hparams(tmp_path, device="cpu")
    torch.testing.assert_close(torch.rand(3), expected)


def test_numpy_sample_rates_are_accepted(encoder):
    import numpy as np

    assert encoder.embed_wav(speech_like(1.0).numpy(), np.int64(SR)).shape == (12,)
