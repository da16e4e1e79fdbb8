import logging
import shutil
import sys
from pathlib import Path

import pytest
import soundfile

from audiodiff.data import (
    BUNDLED_LJSPEECH,
    DataFolderError,
    prepare_ljspeech,
    read_manifest,
    split_by_fraction,
)
from audiodiff.data.synth import SynthUnavailableError, make_ljspeech, text_to_phonemes

BUNDLED = Path(__file__).resolve().parents[2] / "bundled_data" / "ljspeech_mini"
SPLITS = ("train", "valid", "test")


def _all(paths):
    return {utt: e for name in SPLITS for utt, e in read_manifest(paths[name]).items()}


def test_bundled_constant_points_at_the_repo_copy():
    assert Path(BUNDLED_LJSPEECH) == BUNDLED


def test_prepare_bundled_real_ljspeech(tmp_path):
    paths = prepare_ljspeech(BUNDLED, tmp_path / "m")
    assert set(paths) == {"train", "valid", "test", "speakers"}
    sizes = {name: len(read_manifest(paths[name])) for name in SPLITS}
    assert sizes == {"train": 28, "valid": 2, "test": 2}
    entries = _all(paths)
    assert sorted(entries) == [f"LJ001-{i:04d}" for i in range(1, 33)]
    metadata = {
        line.split("|")[0]: line.split("|")
        for line in (BUNDLED / "metadata.csv").read_text("utf-8").splitlines()
    }
    for utt_id, entry in entries.items():
        assert set(entry) == {"wav", "duration", "text", "normalized_text", "speaker", "phonemes"}
        assert entry["text"] == metadata[utt_id][1]
        assert entry["normalized_text"] == metadata[utt_id][2]
        info = soundfile.info(entry["wav"])
        assert info.samplerate == 22050
        assert abs(entry["duration"] - info.frames / info.samplerate) < 1e-3
        assert entry["speaker"] == "LJ" and entry["phonemes"]
    ipa = entries["LJ001-0002"]["phonemes"]  # "in being comparatively modern."
    assert ipa == text_to_phonemes(metadata["LJ001-0002"][2], "en-us")
    assert ipa.startswith("ɪn bˌiːɪŋ kəmpˈæɹət") and ipa.endswith("mˈɑːdɚn")
    assert read_manifest(paths["speakers"]) == {"LJ": 0}
    # the split depends on the seed only
    other = prepare_ljspeech(BUNDLED, tmp_path / "other", seed=1, phonemes=False)
    assert read_manifest(other["valid"]).keys() != read_manifest(paths["valid"]).keys()
    assert "phonemes" not in next(iter(read_manifest(other["train"]).values()))


def test_prepare_synthetic_ljspeech_in_a_parent_folder(tmp_path):
    root = tmp_path / "data" / "LJSpeech-1.1"
    make_ljspeech(str(root), utterances=4, progress=False, workers=2)
    paths = prepare_ljspeech(tmp_path / "data", tmp_path / "m")  # the parent also works
    entries = _all(paths)
    assert sorted(entries) == [f"LJ001-000{i}" for i in range(1, 5)]
    assert all(e["phonemes"] and Path(e["wav"]).parent == root / "wavs" for e in entries.values())


def test_prepare_skips_missing_wavs_and_bad_lines(tmp_path, caplog):
    copy = tmp_path / "lj"
    shutil.copytree(BUNDLED, copy)
    (copy / "wavs" / "LJ001-0003.wav").unlink()
    with open(copy / "metadata.csv", "a", encoding="utf-8") as f:
        f.write("broken line without fields\n\nLJ999-0001|no audio for this one|\n")
    with caplog.at_level(logging.WARNING):
        entries = _all(prepare_ljspeech(copy, tmp_path / "m", phonemes=False))
    assert len(entries) == 31 and "LJ001-0003" not in entries
    assert "malformed metadata lines" in caplog.text and "file not found" in caplog.text


def test_phonemes_option_without_espeakng(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)
    entries = _all(prepare_ljspeech(BUNDLED, tmp_path / "auto"))  # "auto": no phonemes
    assert all("phonemes" not in e for e in entries.values())
    with pytest.raises(SynthUnavailableError, match=r"pip install audiodiff\[synth\]"):
        prepare_ljspeech(BUNDLED, tmp_path / "required", phonemes=True)


def test_clear_errors(tmp_path):
    with pytest.raises(DataFolderError, match="--data_folder"):
        prepare_ljspeech(tmp_path / "missing", tmp_path / "m")
    (tmp_path / "lj").mkdir()
    (tmp_path / "lj" / "metadata.csv").write_text("LJ001-0001|text|text\n")
    with pytest.raises(DataFolderError, match="no readable"):
        prepare_ljspeech(tmp_path / "lj", tmp_path / "m", phonemes=False)


def test_split_by_fraction():
    ids = [f"u{i:03d}" for i in range(200)]
    splits = split_by_fraction(reversed(ids), 0.1, 0.05, seed=3)
    assert {k: len(v) for k, v in splits.items()} == {"train": 170, "valid": 20, "test": 10}
    assert sorted(sum(splits.values(), [])) == ids
    assert split_by_fraction(ids, 0.1, 0.05, seed=3) == splits
    assert split_by_fraction(ids[:2], 0.1, 0.1)["valid"] == []
    with pytest.raises(ValueError):
        split_by_fraction(ids, 0.6, 0.5)


def test_held_out_last_and_flac_copies(tmp_path):
    copy = tmp_path / "lj"
    shutil.copytree(BUNDLED, copy)
    for wav in sorted((copy / "wavs").glob("*.wav"))[:3]:  # a FLAC copy reads the same
        audio, rate = soundfile.read(wav)
        soundfile.write(wav.with_suffix(".flac"), audio, rate)
        wav.unlink()
    paths = prepare_ljspeech(copy, tmp_path / "m", held_out_last=5, phonemes=False)
    test = read_manifest(paths["test"])
    assert sorted(test) == [f"LJ001-{i:04d}" for i in range(28, 33)]
    train, valid = read_manifest(paths["train"]), read_manifest(paths["valid"])
    assert not (set(train) | set(valid)) & set(test)
    assert len(train) + len(valid) == 27 and len(valid) == 1
    assert train["LJ001-0001"]["wav"].endswith("LJ001-0001.flac")
    with pytest.raises(DataFolderError, match="leaves nothing to train on"):
        prepare_ljspeech(copy, tmp_path / "m2", held_out_last=32, phonemes=False)
