import math

import pytest
import torch

from audiodiff.audio.mel import (
    MelSpectrogram,
    amplitude_to_db,
    db_to_amplitude,
    floor_db,
    mel_filterbank,
    pad_or_crop,
    relative_db,
)


@pytest.mark.parametrize("samples, frames", [(16000, 63), (256, 2), (100, 1), (5000, 20)])
def test_shapes(samples, frames):
    mel = MelSpectrogram()
    out = mel(torch.randn(3, samples))
    assert out.shape == (3, 80, frames)
    assert out.dtype == torch.float32 and bool((out >= 0).all())


def test_unbatched_and_settings():
    mel = MelSpectrogram(n_fft=512, hop_length=128, n_mels=40, f_max=None)
    assert mel(torch.randn(1280)).shape == (1, 40, 11)
    assert mel.mel_fbank.shape == (257, 40)
    assert mel.settings()["n_mels"] == 40


def test_filterbank_is_shared_and_slaney():
    mel = MelSpectrogram()
    torch.testing.assert_close(mel.mel_fbank, mel_filterbank(16000, 1024, 80, 0.0, 8000.0))
    # Slaney area normalisation: each triangle has weight 2 / (band width in Hz), so the
    # weights of a band sum (over FFT bins 15.625 Hz apart) to about 1 / 15.625.
    sums = mel.mel_fbank.sum(0) * (16000 / 1024)
    torch.testing.assert_close(sums[5:], torch.ones(75), atol=0.05, rtol=0)
    # Slaney scale: linear below 1 kHz (1 unit = 200/3 Hz), 27 units per factor 6.4 above;
    # 8 kHz is 15 + 27 ln(8) / ln(6.4) = 45.25 units, split into 81 equal steps.
    step_hz = (200 / 3) * (15 + 27 * math.log(8) / math.log(6.4)) / 81
    peaks = mel.mel_fbank.argmax(0).float() * 16000 / 1024
    assert abs((peaks[20] - peaks[0]).item() - 20 * step_hz) < 16
    assert abs(peaks[79].item() / peaks[60].item() - 6.4 ** (19 * step_hz / (200 / 3) / 27)) < 0.02


def test_tone_lands_in_the_right_band():
    mel = MelSpectrogram()
    f0 = 1000.0
    t = torch.arange(16000) / 16000
    out = mel(torch.sin(2 * math.pi * f0 * t))[0].mean(-1)
    band = out.argmax().item()
    freqs = torch.fft.rfftfreq(1024, 1 / 16000)
    centre = freqs[mel.mel_fbank[:, band].argmax()].item()
    assert abs(centre - f0) < 70


def test_magnitude_scaling():
    """power=1: doubling the waveform adds 6.02 dB; power=2 adds 12.04 dB."""
    wav = torch.randn(1, 4000)
    for power, gain_db in [(1.0, 20 * math.log10(2)), (2.0, 40 * math.log10(2))]:
        mel = MelSpectrogram(power=power)
        diff = amplitude_to_db(mel(2 * wav)) - amplitude_to_db(mel(wav))
        torch.testing.assert_close(diff, torch.full_like(diff, gain_db), atol=1e-3, rtol=0)


def test_buffers_move_with_to_and_are_not_in_state_dict():
    mel = MelSpectrogram().double()
    assert mel.mel_fbank.dtype == torch.float64
    assert mel(torch.randn(2, 1000, dtype=torch.float64)).dtype == torch.float64
    assert len(mel.state_dict()) == 0


def test_db_conversions():
    x = torch.tensor([1.0, 0.5, 1e-3, 0.0])
    db = amplitude_to_db(x)
    torch.testing.assert_close(db, torch.tensor([0.0, -6.0206, -60.0, -100.0]))
    torch.testing.assert_close(db_to_amplitude(db), torch.tensor([1.0, 0.5, 1e-3, 1e-5]))
    assert floor_db() == -100.0 and floor_db(1e-4) == pytest.approx(-80.0)
    torch.testing.assert_close(amplitude_to_db(torch.zeros(1), floor=1e-3), torch.tensor([-60.0]))


def test_pad_or_crop():
    x = torch.arange(6.0).reshape(1, 2, 3)
    padded = pad_or_crop(x, 5, pad_value=-100.0)
    assert padded.shape == (1, 2, 5)
    torch.testing.assert_close(padded[..., :3], x)
    assert bool((padded[..., 3:] == -100.0).all())
    torch.testing.assert_close(pad_or_crop(x, 2, -1.0), x[..., :2])
    torch.testing.assert_close(pad_or_crop(x, 3, -1.0), x)


def test_relative_db_does_not_depend_on_the_gain():
    """A clip 20 dB quieter gives the same level-normalised features; the raw ones differ."""
    torch.manual_seed(0)
    t = torch.arange(8000) / 16000
    wav = torch.sin(2 * math.pi * 440 * t) * torch.linspace(1, 0, 8000) + 0.01 * torch.randn(8000)
    wav = torch.cat([0.9 * wav, torch.zeros(8000)])  # speech, then digital silence
    loud = amplitude_to_db(MelSpectrogram()(torch.stack([wav, 0.1 * wav])))
    assert (loud[0] - loud[1]).abs().max() > 19.0  # (the raw dB features: 20 dB apart)
    level = relative_db(loud, range_db=80.0)
    torch.testing.assert_close(level[0], level[1], rtol=0, atol=1e-3)
    assert float(level.amax()) == 0.0 and float(level.amin()) == -80.0
    # silence (the amplitude floor) sits at the bottom of the range in both
    assert bool((level[:, :, -5:] == -80.0).all())


def test_relative_db_is_per_example_and_checks_its_range():
    db = torch.tensor([[[0.0, -10.0]], [[-40.0, -45.0]]])
    torch.testing.assert_close(relative_db(db, 8.0), torch.tensor([[[0.0, -8.0]], [[0.0, -5.0]]]))
    with pytest.raises(ValueError, match="range_db must be positive"):
        relative_db(db, 0.0)
