import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from audiodiff.data import (
    BUNDLED_FSDD,
    BUNDLED_SC09_MINI,
    DIGIT_WORDS,
    DataFolderError,
    prepare_fsdd,
    prepare_sc09,
    read_manifest,
    which_set,
)
from audiodiff.data import speech_commands as sc
from audiodiff.data.synth import make_sc09

SPLITS = ("train", "valid", "test")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A synthetic Speech Commands copy (4 speakers x 10 digits x 2) plus non-digit folders."""
    out = tmp_path_factory.mktemp("sc") / "speech_commands_v0.02"
    make_sc09(str(out), speakers=4, repetitions=2, seed=1, workers=2, progress=False)
    for extra in ("yes", "_background_noise_"):
        (out / extra).mkdir()
        shutil.copy(next((out / "zero").iterdir()), out / extra / "0123abcd_nohash_0.wav")
    return out


@pytest.fixture(scope="module")
def fsdd_fields(tmp_path_factory):
    paths = prepare_fsdd(BUNDLED_FSDD, tmp_path_factory.mktemp("fsdd"))
    return set(paths), set(next(iter(read_manifest(paths["test"]).values())))


def _splits(paths):
    return {name: read_manifest(paths[name]) for name in SPLITS}


def test_which_set_follows_the_speaker_hash():
    rng = np.random.default_rng(0)
    hashes = [f"{int(x):08x}" for x in rng.integers(0, 2**32, 3000)]
    sets = [which_set(f"seven/{h}_nohash_0.wav") for h in hashes]
    assert all(which_set(f"zero/{h}_nohash_4.wav") == s for h, s in zip(hashes[:50], sets))
    fractions = {name: sets.count(name) / len(sets) for name in ("validation", "testing")}
    assert all(0.08 < f < 0.12 for f in fractions.values()), fractions
    assert which_set("a_nohash_0.wav", 0, 0) == "training"


def test_prepare_sc09_on_synthetic_speech_commands(corpus, tmp_path, fsdd_fields):
    paths = prepare_sc09(corpus, tmp_path / "manifests")
    path_keys, entry_fields = fsdd_fields
    assert set(paths) == path_keys  # the same kind of result as prepare_fsdd
    splits = _splits(paths)
    assert sum(len(s) for s in splits.values()) == 80  # digits only: no yes/, no noise
    for name, split in splits.items():
        assert split, name
        for utt_id, entry in split.items():
            assert set(entry) == entry_fields  # the same entry fields as prepare_fsdd
            word = DIGIT_WORDS[entry["digit"]]
            assert utt_id == f"{word}_{entry['speaker']}_nohash_{entry['rep']}"
            assert Path(entry["wav"]).is_file() and Path(entry["wav"]).parent.name == word
            assert abs(entry["duration"] - 1.0) < 1e-6
    # the split is the official lists', and speaker-disjoint
    for name, list_name in (("valid", "validation_list.txt"), ("test", "testing_list.txt")):
        listed = set((corpus / list_name).read_text().split())
        assert {os.path.relpath(e["wav"], corpus) for e in splits[name].values()} == listed
    speakers = {name: {e["speaker"] for e in split.values()} for name, split in splits.items()}
    assert not speakers["train"] & speakers["valid"] and not speakers["valid"] & speakers["test"]
    table = read_manifest(paths["speakers"])
    assert list(table) == sorted(set().union(*speakers.values())) and len(table) == 4


def test_prepare_sc09_without_lists_computes_the_same_split(corpus, tmp_path, caplog):
    copy = tmp_path / "copy"
    shutil.copytree(corpus, copy)
    with_lists = _splits(prepare_sc09(copy, tmp_path / "a"))
    (copy / "validation_list.txt").unlink()
    (copy / "testing_list.txt").unlink()
    with caplog.at_level(logging.WARNING):
        without = _splits(prepare_sc09(copy, tmp_path / "b"))
    assert "computing the official split" in caplog.text
    assert {k: sorted(v) for k, v in without.items()} == {
        k: sorted(v) for k, v in with_lists.items()
    }


def test_prepare_sc09_release_layout(corpus, tmp_path):
    """The standalone SC09 release: train/valid/test folders of {Word}_{hash}_nohash_{i}.wav."""
    reference = _splits(prepare_sc09(corpus, tmp_path / "reference"))
    release = tmp_path / "sc09"
    for name, split in reference.items():
        (release / name).mkdir(parents=True)
        for entry in split.values():
            word = DIGIT_WORDS[entry["digit"]].capitalize()
            target = release / name / f"{word}_{entry['speaker']}_nohash_{entry['rep']}.wav"
            shutil.copy(entry["wav"], target)
    splits = _splits(prepare_sc09(release, tmp_path / "manifests"))
    assert {k: sorted(v) for k, v in splits.items()} == {k: sorted(v) for k, v in reference.items()}


def test_prepare_sc09_skips_bad_files_and_reuses_manifests(corpus, tmp_path, caplog, monkeypatch):
    copy = tmp_path / "copy"
    shutil.copytree(corpus, copy)
    (copy / "three" / "deadbeef_nohash_0.wav").write_bytes(b"not a wav")
    (copy / "three" / "notes.wav").write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        paths = prepare_sc09(copy, tmp_path / "m")
    assert "unreadable or empty" in caplog.text and "unexpected names" in caplog.text
    assert sum(len(s) for s in _splits(paths).values()) == 80

    def fail(*args, **kwargs):
        raise AssertionError("preparation should have been skipped")

    monkeypatch.setattr(sc, "scan_audio_files", fail)
    assert prepare_sc09(copy, tmp_path / "m") == paths
    assert prepare_sc09("/does/not/exist", tmp_path / "m", skip_prep=True) == paths


def test_prepare_sc09_clear_errors(tmp_path):
    with pytest.raises(DataFolderError, match="--data_folder"):
        prepare_sc09(tmp_path / "missing", tmp_path / "m")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFolderError, match="holds no zero/"):
        prepare_sc09(tmp_path / "empty", tmp_path / "m")


def test_prepare_sc09_reads_the_bundled_real_clips(tmp_path):
    """The 100 real Speech Commands v0.01 clips in their release layout and official lists."""
    paths = prepare_sc09(BUNDLED_SC09_MINI, tmp_path)
    splits = _splits(paths)
    assert {k: len(v) for k, v in splits.items()} == {"train": 62, "valid": 16, "test": 22}
    speakers = {k: {e["speaker"] for e in v.values()} for k, v in splits.items()}
    assert not speakers["train"] & (speakers["valid"] | speakers["test"])  # speaker-disjoint
    assert len(read_manifest(paths["speakers"])) == 22
    for entries in splits.values():
        assert sorted({e["digit"] for e in entries.values()}) == list(range(10))
        for utt_id, entry in entries.items():
            word = utt_id.split("_")[0]
            assert entry["digit"] == DIGIT_WORDS.index(word)
            assert abs(entry["duration"] - 1.0) < 0.2
