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


def test_whole_clips_in_float16_compressed_cache(tmp_path, monkeypatch):
    manifest = _manifest(tmp_path / "m.json", NAMES[:3])
    cache = tmp_path / "whole.pt"
    mel = MelSpectrogram()
    feats = compute_features(
        manifest,
        mel,
        num_frames=None,
        dtype=torch.float16,
        cache_path=cache,
        compress=True,
        progress=False,
    )
    assert isinstance(feats["mel_db"], list) and "lengths" not in feats
    for i, name in enumerate(NAMES[:3]):
        wav, _ = read_audio(RECORDINGS / f"{name}.wav", sample_rate=16000)
        expected = amplitude_to_db(mel(wav))[0]
        assert feats["mel_db"][i].dtype == torch.float16
        assert feats["frames"][i].item() == expected.shape[-1]
        torch.testing.assert_close(feats["mel_db"][i].float(), expected, atol=0.07, rtol=0)
    assert cache.read_bytes()[:4] == b"ADZ1"
    monkeypatch.setattr(features_module, "read_audio", lambda *a, **k: 1 / 0)
    again = compute_features(
        manifest, mel, num_frames=None, dtype=torch.float16, cache_path=cache, progress=False
    )
    torch.testing.assert_close(again["mel_db"][2], feats["mel_db"][2])


def test_entries_without_digits(tmp_path):
    manifest = tmp_path / "m.json"
    write_manifest(manifest, {"a": {"wav": str(RECORDINGS / f"{NAMES[0]}.wav"), "speaker": "s"}})
    feats = compute_features(manifest, MelSpectrogram(), progress=False)
    assert "digit" not in feats and feats["speaker"] == ["s"] and feats["mel_db"].shape[0] == 1


class TwoCopies:
    """A stand-in augmentation: a louder and a reversed copy."""

    num_copies = 2

    def __init__(self):
        self.calls = []

    def settings(self):
        return {"kind": "two copies"}

    def __call__(self, wav, key):
        self.calls.append(key)
        return [2 * wav, wav.flip(0)]


def test_augmented_copies_are_computed_once_and_cached(tmp_path):
    manifest = _manifest(tmp_path / "m.json", NAMES[:2])
    cache = tmp_path / "aug.pt"
    mel, augment = MelSpectrogram(), TwoCopies()
    feats = compute_features(
        manifest, mel, num_frames=None, cache_path=cache, augment=augment, progress=False
    )
    assert augment.calls == NAMES[:2]
    assert [len(c) for c in feats["augmented"]] == [2, 2]
    louder, original = feats["augmented"][0][0], feats["mel_db"][0]
    above = original > -90.0  # away from the -100 dB floor, which clamps both
    gain = 20 * torch.log10(torch.tensor(2.0))  # twice the amplitude: +6.02 dB
    torch.testing.assert_close(louder[above], original[above] + gain, atol=1e-3, rtol=0)
    again = compute_features(
        manifest, mel, num_frames=None, cache_path=cache, augment=augment, progress=False
    )
    assert augment.calls == NAMES[:2]  # from the cache
    torch.testing.assert_close(again["augmented"][1][1], feats["augmented"][1][1])
    plain = compute_features(manifest, mel, num_frames=None, cache_path=cache, progress=False)
    assert "augmented" not in plain  # another key: recomputed without copies
