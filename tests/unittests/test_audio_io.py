import numpy as np
import pytest
import soundfile
import torch

from audiodiff.audio.io import AudioReadError, audio_info, read_audio, write_audio


def test_write_read_round_trip(tmp_path):
    wav = 0.5 * torch.sin(torch.linspace(0, 100, 1600))
    path = tmp_path / "deep" / "folder" / "a.wav"
    write_audio(path, wav, 16000)
    out, sr = read_audio(path)
    assert sr == 16000 and out.dtype == torch.float32 and out.shape == (1600,)
    torch.testing.assert_close(out, wav, atol=1e-4, rtol=0)
    assert soundfile.info(str(path)).subtype == "PCM_16"


def test_write_clamps(tmp_path):
    write_audio(tmp_path / "a.wav", torch.tensor([2.0, -3.0, 0.25]), 8000)
    out, _ = read_audio(tmp_path / "a.wav")
    torch.testing.assert_close(out, torch.tensor([1.0, -1.0, 0.25]), atol=1e-4, rtol=0)


def test_stereo_is_averaged(tmp_path):
    left = np.full(100, 0.5, dtype=np.float32)
    right = np.full(100, -0.25, dtype=np.float32)
    soundfile.write(str(tmp_path / "s.wav"), np.stack([left, right], axis=1), 8000)
    out, _ = read_audio(tmp_path / "s.wav")
    torch.testing.assert_close(out, torch.full((100,), 0.125), atol=1e-4, rtol=0)


def test_resampling(tmp_path):
    sr_in, f0 = 8000, 440.0
    t = torch.arange(sr_in) / sr_in
    write_audio(tmp_path / "a.wav", 0.5 * torch.sin(2 * torch.pi * f0 * t), sr_in)
    out, sr = read_audio(tmp_path / "a.wav", sample_rate=16000)
    assert sr == 16000 and out.shape == (16000,)
    spectrum = torch.fft.rfft(out).abs()
    peak_hz = spectrum.argmax().item() * 16000 / out.numel()
    assert abs(peak_hz - f0) < 2.0
    same, sr_same = read_audio(tmp_path / "a.wav", sample_rate=8000)
    assert sr_same == 8000 and same.shape == (8000,)


def test_info(tmp_path):
    write_audio(tmp_path / "a.wav", torch.zeros(1234), 22050)
    assert audio_info(tmp_path / "a.wav") == (1234, 22050)


def _corrupt(path):
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes())


def _empty(path):
    soundfile.write(str(path), np.zeros(0, dtype=np.float32), 8000, subtype="PCM_16")


@pytest.mark.parametrize(
    "make, problem",
    [(None, "not found"), (_corrupt, "corrupt"), (_empty, "empty"), (lambda p: p.touch(), "")],
)
@pytest.mark.parametrize("reader", [read_audio, audio_info])
def test_bad_files_raise_one_line(tmp_path, make, problem, reader):
    path = tmp_path / "bad.wav"
    if make is not None:
        make(path)
    with pytest.raises(AudioReadError) as info:
        reader(path)
    message = str(info.value)
    assert str(path) in message and problem in message
    assert "\n" not in message
    assert isinstance(info.value, ValueError)
