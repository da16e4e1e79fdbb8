"""tools/evaluate_vocoder.py on bundled LJSpeech files: matching by name, resampling, errors."""

import json
import os
import runpy
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO, "tools", "evaluate_vocoder.py")
WAVS = os.path.join(REPO, "bundled_data", "ljspeech_mini", "wavs")
NAMES = ["LJ001-0002.wav", "LJ001-0008.wav"]  # the two shortest (1.9 s, 1.8 s)


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tool():
    return runpy.run_path(TOOL)["main"]


def run(tool, capsys, *args):
    """Run the tool in this process; returns its stdout lines (SystemExit propagates)."""
    capsys.readouterr()
    tool([str(a) for a in args])
    return capsys.readouterr().out.splitlines()


def test_identical_then_degraded_folders(tmp_path, tool, capsys):
    ref, gen = tmp_path / "ref", tmp_path / "gen" / "wav"  # gen: a sample folder layout
    ref.mkdir()
    gen.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in NAMES:
        shutil.copy(os.path.join(WAVS, name), ref / name)
        data, rate = soundfile.read(os.path.join(WAVS, name))
        noisy = data + 0.3 * data.std() * rng.standard_normal(len(data))
        if name == NAMES[1]:  # another rate and 300 samples shorter: resampled and cropped
            import torch
            import torchaudio

            noisy = torchaudio.functional.resample(torch.from_numpy(noisy), rate, 16000).numpy()
            soundfile.write(gen / name, noisy[:-300], 16000)
        else:
            soundfile.write(gen / name, noisy, rate)
    soundfile.write(gen / "extra.wav", np.zeros(100), 22050)  # no reference: unmatched
    lines = run(tool, capsys, ref, ref)
    same = json.loads(lines[0])
    assert any(line.startswith("pesq") and "higher" in line for line in lines)
    assert same["num_pairs"] == 2 and same["unmatched_ref"] == 0
    assert abs(same["mrstft"]) < 1e-6 and abs(same["lsd"]) < 1e-6
    assert abs(same["pesq"] - 4.64) < 0.01 and abs(same["stoi"] - 1.0) < 1e-6
    worse = json.loads(run(tool, capsys, ref, tmp_path / "gen")[0])
    assert worse["num_pairs"] == 2 and worse["unmatched_gen"] == 1
    assert worse["mrstft"] > 0.1 and worse["mel_l1"] > 0.05 and worse["lsd"] > 1.0
    assert 1.0 < worse["pesq"] < 4.0 and 0.5 < worse["stoi"] < 1.0
    assert worse["pesq_scored"] == 2 and worse["length_diff_s"] > 0
    # single files, PESQ skipped
    one = json.loads(run(tool, capsys, ref / NAMES[0], gen / NAMES[0], "--no_pesq")[0])
    assert one["num_pairs"] == 1 and "pesq" not in one and one["lsd"] > 1.0


def test_errors_are_one_clear_line(tmp_path, tool, capsys):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, TOOL, str(tmp_path / "missing"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "neither a wav file nor a folder" in proc.stderr.strip().splitlines()[-1]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy(os.path.join(WAVS, NAMES[0]), tmp_path / "a" / "x.wav")
    shutil.copy(os.path.join(WAVS, NAMES[0]), tmp_path / "b" / "y.wav")
    with pytest.raises(SystemExit, match="error: no file names in common"):
        run(tool, capsys, tmp_path / "a", tmp_path / "b")
    (tmp_path / "b" / "x.wav").write_bytes(b"not a wav")
    with pytest.raises(SystemExit, match="error: cannot read audio .*x.wav"):
        run(tool, capsys, tmp_path / "a", tmp_path / "b")
