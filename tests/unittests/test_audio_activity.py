"""Energy-based speech activity: levels of known signals, seconds of sound, trimming."""

import math

import pytest
import torch

from audiodiff.audio import active_frames, frame_levels_db, speech_seconds, trim_silence

SR = 16000


def tone(seconds, amplitude=0.5, freq=440.0):
    t = torch.arange(int(seconds * SR)) / SR
    return amplitude * torch.sin(2 * math.pi * freq * t)


def test_frame_levels_of_a_sine_and_of_silence():
    levels = frame_levels_db(torch.cat([tone(0.5, amplitude=1.0), torch.zeros(SR // 2)]), SR)
    # a full-scale sine is -3.01 dBFS; digital silence is the -200 dBFS floor
    torch.testing.assert_close(levels[:40], torch.full((40,), -3.0103), atol=0.02, rtol=0)
    assert float(levels[-10:].max()) == pytest.approx(-200.0)
    assert len(levels) == (SR - 400) // 160 + 1


def test_a_clip_shorter_than_one_frame_is_one_padded_frame():
    assert frame_levels_db(torch.ones(10), SR).shape == (1,)


def test_speech_seconds_counts_sound_relative_to_the_loudest_frame():
    wav = torch.cat([torch.zeros(SR), tone(0.8), 1e-3 * tone(0.5), torch.zeros(SR)])
    # the part 60 dB below the tone (-69 dBFS) is not counted at 40 dB (nor is silence)
    assert speech_seconds(wav, SR) == pytest.approx(0.8, abs=0.03)
    assert speech_seconds(wav, SR, threshold_db=70.0, floor_dbfs=-80.0) == pytest.approx(
        1.3, abs=0.04
    )
    assert speech_seconds(torch.zeros(SR), SR) == 0.0
    # quieter than the absolute floor everywhere: silent, whatever the relative threshold
    assert speech_seconds(1e-5 * tone(1.0), SR) == 0.0


def test_active_frames_mask_matches_the_tone():
    wav = torch.cat([torch.zeros(SR // 2), tone(0.5), torch.zeros(SR // 2)])
    active = active_frames(wav, SR)
    first, last = int(active.nonzero()[0]), int(active.nonzero()[-1])
    assert first * 0.010 == pytest.approx(0.5 - 0.025, abs=0.011)  # frames overlapping the tone
    assert last * 0.010 == pytest.approx(1.0, abs=0.011)


def test_trim_silence_keeps_the_sound_and_a_margin():
    sound = tone(0.6)
    wav = torch.cat([torch.zeros(SR), sound, torch.zeros(SR)])
    trimmed = trim_silence(wav, SR, margin_seconds=0.05)
    assert trimmed.numel() / SR == pytest.approx(0.6 + 2 * 0.05 + 0.025, abs=0.03)
    assert trimmed.abs().sum() == pytest.approx(float(sound.abs().sum()), rel=1e-5)
    assert trim_silence(torch.zeros(SR), SR).numel() == SR  # silent: unchanged
    assert trim_silence(sound, SR).numel() == sound.numel()  # nothing to cut
