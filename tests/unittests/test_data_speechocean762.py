"""prepare_speechocean762 on the bundled mini copy and on edited copies of it."""

import os
import shutil

import pytest

from audiodiff.data import (
    BUNDLED_SPEECHOCEAN762,
    SPEECHOCEAN762_HELD_OUT,
    DataFolderError,
    prepare_speechocean762,
    read_manifest,
)
from audiodiff.data.speechocean762 import read_kaldi_table, speaker_name, word_phones

SPLITS = ("train", "valid", "test", "held_out")


def load(paths):
    return {name: read_manifest(paths[name]) for name in (*SPLITS, "speakers")}


@pytest.fixture
def mini(tmp_path):
    """An editable copy of the bundled mini corpus."""
    return shutil.copytree(BUNDLED_SPEECHOCEAN762, tmp_path / "speechocean762")


def test_held_out_speakers_are_the_five_adults():
    assert SPEECHOCEAN762_HELD_OUT == ("1099", "1186", "1228", "2112", "2327")


def test_splits_of_the_bundled_copy(tmp_path):
    data = load(prepare_speechocean762(BUNDLED_SPEECHOCEAN762, tmp_path / "prep"))
    speakers_of = {name: {e["speaker"] for e in data[name].values()} for name in SPLITS}
    assert speakers_of["held_out"] == {"1099", "2327"}
    for name in ("train", "valid", "test"):
        assert speakers_of[name] == {"0001", "0005", "0024"}
    assert data["speakers"] == {"0001": 0, "0005": 1, "0024": 2}
    ids = [set(data[name]) for name in SPLITS]
    assert sum(len(i) for i in ids) == len(set().union(*ids)) == 15  # disjoint, all utterances
    assert len(data["held_out"]) == 6


def test_entries_carry_text_phones_gender_age_and_flac_audio(tmp_path):
    data = load(prepare_speechocean762(BUNDLED_SPEECHOCEAN762, tmp_path / "prep"))
    entries = {**data["train"], **data["valid"], **data["test"], **data["held_out"]}
    entry = entries["000240010"]
    assert entry["text"] == "IT WAS GOOD FOR ME"
    assert entry["words"] == ["IT", "WAS", "GOOD", "FOR", "ME"]
    assert entry["phones"] == [
        ["IH0", "T"],
        ["W", "AH0", "Z"],
        ["G", "UH0", "D"],
        ["F", "AO0", "R"],
        ["M", "IY0"],
    ]
    assert (entry["gender"], entry["age"], entry["kaldi_set"]) == ("f", 25, "test")
    assert entry["wav"].endswith("WAVE/SPEAKER0024/000240010.flac") and os.path.isabs(entry["wav"])
    assert entry["duration"] == pytest.approx(2.211, abs=0.001)
    for e in entries.values():
        assert len(e["phones"]) == len(e["words"]) and all(e["phones"])
        assert not any("_" in p for word in e["phones"] for p in word)  # position marks gone
    assert entries["000010168"]["age"] == 6 and entries["010990123"]["gender"] == "m"


def test_held_out_speakers_can_be_changed(tmp_path):
    data = load(
        prepare_speechocean762(
            BUNDLED_SPEECHOCEAN762, tmp_path / "a", held_out_speakers=[24, "1099"]
        )
    )
    assert {e["speaker"] for e in data["held_out"].values()} == {"0024", "1099"}
    assert "0024" not in data["speakers"] and "2327" in data["speakers"]
    nobody = load(
        prepare_speechocean762(BUNDLED_SPEECHOCEAN762, tmp_path / "b", held_out_speakers=())
    )
    assert nobody["held_out"] == {} and len(nobody["speakers"]) == 5


def test_per_speaker_counts_leave_train_at_least_one(tmp_path):
    data = load(
        prepare_speechocean762(
            BUNDLED_SPEECHOCEAN762, tmp_path / "p", valid_per_speaker=2, test_per_speaker=2
        )
    )
    per = lambda split: sorted(e["speaker"] for e in data[split].values())  # noqa: E731
    assert per("train") == ["0001", "0005", "0024"]  # 3 utterances: train keeps one
    assert len(data["test"]) == 6 and len(data["valid"]) == 0


def test_split_is_seeded_and_reused(tmp_path):
    first = load(prepare_speechocean762(BUNDLED_SPEECHOCEAN762, tmp_path / "a", seed=3))
    again = load(prepare_speechocean762(BUNDLED_SPEECHOCEAN762, tmp_path / "b", seed=3))
    assert first == again
    paths = prepare_speechocean762(BUNDLED_SPEECHOCEAN762, tmp_path / "a", seed=3)
    stamp = os.path.getmtime(paths["train"])
    prepare_speechocean762(BUNDLED_SPEECHOCEAN762, tmp_path / "a", seed=3)  # up to date
    assert os.path.getmtime(paths["train"]) == stamp
    assert prepare_speechocean762("/nowhere", tmp_path / "a", skip_prep=True) == paths


def test_parent_folder_is_accepted(tmp_path, mini):
    data = load(prepare_speechocean762(mini.parent, tmp_path / "prep"))
    assert len(data["held_out"]) == 6


def test_unreadable_audio_and_missing_phones_are_skipped(tmp_path, mini):
    os.remove(mini / "WAVE" / "SPEAKER0001" / "000010168.flac")
    (mini / "WAVE" / "SPEAKER0005" / "000050175.flac").write_bytes(b"not audio")
    text = (mini / "train" / "text").read_text().replace("TREES", "TREES ZYZZYVA")
    (mini / "train" / "text").write_text(text)  # a word in neither text-phone nor lexicon
    data = load(prepare_speechocean762(mini, tmp_path / "prep"))
    kept = {u for name in SPLITS for u in data[name]}
    assert kept.isdisjoint({"000010168", "000050175", "000010173"}) and len(kept) == 12


def test_bad_folders_are_one_clear_error(tmp_path, mini):
    with pytest.raises(DataFolderError, match="--data_folder"):
        prepare_speechocean762(tmp_path / "nowhere", tmp_path / "prep")
    shutil.rmtree(mini / "resource")
    with pytest.raises(DataFolderError, match="resource/text-phone"):
        prepare_speechocean762(mini, tmp_path / "prep")


def test_helpers():
    assert speaker_name(5) == "0005" and speaker_name(" 1099 ") == "1099"
    assert word_phones("u", ["A"], {}, {"A": [["AH0"], ["EY0"]]}) == [["AH0"]]
    assert read_kaldi_table("/nowhere/text") == {}
