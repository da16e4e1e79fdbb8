"""tools/build_vocoder_gpu_data.py on the bundled LJSpeech clips: held-out clips always kept,
the size budget, a layout prepare_ljspeech reads (FLAC) with the same held-out ids."""

import os
import subprocess
import sys

import soundfile

from audiodiff.data import BUNDLED_LJSPEECH, prepare_ljspeech
from audiodiff.data.manifest import read_manifest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO, "tools", "build_vocoder_gpu_data.py")


def build(out, *flags):
    return subprocess.run(
        [sys.executable, TOOL, BUNDLED_LJSPEECH, str(out), *flags],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_subset_keeps_the_held_out_clips_within_the_budget(tmp_path):
    out = tmp_path / "LJSpeech-1.1"
    proc = build(out, "--max_mb", "2.5", "--held_out", "4")
    assert proc.returncode == 0, proc.stderr
    flacs = sorted(os.listdir(out / "wavs"))
    assert all(name.endswith(".flac") for name in flacs)
    assert flacs[-4:] == [f"LJ001-00{i}.flac" for i in (29, 30, 31, 32)]
    assert 4 < len(flacs) < 32  # some training clips, not all: the budget stopped it
    size = sum(os.path.getsize(out / "wavs" / f) for f in flacs)
    assert size <= 2.5e6
    data, rate = soundfile.read(out / "wavs" / flacs[0], dtype="int16")
    original, _ = soundfile.read(
        os.path.join(BUNDLED_LJSPEECH, "wavs", flacs[0].replace(".flac", ".wav")), dtype="int16"
    )
    assert rate == 22050 and (data == original).all()  # lossless
    paths = prepare_ljspeech(str(out), str(tmp_path / "prep"), phonemes=False, held_out_last=4)
    assert sorted(read_manifest(paths["test"])) == [f"LJ001-00{i}" for i in (29, 30, 31, 32)]
    assert len(read_manifest(paths["train"])) + len(read_manifest(paths["valid"])) == len(flacs) - 4


def test_a_folder_without_metadata_is_one_error_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, TOOL, str(tmp_path), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and proc.stderr.strip().startswith("error:")
