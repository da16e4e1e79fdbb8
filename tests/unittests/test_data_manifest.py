import logging

import numpy as np
import pytest
import torch

from audiodiff.audio.io import write_audio
from audiodiff.data.manifest import (
    is_prepared,
    manifest_paths,
    read_manifest,
    save_opts,
    scan_audio_files,
    write_manifest,
)
from audiodiff.data.splits import split_by_repetition


def test_manifest_round_trip(tmp_path):
    entries = {"a": {"wav": "/x/a.wav", "duration": 0.5, "digit": 3, "speaker": "s", "rep": 1}}
    write_manifest(tmp_path / "sub" / "m.json", entries)
    assert read_manifest(tmp_path / "sub" / "m.json") == entries
    assert not (tmp_path / "sub" / "m.json.tmp").exists()


def test_scan_counts_and_warns(tmp_path, caplog):
    good = []
    for i in range(3):
        path = tmp_path / f"good{i}.wav"
        write_audio(path, torch.zeros(800 * (i + 1)), 8000)
        good.append(path)
    bad = []
    for i in range(7):
        path = tmp_path / f"bad{i}.wav"
        path.write_bytes(np.random.default_rng(i).bytes(500))
        bad.append(path)
    with caplog.at_level(logging.WARNING, logger="audiodiff.data"):
        ok, skipped = scan_audio_files(good + bad)
    assert [round(d, 3) for _, d in ok] == [0.1, 0.2, 0.3]
    assert [p for p, _ in skipped] == [str(p) for p in bad]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "skipped 7" in warnings[0] and "bad0.wav" in warnings[0] and ", ..." in warnings[0]


def test_is_prepared(tmp_path):
    paths = manifest_paths(tmp_path, names=("train",))
    opts = {"reps": [1, 2], "folder": "/x"}
    assert not is_prepared(tmp_path, opts, paths)
    write_manifest(paths["train"], {})
    assert not is_prepared(tmp_path, opts, paths)  # no options file yet
    save_opts(tmp_path, opts)
    assert is_prepared(tmp_path, opts, paths)
    assert not is_prepared(tmp_path, {**opts, "reps": [1]}, paths)


def test_split_by_repetition_is_speaker_stratified():
    entries = {
        f"{d}_{s}_{r}": {"speaker": s, "digit": d, "rep": r}
        for s in ("a", "b", "c")
        for d in range(10)
        for r in range(20)
    }
    splits = split_by_repetition(entries)
    assert {k: len(v) for k, v in splits.items()} == {"train": 300, "valid": 150, "test": 150}
    for split in splits.values():
        assert {e["speaker"] for e in split.values()} == {"a", "b", "c"}
    with pytest.raises(ValueError, match="overlap"):
        split_by_repetition(entries, valid_reps=[0, 1], test_reps=[1])
