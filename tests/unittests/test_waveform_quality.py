"""Tests for audiodiff.metrics.waveform_quality and the evaluator's speaker shares."""

import math
import os
import re

import pytest
import torch

from audiodiff.audio import MelSpectrogram, SpectrogramNormalizer
from audiodiff.metrics import EvaluationError, SampleEvaluator
from audiodiff.metrics.evaluator import speaker_shares
from audiodiff.metrics.waveform_quality import (
    band_excess_db,
    click_rate,
    mean_power_spectrum,
    rms_profile_db,
    spectral_line_db,
    tail_rms_db,
)
from audiodiff.nets import SpectrogramClassifier

SR = 16000
T = torch.arange(SR) / SR
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def noise(num=16, scale=0.1, seed=0):
    return scale * torch.randn(num, SR, generator=torch.Generator().manual_seed(seed))


def test_rms_profile_averages_linear_rms_over_clips_then_db():
    a = torch.zeros(SR)
    a[:1600] = 0.1  # RMS 0.1 in the first window only
    b = torch.zeros(SR)
    b[:1600] = 0.3
    b[1600:3200] = 0.2
    profile = rms_profile_db(torch.stack([a, b]), SR)
    assert profile.shape == (10,)
    expected = [20 * math.log10(0.2), 20 * math.log10(0.1)] + [-140.0] * 8
    torch.testing.assert_close(profile, torch.tensor(expected, dtype=torch.float64))


def test_tail_rms_is_the_db_of_the_mean_linear_rms_of_the_span():
    loud, quiet = torch.zeros(SR), torch.zeros(SR)
    loud[9600:] = 0.02
    loud[:9600] = 0.9  # before 0.6 s: not counted
    quiet[9600:] = 0.001 * torch.sign(torch.sin(2 * math.pi * 50 * T[9600:]))
    got = tail_rms_db(torch.stack([loud, quiet]), SR)
    assert got == pytest.approx(20 * math.log10((0.02 + 0.001) / 2), abs=1e-3)
    assert tail_rms_db(torch.zeros(2, SR), SR) == pytest.approx(-140.0)
    assert tail_rms_db(torch.zeros(SR), SR, floor=1e-5) == pytest.approx(-100.0)
    with pytest.raises(ValueError, match="empty"):
        tail_rms_db(torch.zeros(2, 100), SR)


def test_white_noise_has_no_line_and_a_weak_tone_stands_out():
    base = noise()
    flat = spectral_line_db(base, SR)
    assert abs(flat["excess_db"]) < 0.5
    assert flat["freq_hz"] == 4000.0
    excess = [
        spectral_line_db(base + a * torch.sin(2 * math.pi * 4000 * T), SR)["excess_db"]
        for a in (0.01, 0.02)
    ]
    # tone power a^2/2 against noise 0.01 / 512 per bin (Hann, band of 3 bins): ~ +2.7, +6.5 dB
    assert 1.5 < excess[0] < 4.0 and 5.0 < excess[1] < 8.0
    off = spectral_line_db(base + 0.02 * torch.sin(2 * math.pi * 2500 * T), SR)
    assert abs(off["excess_db"]) < 0.5  # a tone elsewhere is not a line at 4 kHz


def test_a_sloped_spectrum_without_a_line_gives_about_zero():
    x = noise(8)
    sloped = torch.zeros_like(x)  # one-pole low-pass: a smooth, falling spectrum
    for n in range(1, SR):
        sloped[:, n] = 0.9 * sloped[:, n - 1] + x[:, n]
    freqs, power = mean_power_spectrum(sloped, SR)
    assert power[64] > 10 * power[256]  # 1 kHz well above 4 kHz: the slope is there
    assert abs(band_excess_db(freqs, power, 4000.0)["excess_db"]) < 0.5


def test_band_excess_errors():
    freqs, power = mean_power_spectrum(noise(1), SR)
    with pytest.raises(ValueError, match="outside"):
        band_excess_db(freqs, power, 7900.0)
    with pytest.raises(ValueError, match="shorter"):
        mean_power_spectrum(torch.zeros(1, 512), SR)


def test_clicks_counted_on_a_sine_and_not_on_clean_signals():
    sine = 0.1 * torch.sin(2 * math.pi * 440 * T)
    spiky = sine.clone()
    spiky[[3000, 8000, 12000]] += 0.5
    step = sine.clone()
    step[5000:] += 0.4  # one step: one jump
    burst = sine.clone()
    burst[9000:9002] += 0.5  # a two-sample spike: one click, not two
    counts, mean = click_rate(torch.stack([sine, spiky, step, burst]))
    assert counts.tolist() == [0, 3, 1, 1]
    assert mean == pytest.approx(1.25)
    assert click_rate(noise(4))[0].tolist() == [0, 0, 0, 0]  # noise jumps are not clicks
    quiet = torch.zeros(SR)
    quiet[100] = 0.01  # below the absolute floor
    loud = torch.zeros(SR)
    loud[100] = 0.3
    assert click_rate(torch.stack([quiet, loud]))[0].tolist() == [0, 1]
    assert click_rate(loud, floor=0.5)[0].tolist() == [0]


def test_speaker_shares_count_argmax_speakers():
    probs = torch.tensor([[0.1, 0.7, 0.2], [0.2, 0.5, 0.3], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    out = speaker_shares(probs, ["a", "b", "c"])
    assert out["speaker_shares"] == {"a": 0.25, "b": 0.5, "c": 0.25}
    assert out["max_speaker_share"] == 0.5 and out["max_speaker"] == "b"
    assert speaker_shares(probs[:1], [])["speaker_shares"] == {"0": 0.0, "1": 1.0, "2": 0.0}
    with pytest.raises(ValueError):
        speaker_shares(probs, ["a", "b"])


def test_evaluator_speaker_shares_and_evaluate_outputs():
    model = SpectrogramClassifier(num_speakers=2, channels=(4,), embedding_dim=4)
    eye = torch.eye(10, dtype=torch.float64)
    reference = {
        split: {"digit_probs": eye, "embedding": torch.randn(10, 4)} for split in ("train", "test")
    }
    evaluator = SampleEvaluator(
        model,
        SpectrogramNormalizer(-100.0, 0.0),
        MelSpectrogram(),
        num_frames=8,
        sample_rate=SR,
        speakers=["george", "jackson"],
        reference=reference,
    )
    speaker = torch.tensor([[0.9, 0.1]] * 7 + [[0.2, 0.8]] * 3, dtype=torch.float64)
    outputs = {"digit_probs": eye, "speaker_probs": speaker, "embedding": torch.randn(10, 4)}
    shares = evaluator.speaker_shares(outputs)
    assert shares["speaker_shares"] == pytest.approx({"george": 0.7, "jackson": 0.3})
    result = evaluator.evaluate_outputs(outputs, [{} for _ in range(10)], num_bins=2)
    assert result["max_speaker_share"] == pytest.approx(0.7)
    assert result["max_speaker"] == "george"
    with pytest.raises(EvaluationError, match="speaker head"):
        evaluator.speaker_shares({**outputs, "speaker_probs": None})


def test_tool_reference_peak_is_the_recipes():
    """tools/evaluate_waveforms.py's reference peak must follow the SC09 recipe's peak_level."""
    import runpy

    yaml = os.path.join(REPO, "recipes", "SC09", "diffwave", "hparams", "diffwave.yaml")
    with open(yaml, encoding="utf-8") as f:
        recipe = float(re.search(r"^peak_level:\s*([0-9.]+)", f.read(), re.M)[1])
    tool = runpy.run_path(os.path.join(REPO, "tools", "evaluate_waveforms.py"))
    assert tool["RECIPE_PEAK_LEVEL"] == recipe
