import io
import json
import logging

import datasets
import numpy as np
import pytest
import soundfile
import torch

from audiodiff.audio.io import audio_info, write_audio
from audiodiff.data import audiomnist
from audiodiff.data.audiomnist import prepare_audiomnist, write_hf_dataset
from audiodiff.data.errors import DataFolderError
from audiodiff.data.manifest import read_manifest

SR = 48000
META = {
    "01": {"accent": "german", "age": "30", "gender": "male", "native speaker": "no"},
    "02": {"accent": "Egyptian_American?", "age": "25", "gender": "female"},
}


def _tone(seed, samples=2400):
    g = torch.Generator().manual_seed(seed)
    return 0.1 * torch.randn(samples, generator=g)


def _make_layout(root, speakers=("01", "02"), digits=(0, 7), reps=12, meta_at="data"):
    for speaker in speakers:
        for digit in digits:
            for rep in range(reps):
                path = root / "data" / speaker / f"{digit}_{speaker}_{rep}.wav"
                write_audio(path, _tone(rep), SR)
    if meta_at is not None:
        meta_dir = root / meta_at if meta_at else root
        (meta_dir / "audioMNIST_meta.txt").write_text(json.dumps({"01": META["01"]}))
    return root


def _splits(paths):
    return {name: read_manifest(paths[name]) for name in ("train", "valid", "test")}


@pytest.fixture
def no_network(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("load_dataset must not be called")

    monkeypatch.setattr(datasets, "load_dataset", fail)


def test_local_layout(tmp_path, no_network):
    root = _make_layout(tmp_path / "AudioMNIST")
    paths = prepare_audiomnist(root, tmp_path / "manifests")
    splits = _splits(paths)
    assert {k: len(v) for k, v in splits.items()} == {"train": 8, "valid": 20, "test": 20}
    for split in splits.values():
        assert {e["speaker"] for e in split.values()} == {"01", "02"}
    entry = splits["test"]["7_01_3"]
    assert (entry["digit"], entry["speaker"], entry["rep"]) == (7, "01", 3)
    assert entry["duration"] == pytest.approx(0.05)
    assert entry["gender"] == "male" and entry["accent"] == "german"
    assert "gender" not in splits["test"]["7_02_3"]
    assert read_manifest(paths["speakers"]) == {"01": 0, "02": 1}
    # the data folder itself is accepted too, and an unchanged re-run is skipped
    assert prepare_audiomnist(root / "data", tmp_path / "m2") == {
        k: str(tmp_path / "m2" / f"{k}.json") for k in paths
    }


def test_meta_at_root_and_skip(tmp_path, monkeypatch):
    root = _make_layout(tmp_path / "am", meta_at="")
    paths = prepare_audiomnist(root, tmp_path / "manifests")
    assert _splits(paths)["train"]["0_01_11"]["gender"] == "male"
    monkeypatch.setattr(audiomnist, "scan_audio_files", lambda *a: pytest.fail("not skipped"))
    assert prepare_audiomnist(root, tmp_path / "manifests") == paths


def test_corrupt_file_skipped(tmp_path, caplog):
    root = _make_layout(tmp_path / "am", meta_at=None)
    (root / "data" / "01" / "3_01_0.wav").write_bytes(b"RIFF....WAVEjunk" * 10)
    with caplog.at_level(logging.WARNING, logger="audiodiff.data"):
        paths = prepare_audiomnist(root, tmp_path / "manifests")
    assert any("skipped 1 unreadable" in r.getMessage() for r in caplog.records)
    assert sum(len(v) for v in _splits(paths).values()) == 48


def test_missing_folder_names_the_flags(tmp_path, no_network):
    with pytest.raises(DataFolderError) as info:
        prepare_audiomnist(tmp_path / "missing", tmp_path / "manifests")
    message = str(info.value)
    for flag in ("--data_folder", "--download true", "--dataset fsdd", "flexthink/audiomnist"):
        assert flag in message
    assert "\n" not in message


def _rows(with_names, speakers=("1", "2"), digits=(0, 7), reps=12):
    rows = {"audio": [], "digit": [], "speaker_id": [], "gender": []}
    if with_names:
        rows["file_name"] = []
    for speaker in speakers:
        for digit in digits:
            for rep in range(reps):
                rows["audio"].append({"array": _tone(rep).numpy(), "sampling_rate": SR})
                rows["digit"].append(str(digit))
                rows["speaker_id"].append(speaker)
                rows["gender"].append("female" if speaker == "2" else "male")
                if with_names:
                    name = f"{digit}_{int(speaker):02d}_{rep}.wav"
                    rows["file_name"].append(f"{{data_root}}/dataset/train/{speaker}/{name}")
    return rows


@pytest.mark.parametrize("with_names", [True, False])
def test_hf_dataset_route(tmp_path, no_network, with_names):
    rows = _rows(with_names)
    dataset = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({k: v[:40] for k, v in rows.items()}),
            "test": datasets.Dataset.from_dict({k: v[40:] for k, v in rows.items()}),
        }
    )
    root = tmp_path / "am"
    paths = prepare_audiomnist(root, tmp_path / "manifests", hf_dataset=dataset)
    assert audio_info(root / "data" / "02" / "7_02_11.wav") == (2400, SR)
    splits = _splits(paths)
    assert {k: len(v) for k, v in splits.items()} == {"train": 8, "valid": 20, "test": 20}
    assert splits["valid"]["7_02_5"]["gender"] == "female"
    meta = json.loads((root / "data" / "audioMNIST_meta.txt").read_text())
    assert meta["01"]["gender"] == "male"


def test_audio_feature_columns_are_read_without_torchcodec(tmp_path):
    src = tmp_path / "src"
    for rep in range(3):
        write_audio(src / f"5_03_{rep}.wav", _tone(rep), SR)
    buffer = io.BytesIO()
    soundfile.write(buffer, _tone(9).numpy(), SR, format="WAV")
    table = datasets.Dataset.from_dict(
        {"audio": [str(src / f"5_03_{rep}.wav") for rep in range(3)]}
    ).cast_column("audio", datasets.Audio())
    extra = datasets.Dataset.from_dict(
        {"audio": [{"bytes": buffer.getvalue(), "path": "4_03_9.wav"}]}
    ).cast_column("audio", datasets.Audio())
    assert write_hf_dataset(datasets.DatasetDict({"a": table, "b": extra}), tmp_path / "am") == 4
    assert audio_info(tmp_path / "am" / "data" / "03" / "4_03_9.wav") == (2400, SR)
    assert audio_info(tmp_path / "am" / "data" / "03" / "5_03_2.wav") == (2400, SR)


def test_download_calls_load_dataset_with_parquet_fallback(tmp_path, monkeypatch):
    calls = []
    small = datasets.Dataset.from_dict(_rows(True))

    def fake_load_dataset(name, revision=None):
        calls.append((name, revision))
        if revision is None:
            raise RuntimeError("Dataset scripts are no longer supported, but found audiomnist.py")
        return datasets.DatasetDict({"train": small})

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    paths = prepare_audiomnist(tmp_path / "am", tmp_path / "manifests", download=True)
    assert calls == [
        ("flexthink/audiomnist", None),
        ("flexthink/audiomnist", "refs/convert/parquet"),
    ]
    assert sum(len(v) for v in _splits(paths).values()) == 48
    # data present: no second download
    prepare_audiomnist(tmp_path / "am", tmp_path / "manifests2", download=True)
    assert len(calls) == 2


def test_bad_rows_are_skipped(tmp_path, caplog):
    rows = {
        "audio": [
            {"array": np.zeros(100), "sampling_rate": SR},
            {"array": np.zeros(0), "sampling_rate": SR},
        ],
        "digit": ["seven", "3"],
        "speaker_id": ["4", "4"],
    }
    with caplog.at_level(logging.WARNING, logger="audiodiff.data"):
        written = write_hf_dataset(datasets.Dataset.from_dict(rows), tmp_path)
    assert written == 1
    assert (tmp_path / "data" / "04" / "7_04_0.wav").is_file()
    assert any("skipped 1 dataset rows" in r.getMessage() for r in caplog.records)
