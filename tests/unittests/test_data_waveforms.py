"""load_waveforms: resampling, fixed length, skipped files, the cache."""

import math
import os

import torch

from audiodiff.audio import write_audio
from audiodiff.data.manifest import write_manifest
from audiodiff.data.waveforms import load_waveforms


def make_manifest(folder, entries):
    path = os.path.join(folder, "m.json")
    write_manifest(path, entries)
    return path


def test_resampled_fixed_length_and_lengths(tmp_path):
    t8 = torch.arange(4000) / 8000
    write_audio(tmp_path / "a.wav", 0.5 * torch.sin(2 * math.pi * 440 * t8), 8000)
    write_audio(tmp_path / "b.wav", 0.1 * torch.ones(20000), 16000)  # longer: cropped
    manifest = make_manifest(
        tmp_path,
        {
            "a": {"wav": str(tmp_path / "a.wav"), "digit": 3, "speaker": "x"},
            "b": {"wav": str(tmp_path / "b.wav"), "digit": 5},
        },
    )
    out = load_waveforms(manifest, sample_rate=16000, num_samples=16000, progress=False)
    assert out["wav"].shape == (2, 16000) and out["ids"] == ["a", "b"]
    assert out["digit"].tolist() == [3, 5] and out["speaker"] == ["x", ""]
    torch.testing.assert_close(out["lengths"], torch.tensor([0.5, 1.0]))
    t16 = torch.arange(16000) / 16000
    expected = 0.5 * torch.sin(2 * math.pi * 440 * t16[:8000])
    # the 16-bit file and the resampling filter: compare away from the edges
    torch.testing.assert_close(out["wav"][0, 200:7800], expected[200:7800], atol=5e-3, rtol=0)
    assert out["wav"][0, 8100:].abs().max() < 1e-3  # zero padding after the clip


def test_cache_and_skipped_files(tmp_path, caplog):
    write_audio(tmp_path / "a.wav", 0.1 * torch.randn(1600), 16000)
    (tmp_path / "bad.wav").write_bytes(b"not audio")
    entries = {
        "a": {"wav": str(tmp_path / "a.wav"), "digit": 1},
        "bad": {"wav": str(tmp_path / "bad.wav"), "digit": 2},
    }
    manifest = make_manifest(tmp_path, entries)
    cache = tmp_path / "cache.pt"
    first = load_waveforms(manifest, num_samples=3200, cache_path=cache, progress=False)
    assert first["ids"] == ["a"] and cache.exists()
    write_audio(tmp_path / "a.wav", torch.zeros(1600), 16000)  # same manifest: cache used
    torch.testing.assert_close(
        load_waveforms(manifest, num_samples=3200, cache_path=cache, progress=False)["wav"],
        first["wav"],
    )
    second = load_waveforms(manifest, num_samples=1600, cache_path=cache, progress=False)
    assert second["wav"].shape == (1, 1600) and second["wav"].abs().max() == 0  # recomputed


def test_peak_level_scales_each_clip_and_keeps_the_cache_unscaled(tmp_path):
    from audiodiff.audio import write_audio
    from audiodiff.data.manifest import write_manifest

    quiet, loud = 0.01 * torch.randn(800), 0.5 * torch.randn(800)
    write_audio(str(tmp_path / "q.wav"), quiet.clamp(-1, 1), 8000)
    write_audio(str(tmp_path / "l.wav"), loud.clamp(-1, 1), 8000)
    entries = {u: {"wav": str(tmp_path / f"{u}.wav"), "digit": 1} for u in ("q", "l")}
    write_manifest(str(tmp_path / "m.json"), entries)
    cache = str(tmp_path / "c.pt")
    args = dict(num_samples=3200, cache_path=cache, progress=False)
    scaled = load_waveforms(str(tmp_path / "m.json"), peak_level=0.9, **args)
    torch.testing.assert_close(scaled["wav"].abs().amax(-1), torch.tensor([0.9, 0.9]))
    raw = load_waveforms(str(tmp_path / "m.json"), **args)
    assert raw["wav"][0].abs().max() < 0.1  # the quiet clip, unscaled from the same cache
