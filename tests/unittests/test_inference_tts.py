"""Tests of audiodiff.inference.tts helpers: the vocoder switch, reference checks, style
encoder loading."""

import os
import sys

import pytest
import torch

from audiodiff.audio import GriffinLimVocoder, MelSpectrogram, write_audio
from audiodiff.inference.tts import (
    TTS,
    TTSInputError,
    load_style_encoder,
    load_tts_vocoder,
    read_recording,
)


def test_vocoder_falls_back_to_griffin_lim():
    fallback = GriffinLimVocoder(n_iter=1)
    assert load_tts_vocoder(None, MelSpectrogram(), fallback) is fallback


def test_vocoder_folder_goes_to_load_vocoder(monkeypatch):
    import audiodiff.inference.diffusion_vocoder as diffusion_vocoder

    calls = []

    def fake_load_vocoder(folder, mel_settings, device):
        calls.append((folder, mel_settings, device))
        return "trained"

    monkeypatch.setattr(diffusion_vocoder, "load_vocoder", fake_load_vocoder)
    mel = MelSpectrogram(n_mels=40)
    assert load_tts_vocoder("/vocoders/x", mel, None, "cpu") == "trained"
    assert calls == [("/vocoders/x", mel.settings(), "cpu")]


def test_vocoder_folder_that_is_not_an_experiment_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a vocoder experiment folder"):
        load_tts_vocoder(str(tmp_path), MelSpectrogram(), None)


def test_a_folder_without_hyperparams_names_a_tts_example(tmp_path):
    with pytest.raises(FileNotFoundError, match="no hyperparams.yaml.*results/tts_phoneme/1986"):
        TTS.from_hparams(str(tmp_path))


def test_reference_is_resampled_and_checked(tmp_path):
    path = str(tmp_path / "ref.wav")
    write_audio(path, 0.1 * torch.randn(8000), 8000)
    wav, rate = read_recording(path, 16000, "reference", 0.1)
    assert rate == 8000 and wav.numel() == 16000
    with pytest.raises(TTSInputError, match="give its sample rate"):
        read_recording(torch.randn(16000), 16000, "reference", 0.1)
    with pytest.raises(TTSInputError, match="6000 Hz"):
        read_recording(torch.randn(16000), 16000, "reference", 0.1, given_rate=6000)
    with pytest.raises(TTSInputError, match="silent"):
        read_recording(torch.zeros(16000), 16000, "reference", 0.1, given_rate=16000)


def test_style_encoder_from_a_module_path():
    here = os.path.join(os.path.dirname(os.path.dirname(__file__)), "recipes")
    sys.path.insert(0, here)
    try:
        encoder = load_style_encoder("standin_style_encoder:load", "/unused")
    finally:
        sys.path.remove(here)
    assert encoder.embed_wav(0.1 * torch.randn(8000), 8000).shape == (encoder.embedding_dim,)
    with pytest.raises(ValueError, match="unknown style_encoder"):
        load_style_encoder("nonsense", "/x")
