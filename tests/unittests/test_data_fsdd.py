import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from audiodiff.data import fsdd
from audiodiff.data.errors import DataFolderError
from audiodiff.data.fsdd import BUNDLED_FSDD, parse_fsdd_name, prepare_fsdd
from audiodiff.data.manifest import read_manifest

BUNDLED = Path(__file__).resolve().parents[2] / "bundled_data" / "fsdd"


def test_bundled_constant_points_at_the_repo_copy():
    assert Path(BUNDLED_FSDD) == BUNDLED


def test_prepare_bundled(tmp_path, monkeypatch):
    paths = prepare_fsdd(BUNDLED, tmp_path / "manifests")
    assert set(paths) == {"train", "valid", "test", "speakers"}
    splits = {name: read_manifest(paths[name]) for name in ("train", "valid", "test")}
    assert {k: len(v) for k, v in splits.items()} == {"train": 2400, "valid": 300, "test": 300}
    assert len(set(splits["train"]) | set(splits["valid"]) | set(splits["test"])) == 3000
    speakers = read_manifest(paths["speakers"])
    assert speakers == {name: i for i, name in enumerate(sorted(speakers))}
    assert len(speakers) == 6
    for name, split in splits.items():
        assert {e["speaker"] for e in split.values()} == set(speakers), name
        assert {e["digit"] for e in split.values()} == set(range(10)), name
    entry = splits["test"]["7_jackson_3"]
    assert entry["digit"] == 7 and entry["speaker"] == "jackson" and entry["rep"] == 3
    assert Path(entry["wav"]).is_absolute() and Path(entry["wav"]).is_file()
    assert 0.1 < entry["duration"] < 2.0
    assert {e["rep"] for e in splits["test"].values()} == set(range(5))
    assert {e["rep"] for e in splits["valid"].values()} == set(range(5, 10))

    # second run: nothing is scanned again
    def fail(*args, **kwargs):
        raise AssertionError("preparation should have been skipped")

    monkeypatch.setattr(fsdd, "scan_audio_files", fail)
    assert prepare_fsdd(BUNDLED / "recordings", tmp_path / "manifests") == paths
    assert prepare_fsdd("/does/not/exist", tmp_path / "manifests", skip_prep=True) == paths
    # changed options: prepared again
    monkeypatch.undo()
    prepare_fsdd(BUNDLED, tmp_path / "manifests", valid_reps=[5])
    assert len(read_manifest(paths["valid"])) == 60
    assert json.loads((tmp_path / "manifests" / "prepare_opts.json").read_text())["valid_reps"] == [
        5
    ]


def _small_copy(folder):
    folder.mkdir()
    for speaker in ("george", "theo"):
        for digit in (1, 2):
            for rep in range(12):
                name = f"{digit}_{speaker}_{rep}.wav"
                shutil.copy(BUNDLED / "recordings" / name, folder / name)
    return folder


def test_corrupt_and_empty_files_are_skipped_and_counted(tmp_path, caplog):
    folder = _small_copy(tmp_path / "recordings")
    rng = np.random.default_rng(0)
    (folder / "3_george_20.wav").write_bytes(rng.integers(0, 256, 3000, dtype=np.uint8).tobytes())
    soundfile.write(str(folder / "4_george_20.wav"), np.zeros(0, np.float32), 8000)
    (folder / "5_theo_20.wav").touch()
    shutil.copy(folder / "1_george_0.wav", folder / "readme_take.wav")
    with caplog.at_level(logging.WARNING, logger="audiodiff.data"):
        paths = prepare_fsdd(tmp_path, tmp_path / "manifests")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("skipped 3 unreadable or empty audio files" in w for w in warnings), warnings
    assert any("3_george_20.wav" in w for w in warnings)
    assert any("skipped 1 files with unexpected names" in w for w in warnings), warnings
    total = sum(len(read_manifest(paths[s])) for s in ("train", "valid", "test"))
    assert total == 48
    assert len(read_manifest(paths["test"])) == 20


def test_missing_speaker_in_a_split_is_warned(tmp_path, caplog):
    folder = _small_copy(tmp_path / "recordings")
    for rep in range(10, 12):
        for digit in (1, 2):
            (folder / f"{digit}_theo_{rep}.wav").unlink()
    with caplog.at_level(logging.WARNING, logger="audiodiff.data"):
        prepare_fsdd(folder, tmp_path / "manifests")
    assert any("split train lacks 1 speaker(s): theo" in r.getMessage() for r in caplog.records)


def test_missing_folder_names_the_flag(tmp_path):
    with pytest.raises(DataFolderError) as info:
        prepare_fsdd(tmp_path / "nowhere", tmp_path / "manifests")
    message = str(info.value)
    assert "--data_folder" in message and str(tmp_path / "nowhere") in message
    assert "\n" not in message
    assert isinstance(info.value, FileNotFoundError)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFolderError, match="holds no .wav files"):
        prepare_fsdd(tmp_path / "empty", tmp_path / "manifests")


def test_overlapping_or_empty_splits_raise(tmp_path):
    folder = _small_copy(tmp_path / "recordings")
    with pytest.raises(ValueError, match="overlap"):
        prepare_fsdd(folder, tmp_path / "m1", valid_reps=[1, 2], test_reps=[2, 3])
    with pytest.raises(ValueError, match="train split is empty"):
        prepare_fsdd(folder, tmp_path / "m2", valid_reps=range(5, 12))


def test_parse_name():
    assert parse_fsdd_name("9_yweweler_49.wav") == (9, "yweweler", 49)
    assert parse_fsdd_name("x_y.wav") is None
