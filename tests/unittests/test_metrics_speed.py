"""Tests for audiodiff.metrics.speed: Timer, synchronize, measure_speed."""

import time

import pytest
import torch

from audiodiff.metrics import speed
from audiodiff.metrics.speed import Timer, measure_speed, synchronize


def test_timer_measures_a_sleep():
    with Timer("cpu") as timer:
        time.sleep(0.02)
    assert 0.015 < timer.seconds < 0.5


def test_measure_speed_counts_calls_and_derives_figures():
    calls = []

    def work():
        calls.append(1)
        time.sleep(0.01)

    out = measure_speed(
        work, audio_seconds=2.0, repeats=4, warmup=2, num_items=8, sample_rate=16000
    )
    assert len(calls) == 6 and out["repeats"] == 4
    assert 0.008 < out["seconds"] < 0.5
    assert out["seconds_min"] <= out["seconds"] <= max(out["seconds_mean"], out["seconds"])
    assert out["rtf"] == pytest.approx(out["seconds"] / 2.0)
    assert out["x_realtime"] * out["rtf"] == pytest.approx(1.0)
    assert out["items_per_second"] == pytest.approx(8 / out["seconds"])
    assert out["audio_samples_per_second"] == pytest.approx(2.0 * 16000 / out["seconds"])


def test_measure_speed_rejects_bad_arguments():
    with pytest.raises(ValueError, match="repeats"):
        measure_speed(lambda: None, audio_seconds=1.0, repeats=0)
    with pytest.raises(ValueError, match="audio_seconds"):
        measure_speed(lambda: None, audio_seconds=0.0)


def test_cuda_devices_are_synchronised(monkeypatch):
    synced = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: synced.append(device))
    synchronize("cpu")
    assert synced == []
    synchronize("cuda:0")
    assert synced == [torch.device("cuda:0")]
    synced.clear()
    out = measure_speed(lambda: None, audio_seconds=1.0, repeats=3, warmup=1, device="cuda")
    assert len(synced) == 2 * 3 and out["repeats"] == 3  # on entry and exit of each timing


def test_package_exports():
    import audiodiff.metrics as metrics

    assert metrics.Timer is speed.Timer and metrics.measure_speed is speed.measure_speed
