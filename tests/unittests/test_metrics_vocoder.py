"""Tests for audiodiff.metrics.vocoder: MR-STFT, mel L1, LSD, PESQ, STOI."""

import math
import os
import sys

import pytest
import torch

from audiodiff.audio import read_audio
from audiodiff.metrics.vocoder import (
    align_lengths,
    log_spectral_distance,
    mel_l1,
    multi_resolution_stft_distance,
    pesq_wb,
    stoi,
    vocoder_metrics,
)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEECH = os.path.join(REPO, "bundled_data", "ljspeech_mini", "wavs", "LJ001-0002.wav")


@pytest.fixture(autouse=True)
def one_thread():
    """Small FFTs: one thread avoids thread-sync overhead when the CPU is shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def speech():
    """1.9 s of real speech (LJSpeech), resampled to 16 kHz."""
    return read_audio(SPEECH, sample_rate=16000)[0]


def with_noise(wav, snr_db, seed=0):
    noise = torch.randn(wav.shape, generator=torch.Generator().manual_seed(seed))
    return wav + noise * wav.norm() / noise.norm() * 10 ** (-snr_db / 20)


def test_identical_signals_score_perfectly(speech):
    out = vocoder_metrics(speech, speech.clone(), 16000)
    for key in ("mrstft", "spectral_convergence", "log_magnitude", "mel_l1", "lsd"):
        assert out[key] == pytest.approx(0.0, abs=1e-6), key
    assert out["pesq"] == pytest.approx(4.64, abs=0.01)
    assert out["stoi"] == pytest.approx(1.0, abs=1e-6)


def test_more_noise_is_worse_on_every_metric(speech):
    clean = vocoder_metrics(speech, with_noise(speech, 30), 16000)
    noisy = vocoder_metrics(speech, with_noise(speech, 0), 16000)
    for key in ("mrstft", "spectral_convergence", "log_magnitude", "mel_l1", "lsd"):
        assert 0.0 < clean[key] < noisy[key], key
    assert 4.6 > clean["pesq"] > noisy["pesq"] >= -0.5
    assert 1.0 > clean["stoi"] > noisy["stoi"] > 0.3
    # 0 dB SNR white noise: spectral convergence near 1, PESQ near its floor
    assert 0.7 < noisy["spectral_convergence"] < 1.3
    assert noisy["pesq"] < 1.5


def test_known_gain_differences():
    wav = torch.randn(2, 8000, generator=torch.Generator().manual_seed(1))
    # a factor 0.5 in amplitude: ln 2 in log-magnitude and log-mel, SC = 0.5, LSD = 6.02 dB
    stft = multi_resolution_stft_distance(wav, 0.5 * wav)
    assert stft["spectral_convergence"] == pytest.approx(0.5, abs=1e-4)
    assert stft["log_magnitude"] == pytest.approx(math.log(2), abs=1e-3)
    assert stft["total"] == pytest.approx(0.5 + math.log(2), abs=1e-3)
    assert mel_l1(wav, 0.5 * wav, 16000) == pytest.approx(math.log(2), abs=1e-4)
    assert log_spectral_distance(wav, 0.5 * wav) == pytest.approx(20 * math.log10(2), abs=1e-3)
    # symmetric in the log domain for LSD and mel L1
    assert log_spectral_distance(0.5 * wav, wav) == pytest.approx(20 * math.log10(2), abs=1e-3)


def test_shapes_are_checked_and_aligned():
    a, b = torch.randn(1000), torch.randn(900)
    with pytest.raises(ValueError, match="align"):
        mel_l1(a, b, 16000)
    a2, b2 = align_lengths(a, b)
    assert a2.shape == b2.shape == (900,)
    out = vocoder_metrics(a, b, 16000, with_pesq=False, with_stoi=False)
    assert out["lsd"] > 0  # vocoder_metrics aligns by itself
    with pytest.raises(ValueError, match="one waveform"):
        stoi(torch.randn(2, 16000), torch.randn(2, 16000), 16000)


def test_pesq_resamples_other_rates(speech):
    at_8k = read_audio(SPEECH, sample_rate=8000)[0]
    score = pesq_wb(at_8k, with_noise(at_8k, 20), 8000)
    assert 1.0 < score < 4.0
    assert pesq_wb(at_8k, at_8k, 8000) == pytest.approx(4.64, abs=0.02)


def test_too_short_for_stoi_and_pesq_gives_nan():
    short = torch.randn(1600, generator=torch.Generator().manual_seed(0))  # 0.1 s
    assert math.isnan(stoi(short, short, 16000))
    assert math.isnan(pesq_wb(short, short, 16000))


def test_missing_pesq_package_says_how_to_install(monkeypatch, speech):
    monkeypatch.setitem(sys.modules, "pesq", None)  # import pesq -> ImportError
    with pytest.raises(ImportError, match=r"pip install audiodiff\[eval\]"):
        pesq_wb(speech, speech, 16000)
