"""Time stretch and pitch shift (phase vocoder), and the fixed augmented copies per file."""

import math

import pytest
import torch

from audiodiff.audio import SpeedPitchAugment, pitch_shift, time_stretch


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: tiny tensors on a shared CPU run far faster without contention."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def sine(freq, seconds=1.0, rate=16000):
    t = torch.arange(int(seconds * rate)) / rate
    return torch.sin(2 * math.pi * freq * t)


def peak_hz(wav, rate=16000):
    spectrum = torch.fft.rfft(wav * torch.hann_window(len(wav))).abs()
    return float(torch.fft.rfftfreq(len(wav), 1 / rate)[spectrum.argmax()])


@pytest.mark.parametrize("rate", [0.95, 1.05, 1.5])
def test_time_stretch_changes_length_not_pitch(rate):
    out = time_stretch(sine(500.0), rate)
    assert out.shape == (round(16000 / rate),)
    assert peak_hz(out) == pytest.approx(500.0, abs=3.0)


@pytest.mark.parametrize("semitones", [1.0, 2.7, 5.0, -3.0])
def test_pitch_shift_scales_frequency_keeps_length(semitones):
    out = pitch_shift(sine(440.0), 16000, semitones)
    assert out.shape == (16000,)
    assert peak_hz(out) == pytest.approx(440.0 * 2 ** (semitones / 12), rel=0.01)


def test_zero_shift_is_a_copy():
    wav = sine(300.0)
    torch.testing.assert_close(pitch_shift(wav, 16000, 0.0), wav)


def test_copies_are_seeded_per_key_and_in_range():
    aug = SpeedPitchAugment(16000, time_stretch_copies=3, pitch_shift_copies=2, seed=7)
    rates, shifts = aug.draws("LJ001-0001")
    assert (rates, shifts) == aug.draws("LJ001-0001")
    assert (rates, shifts) != SpeedPitchAugment(16000, 3, pitch_shift_copies=2, seed=8).draws(
        "LJ001-0001"
    )
    assert len(rates) == 3 and all(0.95 <= r <= 1.05 for r in rates)
    assert len(shifts) == 2 and all(1.0 <= s <= 5.0 for s in shifts)
    copies = aug(sine(400.0, 0.5), "LJ001-0001")
    assert len(copies) == aug.num_copies == 5
    assert [len(c) for c in copies[:3]] == [round(8000 / r) for r in rates]
    assert all(len(c) == 8000 for c in copies[3:])


def test_settings_and_bad_ranges():
    assert SpeedPitchAugment(22050).num_copies == 0
    assert SpeedPitchAugment(22050, pitch_shift_copies=1).settings()["pitch_shift_copies"] == 1
    with pytest.raises(ValueError, match="low <= high"):
        SpeedPitchAugment(22050, pitch_shift_range=(5, 1))
    with pytest.raises(ValueError, match="positive"):
        SpeedPitchAugment(22050, time_stretch_range=(0.0, 1.0))
