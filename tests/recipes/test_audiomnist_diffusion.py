"""Smoke runs of recipes/AudioMNIST/diffusion with SpeechBrain's --debug, each conditioning mode.

Each run trains a few batches of a tiny model on the bundled FSDD, writes epoch-end samples
(wav named with labels + PNG grid), and, with --debug_persistently, keeps a checkpoint that
generate.py then loads.
"""

import glob
import json
import os
import subprocess
import sys

import pytest
import soundfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPE = os.path.join(REPO, "recipes", "AudioMNIST", "diffusion")
TINY = [
    "--base_channels",
    "16",
    "--channel_mults",
    "[1, 2]",
    "--attention_levels",
    "[1]",
    "--sample_steps",
    "4",
    "--batch_size",
    "8",
    "--noprogressbar",
]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """One prepare + feature cache folder shared by every run of this module."""
    return str(tmp_path_factory.mktemp("prepared"))


def run(args, cwd=RECIPE):
    proc = subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    return proc


@pytest.mark.parametrize(
    "flags, pattern",
    [
        ([], "uncond_*.wav"),
        (["--digit_conditioned", "true"], "digit[0-9]_000.wav"),
        (["--speaker_conditioned", "true"], "spk[0-9]_000.wav"),
        (["--digit_conditioned", "true", "--speaker_conditioned", "true"], "digit*_spk*_000.wav"),
    ],
    ids=["unconditional", "digit", "speaker", "digit+speaker"],
)
def test_debug_run_writes_samples(tmp_path, prepared, flags, pattern):
    out = tmp_path / "exp"
    proc = run(
        [
            "train.py",
            "hparams/train.yaml",
            "--debug",
            "--output_folder",
            str(out),
            "--prepare_folder",
            prepared,
            *TINY,
            *flags,
        ]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    wavs = glob.glob(str(out / "samples" / "*" / "wav" / pattern))
    assert wavs, f"no {pattern} in {out}/samples: {os.listdir(out)}"
    data, sr = soundfile.read(wavs[0])
    assert sr == 16000 and len(data) > 8000 and abs(data).max() > 0
    assert glob.glob(str(out / "samples" / "*" / "spectrograms.png"))
    expected = (10 if "--digit_conditioned" in flags else 1) * (
        6 if "--speaker_conditioned" in flags else 1
    )
    folder = os.path.dirname(wavs[0])
    if flags:
        assert len(os.listdir(folder)) == expected
    assert (out / "train_log.txt").exists()


def test_debug_persistently_then_generate(tmp_path, prepared):
    out = tmp_path / "exp"
    proc = run(
        [
            "train.py",
            "hparams/train.yaml",
            "--debug",
            "--debug_persistently",
            "--output_folder",
            str(out),
            "--prepare_folder",
            prepared,
            *TINY,
            "--digit_conditioned",
            "true",
            "--speaker_conditioned",
            "true",
        ]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert glob.glob(str(out / "save" / "CKPT+*"))
    gen = tmp_path / "gen"
    proc = run(
        [
            "generate.py",
            str(out),
            "--digits",
            "0",
            "7",
            "--speakers",
            "2",
            "--num",
            "2",
            "--steps",
            "3",
            "--out",
            str(gen),
            "--device",
            "cpu",
        ]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    names = sorted(os.path.basename(p) for p in glob.glob(str(gen / "wav" / "*.wav")))
    assert names == [
        "digit0_spk2_000.wav",
        "digit0_spk2_001.wav",
        "digit7_spk2_000.wav",
        "digit7_spk2_001.wav",
    ]
    labels = json.load(open(gen / "labels.json"))
    assert labels["label_names"]["speaker"][2]
    # Unknown speaker or digit: one clear line, no traceback.
    for bad in (["--speakers", "42"], ["--digits", "11"], ["--speakers", "nobody"]):
        proc = run(["generate.py", str(out), *bad, "--out", str(gen), "--device", "cpu"])
        assert proc.returncode != 0
        assert "Traceback" not in proc.stderr and "unknown" in proc.stderr, proc.stderr


def test_missing_data_folder_is_one_clear_line(tmp_path):
    proc = run(
        [
            "train.py",
            "hparams/train.yaml",
            "--debug",
            "--output_folder",
            str(tmp_path / "exp"),
            "--data_folder",
            str(tmp_path / "nowhere"),
        ]
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "--data_folder" in proc.stderr.strip().splitlines()[-1]


def test_resume_continues_from_checkpoint(tmp_path, prepared):
    out = tmp_path / "exp"
    common = [
        "train.py",
        "hparams/train.yaml",
        "--debug",
        "--debug_persistently",
        "--output_folder",
        str(out),
        "--prepare_folder",
        prepared,
        *TINY,
        "--digit_conditioned",
        "true",
        "--ckpt_every",
        "1",
        "--sample_every",
        "100",
    ]
    proc = run([*common, "--debug_epochs", "1"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = (out / "train_log.txt").read_text()
    assert "epoch: 1" in log and "epoch: 2" not in log
    proc = run([*common, "--debug_epochs", "2"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = (out / "train_log.txt").read_text()
    assert log.count("epoch: 1,") == 1, log  # epoch 1 was not trained again
    assert "epoch: 2" in log


def test_audiomnist_layout_with_its_own_speaker_count(tmp_path):
    """--dataset audiomnist on a small copy of the real layout (48 kHz, 3 speakers)."""
    import numpy as np

    root = tmp_path / "AudioMNIST"
    rng = np.random.default_rng(0)
    for speaker in ("01", "02", "03"):
        for digit in range(10):
            for rep in range(11):
                path = root / "data" / speaker / f"{digit}_{speaker}_{rep}.wav"
                path.parent.mkdir(parents=True, exist_ok=True)
                soundfile.write(path, 0.1 * rng.standard_normal(9600), 48000)
    (root / "data" / "audioMNIST_meta.txt").write_text(json.dumps({"01": {"gender": "male"}}))
    out = tmp_path / "exp"
    proc = run(
        [
            "train.py",
            "hparams/train.yaml",
            "--debug",
            "--output_folder",
            str(out),
            "--dataset",
            "audiomnist",
            "--data_folder",
            str(root),
            *TINY,
            "--speaker_conditioned",
            "true",
        ]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.load(open(out / "labels.json"))["speaker"] == ["01", "02", "03"]
    names = sorted(os.path.basename(p) for p in glob.glob(str(out / "samples" / "*" / "wav" / "*")))
    assert names == ["spk0_000.wav", "spk1_000.wav", "spk2_000.wav"]
