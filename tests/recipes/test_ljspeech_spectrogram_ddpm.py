"""Smoke runs of recipes/LJSpeech/spectrogram_ddpm on the bundled ljspeech_mini.

A --debug run of a tiny model writes epoch-end samples and keeps a checkpoint; generate.py
samples from it (wavs, mel_db.pt, 16-bit PNGs) and tools/evaluate_spectrograms.py scores
them. A --prepare_only run builds the whole-clip (12 s, hop 1034) feature cache with
augmented copies; wrong options end in one "error: ..." line.
"""

import glob
import json
import os
import runpy
import shutil
import subprocess
import sys

import pytest
import torch

from audiodiff.audio import MelSpectrogram
from audiodiff.audio.spectrogram_image import load_spectrogram_image
from audiodiff.data import features as features_module
from audiodiff.data import read_manifest
from audiodiff.data.crops import split_clips

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPE = os.path.join(REPO, "recipes", "LJSpeech", "spectrogram_ddpm")
TINY = [
    "--base_channels", "8",
    "--channel_mults", "[1, 2, 2, 2]",
    "--attention_levels", "[3]",
    "--num_heads", "2",
    "--batch_size", "2",
    "--sample_steps", "2",
    "--noprogressbar",
]  # fmt: skip


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def script(name):
    return runpy.run_path(os.path.join(RECIPE, name))["main"]


def test_debug_train_generate_evaluate(tmp_path, monkeypatch):
    exp = tmp_path / "exp"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    args = ["--debug", "--debug_persistently", "--output_folder", str(exp), "--held_out_last", "4"]
    proc = subprocess.run(
        [sys.executable, "train.py", "hparams/train.yaml", *args, *TINY],
        cwd=RECIPE,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    wavs = sorted(glob.glob(str(exp / "samples" / "*" / "wav" / "uncond_*.wav")))
    assert len(wavs) == 2 and glob.glob(str(exp / "samples" / "*" / "spectrograms.png"))
    assert glob.glob(str(exp / "save" / "CKPT+*"))
    assert "self-attention tokens per level: {3: 256}" in (exp / "log.txt").read_text()
    prepared = exp / "prepared"
    test_ids = set(read_manifest(prepared / "test.json"))
    assert test_ids == {"LJ001-0029", "LJ001-0030", "LJ001-0031", "LJ001-0032"}
    assert not test_ids & set(read_manifest(prepared / "train.json"))

    gen = tmp_path / "gen"
    monkeypatch.chdir(tmp_path)  # the experiment is found from anywhere
    args = ["--num", "3", "--steps", "2", "--out", str(gen), "--device", "cpu", "--images"]
    script("generate.py")([str(exp), *args])
    assert sorted(os.listdir(gen / "wav")) == [f"uncond_00{i}.wav" for i in range(3)]
    mel_db = torch.load(gen / "mel_db.pt", weights_only=True)
    assert mel_db.shape == (3, 64, 256)
    image_db, info = load_spectrogram_image(gen / "png" / "uncond_001.png")
    # the PNG holds the float32 samples to 0.002 dB; mel_db.pt rounds them to float16
    torch.testing.assert_close(image_db, mel_db[1].float(), atol=0.04, rtol=0)
    assert info["mel"]["n_mels"] == 64 and info["mel"]["sample_rate"] == 22050

    tool = runpy.run_path(os.path.join(REPO, "tools", "evaluate_spectrograms.py"))["main"]
    out = tmp_path / "metrics.json"
    args = ["--experiment", str(exp), "--json_out", str(out), "--table", str(tmp_path / "t.md")]
    tool([str(gen), *args, "--grid", str(tmp_path / "grid.png"), "--stride", "16"])
    metrics = json.loads(out.read_text())
    assert metrics["counts"]["samples"] == 3 and metrics["counts"]["heldout"] == 3
    assert metrics["samples_source"] == "mel_db.pt"
    assert {n.split("@")[0] for n in metrics["heldout_crops"]} <= test_ids
    for key in ("frechet_frames", "modulation_share", "memorisation", "goals"):
        assert key in metrics
    assert (tmp_path / "grid.png").stat().st_size > 0
    assert "memorisation ratio" in (tmp_path / "t.md").read_text()

    # a run returned without its checkpoint: hyperparams.yaml only, features moved elsewhere;
    # the normaliser is refit as train.py fits it, and validation crops are a second control
    bare, moved = tmp_path / "bare", tmp_path / "moved"
    bare.mkdir()
    shutil.copy(exp / "hyperparams.yaml", bare)
    shutil.move(prepared, moved)
    args = ["--experiment", str(bare), "--stride", "16", "--json_out", str(out)]
    with pytest.raises(SystemExit, match="^error: no checkpoint"):
        tool([str(gen), *args, "--prepare_folder", str(moved)])
    tool([str(gen), *args, "--prepare_folder", str(moved), "--refit_normalizer", "--valid_control"])
    refit = json.loads(out.read_text())
    assert refit["normalizer"] == "refit on the train split"
    torch.testing.assert_close(
        torch.tensor(refit["settings"]["clamp_db"]), torch.tensor(metrics["settings"]["clamp_db"])
    )
    assert refit["heldout_crops"] == metrics["heldout_crops"]
    torch.testing.assert_close(
        torch.tensor(refit["memorisation"]["ratio_median"]),
        torch.tensor(metrics["memorisation"]["ratio_median"]),
    )
    valid_ids = set(read_manifest(moved / "valid.json"))
    assert refit["counts"]["valid"] == 3
    assert {n.split("@")[0] for n in refit["valid_crops"]} <= valid_ids
    assert refit["memorisation_valid"]["ratio_median"] > 0


def test_whole_clip_cache_with_augmented_copies(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(RECIPE)
    prepared = tmp_path / "prepared"
    folders = ["--output_folder", str(tmp_path / "exp"), "--prepare_folder", str(prepared)]
    copies = ["--pitch_shift_copies", "1", "--time_stretch_copies", "1"]
    mode = ["--image_mode", "whole_clip", "--prepare_only", "true"]
    script("train.py")(["hparams/train.yaml", *mode, *folders, *copies])
    assert "train 28, valid 2, test 2 clips" in capsys.readouterr().out
    # the seed's images: 12 s in 256 frames of hop ceil(12 * 22050 / 256) = 1034
    mel = MelSpectrogram(22050, n_fft=2048, hop_length=1034, n_mels=64)
    monkeypatch.setattr(features_module, "read_audio", lambda *a, **k: 1 / 0)  # cache only
    train = split_clips(prepared, "test", mel, sample_rate=22050, num_frames=256)
    assert [tuple(c.shape) for c in train["clips"]] == [(64, 256), (64, 256)]
    from audiodiff.audio import SpeedPitchAugment

    augment = SpeedPitchAugment(22050, 1, pitch_shift_copies=1, seed=1986)
    train = split_clips(prepared, "train", mel, sample_rate=22050, num_frames=256, augment=augment)
    assert len(train["clips"]) == 28 and [len(c) for c in train["augmented"]] == [2] * 28
    assert train["augmented"][0][0].shape == (64, 256)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data_folder", "/nowhere/LJSpeech-1.1"], "--data_folder"),
        (["--image_mode", "fullclip"], "unknown --image_mode"),
        (["--skip_prep", "true", "--prepare_folder", "/nowhere"], "no train manifest"),
    ],
    ids=["missing data", "image mode", "no prepared folder"],
)
def test_errors_are_one_line(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(RECIPE)
    with pytest.raises(SystemExit) as exit_info:
        script("train.py")(["hparams/train.yaml", "--output_folder", str(tmp_path), *args])
    text = str(exit_info.value.code)
    assert text.startswith("error: ") and message in text and "\n" not in text
