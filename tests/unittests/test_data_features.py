import json
import logging
from pathlib import Path

import pytest
import torch

from audiodiff.audio.io import read_audio
from audiodiff.audio.mel import MelSpectrogram, amplitude_to_db
from audiodiff.data import features as features_module
from audiodiff.data.features import compute_features
from audiodiff.data.manifest import write_manifest

RECORDINGS = Path(__file__).resolve().parents[2] / "bundled_data" / "fsdd" / "recordings"
NAMES = ["0_george_0", "1_jackson_5", "7_theo_12", "9_lucas_40", "4_nicolas_3", "5_yweweler_1"]


def _manifest(path, names=NAMES):
    entries = {}
    for name in names:
        digit, speaker, rep = name.split("_")
        entries[name] = {
            "wav": str(RECORDINGS / f"{name}.wav"),
            "digit": int(digit),
            "speaker": speaker,
            "rep": int(rep),
        }
    write_manifest(path, entries)
    return path


def test_shapes_padding_and_values(tmp_path):
    mel = MelSpectrogram()
    feats = compute_features(_manifest(tmp_path / "m.json"), mel, num_frames=64, progress=False)
    assert feats["mel_db"].shape == (6, 80, 64) and feats["mel_db"].dtype == torch.float32
    assert feats["ids"] == NAMES
    assert feats["speaker"] == [n.split("_")[1] for n in NAMES]
    torch.testing.assert_close(feats["digit"], torch.tensor([0, 1, 7, 9, 4, 5]))
    assert feats["digit"].dtype == torch.long
    for i, name in enumerate(NAMES):
        wav, _ = read_audio(RECORDINGS / f"{name}.wav", sample_rate=16000)
        frames = wav.numel() // 256 + 1
        valid = min(frames, 64)
        assert feats["lengths"][i].item() == pytest.approx(valid / 64)
        expected = amplitude_to_db(mel(wav))[0, :, :valid]
        torch.testing.assert_close(feats["mel_db"][i, :, :valid], expected)
        assert bool((feats["mel_db"][i, :, valid:] == -100.0).all())
    assert bool((feats["lengths"] > 0).all() and (feats["lengths"] <= 1).all())
    assert bool((feats["lengths"] < 1).any())  # some clips are padded


def test_cropping(tmp_path):
    feats = compute_features(
        _manifest(tmp_path / "m.json"), MelSpectrogram(), num_frames=8, progress=False
    )
    assert feats["mel_db"].shape == (6, 80, 8)
    torch.testing.assert_close(feats["lengths"], torch.ones(6))


def test_cache_is_reused_and_keyed(tmp_path, monkeypatch):
    manifest = _manifest(tmp_path / "m.json", NAMES[:3])
    cache = tmp_path / "cache" / "feats.pt"
    first = compute_features(manifest, MelSpectrogram(), cache_path=cache, progress=False)
    assert cache.is_file()

    def fail(*args, **kwargs):
        raise AssertionError("audio should come from the cache")

    monkeypatch.setattr(features_module, "read_audio", fail)
    second = compute_features(manifest, MelSpectrogram(), cache_path=cache, progress=False)
    torch.testing.assert_close(second["mel_db"], first["mel_db"])
    assert second["ids"] == first["ids"]
    monkeypatch.undo()
    # other settings or another manifest: recomputed
    other = compute_features(
        manifest, MelSpectrogram(n_mels=40), cache_path=cache, num_frames=32, progress=False
    )
    assert other["mel_db"].shape == (3, 40, 32)
    _manifest(manifest, NAMES[:2])
    assert compute_features(manifest, MelSpectrogram(), cache_path=cache, progress=False)[
        "mel_db"
    ].shape == (2, 80, 64)


def test_unreadable_files_skipped_and_warned(tmp_path, caplog):
    manifest = _manifest(tmp_path / "m.json", NAMES[:2])
    entries = json.loads(manifest.read_text())
    (tmp_path / "bad.wav").write_bytes(b"not a wav at all" * 20)
    entries["bad"] = {"wav": str(tmp_path / "bad.wav"), "digit": 1, "speaker": "x"}
    entries["gone"] = {"wav": str(tmp_path / "gone.wav"), "digit": 2, "speaker": "x"}
    write_manifest(manifest, entries)
    with caplog.at_level(logging.WARNING, logger="audiodiff.data"):
        feats = compute_features(manifest, MelSpectrogram(), progress=False)
    assert feats["ids"] == NAMES[:2]
    messages = [r.getMessage() for r in caplog.records]
    assert any("skipped 2 unreadable audio files" in m for m in messages), messages


def test_sample_rate_mismatch_raises(tmp_path):
    with pytest.raises(ValueError, match="sample_rate"):
        compute_features(
            _manifest(tmp_path / "m.json"), MelSpectrogram(sample_rate=22050), progress=False
        )
