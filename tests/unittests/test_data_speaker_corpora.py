"""Every corpus in one speaker bank: prepare, per-speaker subsets, cached banks."""

import os

import pytest

from audiodiff.audio import MelSpectrogram
from audiodiff.data import (
    DataFolderError,
    build_speaker_bank,
    prepare_speaker_corpora,
    read_manifest,
    select_per_speaker,
    write_manifest,
)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    work = str(tmp_path_factory.mktemp("corpora"))
    return work, prepare_speaker_corpora(["speechocean762", "fsdd", "ljspeech"], {}, work)


def test_prepare_uses_the_bundled_copies(prepared):
    _, manifests = prepared
    assert sorted(manifests["speechocean762"]) == ["held_out", "test", "train", "valid"]
    assert len(read_manifest(manifests["ljspeech"]["test"])) == 20  # the last ids held out
    assert len(read_manifest(manifests["fsdd"]["test"])) == 300


def test_unknown_corpus_and_bad_folder(tmp_path):
    with pytest.raises(DataFolderError, match="unknown corpus"):
        prepare_speaker_corpora(["timit"], {}, tmp_path)
    with pytest.raises(DataFolderError, match="--data_folder"):
        prepare_speaker_corpora(["speechocean762"], {"speechocean762": tmp_path / "x"}, tmp_path)


def test_select_per_speaker_is_seeded_and_capped(tmp_path):
    entries = {f"u{i:02d}": {"speaker": "abc"[i % 3]} for i in range(30)}
    write_manifest(tmp_path / "m.json", entries)
    one = read_manifest(select_per_speaker(tmp_path / "m.json", tmp_path / "a.json", 4, seed=1))
    two = read_manifest(select_per_speaker(tmp_path / "m.json", tmp_path / "b.json", 4, seed=1))
    other = read_manifest(select_per_speaker(tmp_path / "m.json", tmp_path / "c.json", 4, seed=2))
    assert one == two and one != other and len(one) == 12
    assert sorted(e["speaker"] for e in one.values()) == sorted("aaaabbbbcccc")
    everything = select_per_speaker(tmp_path / "m.json", tmp_path / "d.json", None)
    assert read_manifest(everything) == entries


def test_bank_of_several_corpora_with_prefixed_speakers(prepared):
    work, manifests = prepared
    chosen = {"speechocean762": {"train": None, "held_out": 2}, "fsdd": {"valid": 1}}
    mel = MelSpectrogram(n_mels=40)
    bank = build_speaker_bank(
        manifests, chosen, mel, sample_rate=16000, work_folder=work, progress=False
    )
    groups = sorted(set(zip(bank.meta["corpus"], bank.meta["split"])))
    assert groups == [
        ("fsdd", "valid"),
        ("speechocean762", "held_out"),
        ("speechocean762", "train"),
    ]
    held = {s for s, split in zip(bank.meta["speaker"], bank.meta["split"]) if split == "held_out"}
    assert held == {"so762_1099", "so762_2327"} and len(bank.indices(split="held_out")) == 4
    assert len(bank.indices(corpus="fsdd")) == 6 and "fsdd_theo" in bank.meta["speaker"]
    assert os.path.isfile(os.path.join(work, "speechocean762", "bank_train.pt"))
    again = build_speaker_bank(
        manifests, chosen, mel, sample_rate=16000, work_folder=work, progress=False
    )
    assert again.meta == bank.meta and again.features.equal(bank.features)  # from the cache
    with pytest.raises(ValueError, match="no split"):
        build_speaker_bank(
            manifests, {"ljspeech": {"held_out": None}}, mel, sample_rate=16000, work_folder=work
        )
