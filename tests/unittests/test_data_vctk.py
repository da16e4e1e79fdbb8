import json
import logging
import shutil
from pathlib import Path

import pytest
import torch

from audiodiff.audio.io import write_audio
from audiodiff.data import DataFolderError, prepare_vctk, read_manifest
from audiodiff.data.synth import make_vctk
from audiodiff.data.vctk import read_speaker_info

SPLITS = ("train", "valid", "test")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A synthetic VCTK-0.92 copy: 3 speakers x the same 4 sentences, FLAC, with alignments."""
    out = tmp_path_factory.mktemp("vctk") / "VCTK-Corpus-0.92"
    make_vctk(str(out), speakers=3, sentences=4, seed=2, workers=2, progress=False)
    return out


def _splits(paths):
    return {name: read_manifest(paths[name]) for name in SPLITS}


def test_prepare_synthetic_vctk(corpus, tmp_path):
    paths = prepare_vctk(corpus.parent, tmp_path / "m")  # the parent folder works too
    splits = _splits(paths)
    assert {k: len(v) for k, v in splits.items()} == {"train": 6, "valid": 3, "test": 3}
    info = read_speaker_info(str(corpus / "speaker-info.txt"))
    assert sorted(info) == ["p225", "p226", "p227"]
    for name, split in splits.items():
        assert {e["speaker"] for e in split.values()} == set(info), name  # speaker-stratified
        for utt_id, entry in split.items():
            speaker = entry["speaker"]
            assert set(entry) == {
                "wav",
                "duration",
                "speaker",
                "text",
                "gender",
                "accent",
                "alignment",
                "phonemes",
            }
            assert Path(entry["wav"]).name == f"{utt_id}_mic1.flac"
            txt = corpus / "txt" / speaker / f"{utt_id}.txt"
            assert entry["text"] == txt.read_text().strip()
            assert entry["gender"] == info[speaker]["gender"] in ("F", "M")
            assert entry["accent"] == info[speaker]["accent"]
            alignment = json.loads(Path(entry["alignment"]).read_text())
            assert alignment["utt_id"] == utt_id
            assert 0 < alignment["phonemes"][-1]["end"] <= entry["duration"] + 1e-3
            assert entry["phonemes"] and " " in entry["phonemes"]
    assert read_manifest(paths["speakers"]) == {"p225": 0, "p226": 1, "p227": 2}


def test_mics_and_missing_transcripts(corpus, tmp_path, caplog):
    copy = tmp_path / "copy"
    shutil.copytree(corpus, copy)
    audio = copy / "wav48_silence_trimmed" / "p225"
    for path in list(audio.iterdir()):
        shutil.copy(path, audio / path.name.replace("_mic1", "_mic2"))
    (copy / "txt" / "p226" / "p226_003.txt").unlink()
    (audio / "README").write_text("not audio")
    with caplog.at_level(logging.WARNING):
        mic1 = _splits(prepare_vctk(copy, tmp_path / "mic1", phonemes=False))
    assert "utterances without a transcript" in caplog.text
    entries = {u: e for split in mic1.values() for u, e in split.items()}
    assert len(entries) == 11 and "p226_003" not in entries
    assert all("phonemes" not in e for e in entries.values())
    mic2 = _splits(prepare_vctk(copy, tmp_path / "mic2", mic="mic2", phonemes=False))
    mic2_entries = {u: e for split in mic2.values() for u, e in split.items()}
    assert sorted(mic2_entries) == [f"p225_00{m}" for m in range(1, 5)]
    assert all(e["wav"].endswith("_mic2.flac") for e in mic2_entries.values())


def test_vctk_080_layout(tmp_path):
    """VCTK-Corpus 0.80: wav48/pNNN/pNNN_MMM.wav, no mic suffix, no speaker info."""
    for speaker in ("p225", "p301"):
        (tmp_path / "txt" / speaker).mkdir(parents=True)
        for m in range(1, 6):
            write_audio(
                tmp_path / "wav48" / speaker / f"{speaker}_00{m}.wav", torch.zeros(960), 48000
            )
            (tmp_path / "txt" / speaker / f"{speaker}_00{m}.txt").write_text(f"Sentence {m}.\n")
    splits = _splits(prepare_vctk(tmp_path, tmp_path / "m", phonemes=False))
    assert sum(len(s) for s in splits.values()) == 10
    entry = next(iter(splits["train"].values()))
    assert (
        set(entry) == {"wav", "duration", "speaker", "text"}
        and abs(entry["duration"] - 0.02) < 1e-6
    )


def test_clear_errors(tmp_path):
    with pytest.raises(DataFolderError, match="--data_folder"):
        prepare_vctk(tmp_path / "missing", tmp_path / "m")
    write_audio(tmp_path / "wav48" / "p225" / "p225_001.wav", torch.zeros(960), 48000)
    with pytest.raises(DataFolderError, match="with a transcript"):
        prepare_vctk(tmp_path, tmp_path / "m", phonemes=False)
