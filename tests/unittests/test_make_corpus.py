"""tools/make_corpus.py: every sub-command at a tiny size, checked against the real layouts."""

import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile

from audiodiff.data import DIGIT_WORDS, prepare_audiomnist, read_manifest, which_set
from audiodiff.data.synth import INFO_FILE

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "make_corpus.py"
_spec = importlib.util.spec_from_file_location("make_corpus", TOOL)
make_corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_corpus)

AUDIOMNIST_META_KEYS = {
    "accent",
    "age",
    "gender",
    "native speaker",
    "origin",
    "recordingdate",
    "recordingroom",
}


def _run(capsys, *argv):
    make_corpus.main([*argv, "--noprogressbar"])
    return capsys.readouterr().out.strip().splitlines()[-1]


def _tree_hash(folder):
    digest = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _info(path):
    info = soundfile.info(str(path))
    return info.samplerate, info.channels, info.subtype, info.frames


def test_digits_audiomnist_layout(tmp_path, capsys):
    out = tmp_path / "AudioMNIST"
    line = _run(capsys, "digits", f"--out={out}", "--speakers=2", "--repetitions=3", "--workers=2")
    assert re.fullmatch(r"wrote 60 files, [\d.]+ h of audio, [\d.]+ MB in [\d.]+ s to .*", line)
    data = out / "data"
    assert sorted(p.name for p in data.iterdir()) == ["01", "02", "audioMNIST_meta.txt"]
    for speaker in ("01", "02"):
        expected = {f"{d}_{speaker}_{r}.wav" for d in range(10) for r in range(3)}
        assert {p.name for p in (data / speaker).iterdir()} == expected
    rate, channels, subtype, frames = _info(data / "01" / "7_01_1.wav")
    assert (rate, channels, subtype) == (48000, 1, "PCM_16") and 0.3 * rate < frames < 2 * rate
    meta = json.loads((data / "audioMNIST_meta.txt").read_text())
    assert set(meta) == {"01", "02"}
    assert all(set(m) == AUDIOMNIST_META_KEYS for m in meta.values())
    assert all(m["gender"] in ("male", "female") for m in meta.values())
    # repetitions differ (jitter), speakers differ (voices)
    lengths = {_info(data / s / f"3_{s}_{r}.wav")[3] for s in ("01", "02") for r in (0, 1)}
    assert len(lengths) == 4
    # the existing AudioMNIST preparation reads it unchanged
    paths = prepare_audiomnist(out, tmp_path / "manifests", valid_reps=[1], test_reps=[0])
    entries = read_manifest(paths["test"])
    assert len(entries) == 20 and entries["7_02_0"]["gender"] == meta["02"]["gender"]


def test_sc09_speech_commands_layout(tmp_path, capsys):
    out = tmp_path / "speech_commands"
    _run(capsys, "sc09", f"--out={out}", "--speakers=3", "--repetitions=2", "--workers=2")
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert folders == sorted(DIGIT_WORDS)
    names = {p.name for p in (out / "seven").iterdir()}
    assert len(names) == 6 and all(re.fullmatch(r"[0-9a-f]{8}_nohash_[01]\.wav", n) for n in names)
    for path in (out / "zero").iterdir():
        assert _info(path) == (16000, 1, "PCM_16", 16000)  # exactly 1 s at 16 kHz
    lists = {
        name: (out / f"{name}_list.txt").read_text().splitlines()
        for name in ("validation", "testing")
    }
    all_files = sorted(f"{w}/{n}" for w in DIGIT_WORDS for n in os.listdir(out / w))
    for name, lines in lists.items():
        assert lines and lines == sorted(lines)
        assert all((out / line).is_file() for line in lines)
        assert set(lines) == {f for f in all_files if which_set(f) == name}
    speakers = {name: {line.split("/")[1][:8] for line in lines} for name, lines in lists.items()}
    assert len(speakers["validation"]) == len(speakers["testing"]) == 1
    assert speakers["validation"] != speakers["testing"]


def test_ljspeech_layout(tmp_path, capsys):
    out = tmp_path / "LJSpeech-1.1"
    _run(capsys, "ljspeech", f"--out={out}", "--utterances=3", "--workers=2")
    rows = [line.split("|") for line in (out / "metadata.csv").read_text("utf-8").splitlines()]
    assert [r[0] for r in rows] == ["LJ001-0001", "LJ001-0002", "LJ001-0003"]
    assert all(len(r) == 3 and r[1] and r[2] for r in rows)
    assert sorted(p.name for p in (out / "wavs").iterdir()) == [f"{r[0]}.wav" for r in rows]
    rate, channels, subtype, _ = _info(out / "wavs" / "LJ001-0002.wav")
    assert (rate, channels, subtype) == (22050, 1, "PCM_16")


@pytest.mark.parametrize("audio_format", ["flac", "wav"])
def test_vctk_layout(tmp_path, capsys, audio_format):
    out = tmp_path / "VCTK-Corpus-0.92"
    _run(
        capsys,
        "vctk",
        f"--out={out}",
        "--speakers=2",
        "--sentences=2",
        f"--format={audio_format}",
        "--workers=2",
    )
    for speaker in ("p225", "p226"):
        audio = out / "wav48_silence_trimmed" / speaker
        assert sorted(p.name for p in audio.iterdir()) == [
            f"{speaker}_00{m}_mic1.{audio_format}" for m in (1, 2)
        ]
        rate, channels, subtype, _ = _info(audio / f"{speaker}_001_mic1.{audio_format}")
        assert (rate, channels, subtype) == (48000, 1, "PCM_16")
        assert soundfile.info(str(audio / f"{speaker}_001_mic1.{audio_format}")).format == (
            audio_format.upper()
        )
        alignment = json.loads((out / "alignments" / speaker / f"{speaker}_002.json").read_text())
        assert set(alignment["phonemes"][0]) == {"phoneme", "start", "end"}
        assert alignment["utt_id"] == f"{speaker}_002"
    # the speakers read the same sentences
    texts = [(out / "txt" / s / f"{s}_001.txt").read_text() for s in ("p225", "p226")]
    assert texts[0] == texts[1] and texts[0].endswith(".\n")
    lines = (out / "speaker-info.txt").read_text().splitlines()
    assert lines[0].split() == ["ID", "AGE", "GENDER", "ACCENTS", "REGION", "COMMENTS"]
    assert [line.split()[0] for line in lines[1:]] == ["p225", "p226"]
    assert all(line.split()[2] in ("F", "M") for line in lines[1:])


def test_same_seed_byte_identical_in_fresh_processes(tmp_path, capsys):
    # f2 is a breathy voice: eSpeak NG's noise generator must be seeded, not left to the clock
    args = ["digits", "--speakers=2", "--repetitions=1", "--accents=en-us", "--variants=f2,m3"]
    args.append("--seed=5")
    _run(capsys, *args, f"--out={tmp_path / 'a'}", "--workers=1")
    proc = subprocess.run(
        [sys.executable, str(TOOL), *args, f"--out={tmp_path / 'b'}", "--workers=2"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    _run(capsys, *args[:-1], "--seed=6", f"--out={tmp_path / 'c'}")
    hashes = [_tree_hash(tmp_path / name) for name in "abc"]
    assert hashes[0] == hashes[1] != hashes[2]
    info = json.loads((tmp_path / "a" / INFO_FILE).read_text())
    assert info["options"] == {"speakers": 2, "repetitions": 1, "seed": 5}
    assert {(v["accent"], v["variant"]) for v in info["voices"].values()} == {
        ("en-us", "f2"),
        ("en-us", "m3"),
    }


def test_clear_errors(tmp_path, capsys):
    with pytest.raises(SystemExit, match="unknown eSpeak NG variant 'nosuch'.*valid ones"):
        make_corpus.main(["digits", f"--out={tmp_path / 'x'}", "--variants=m1,nosuch"])
    with pytest.raises(SystemExit, match="unknown eSpeak NG accent 'en-zz'"):
        make_corpus.main(["ljspeech", f"--out={tmp_path / 'y'}", "--accent=en-zz"])
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "file.txt").write_text("x")
    with pytest.raises(SystemExit, match="not empty"):
        make_corpus.main(["sc09", f"--out={tmp_path / 'full'}"])
    assert not (tmp_path / "x").exists()  # nothing written before the voices are checked
