"""Smoke runs of the latent-diffusion recipe (hparams/train_latent.yaml) with --debug.

Each run trains a tiny autoencoder (stage 1) and a tiny latent U-Net (stage 2) for a few
batches on the bundled FSDD, writes reconstructions beside originals and labelled samples;
stage 2 alone resumes from a saved stage 1; generate.py loads a latent experiment.
"""

import glob
import json
import os
import subprocess
import sys

import pytest
import soundfile
import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPE = os.path.join(REPO, "recipes", "AudioMNIST", "diffusion")
TINY = [
    "--ae_base_channels",
    "8",
    "--base_channels",
    "16",
    "--channel_mults",
    "[1, 2]",
    "--attention_levels",
    "[1]",
    "--sample_steps",
    "2",
    "--batch_size",
    "8",
    "--ae_batch_size",
    "8",
    "--num_reconstructions",
    "2",
    "--noprogressbar",
]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """One prepare + feature cache folder shared by every run of this module."""
    return str(tmp_path_factory.mktemp("prepared"))


def run(args):
    # Tiny networks: one thread is as fast and robust to a busy machine.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, *args], cwd=RECIPE, capture_output=True, text=True, timeout=600, env=env
    )


def train(out, prepared, *flags):
    return run(
        [
            "train.py",
            "hparams/train_latent.yaml",
            "--debug",
            "--output_folder",
            str(out),
            "--prepare_folder",
            prepared,
            *TINY,
            *flags,
        ]
    )


def check_reconstructions(folder):
    assert os.path.isfile(os.path.join(folder, "comparison.png"))
    for kind in ("original", "reconstruction"):
        wavs = sorted(glob.glob(os.path.join(folder, kind, "wav", "digit*_spk*_000.wav")))
        assert len(wavs) == 2, os.listdir(folder)
        data, sr = soundfile.read(wavs[0])
        assert sr == 16000 and len(data) > 8000
    metrics = json.load(open(os.path.join(folder, "metrics.json")))
    assert 0 < metrics["l1_db"] < 200 and metrics["items"] == 2


@pytest.mark.parametrize(
    "flags, pattern, expected",
    [
        ([], "uncond_*.wav", 2),
        (["--digit_conditioned", "true"], "digit[0-9]_000.wav", 10),
        (["--speaker_conditioned", "true"], "spk[0-9]_000.wav", 6),
        (["--digit_conditioned", "true", "--speaker_conditioned", "true"], "digit*_spk*.wav", 60),
    ],
    ids=["unconditional", "digit", "speaker", "digit+speaker"],
)
def test_debug_run_both_stages(tmp_path, prepared, flags, pattern, expected):
    out = tmp_path / "exp"
    proc = train(out, prepared, *flags)
    assert proc.returncode == 0, proc.stderr[-3000:]
    wavs = glob.glob(str(out / "samples" / "*" / "wav" / pattern))
    assert wavs, f"no {pattern} in {out}/samples"
    assert len(os.listdir(os.path.dirname(wavs[0]))) == expected
    data, sr = soundfile.read(wavs[0])
    assert sr == 16000 and len(data) > 8000 and abs(data).max() > 0
    assert glob.glob(str(out / "samples" / "*" / "spectrograms.png"))
    for stage in ("autoencoder", "diffusion"):
        (folder,) = glob.glob(str(out / "reconstructions" / stage / "*"))
        check_reconstructions(folder)
    test_error = json.load(open(out / "reconstruction_test.json"))
    assert test_error["items"] == 64 and test_error["l1_db"] > 0
    log = (out / "train_log.txt").read_text()
    assert "split: test" in log and "recon_l1_db" in log


def test_stage2_from_saved_stage1_then_generate(tmp_path, prepared):
    stage1 = tmp_path / "stage1"
    proc = train(stage1, prepared, "--stage", "autoencoder", "--debug_persistently")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (ae_ckpt,) = glob.glob(str(stage1 / "save" / "autoencoder" / "CKPT+*"))
    assert not (stage1 / "samples").exists()  # stage 1 only: no diffusion samples

    stage2 = tmp_path / "stage2"
    flags = ["--digit_conditioned", "true", "--speaker_conditioned", "true"]
    proc = train(
        stage2, prepared, "--stage", "diffusion", "--autoencoder_folder", str(stage1),
        "--debug_persistently", *flags,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = (stage2 / "train_log.txt").read_text()
    assert "split: test" not in log and "epoch: 2" in log  # stage 1 was not trained again
    (ckpt,) = glob.glob(str(stage2 / "save" / "CKPT+*"))
    loaded = torch.load(os.path.join(ckpt, "autoencoder.ckpt"))
    saved = torch.load(os.path.join(ae_ckpt, "autoencoder.ckpt"))
    for name, value in saved.items():
        if name.startswith("latent_"):  # fitted in stage 2
            assert torch.isnan(value).all() and torch.isfinite(loaded[name]).all()
        else:
            torch.testing.assert_close(loaded[name], value, msg=name)

    gen = tmp_path / "gen"
    proc = run(
        ["generate.py", str(stage2), "--digits", "3", "--speakers", "1", "--num", "2",
         "--steps", "2", "--sampler", "ddim", "--out", str(gen), "--device", "cpu"]
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    names = sorted(os.path.basename(p) for p in glob.glob(str(gen / "wav" / "*.wav")))
    assert names == ["digit3_spk1_000.wav", "digit3_spk1_001.wav"]
    data, sr = soundfile.read(gen / "wav" / names[0])
    assert sr == 16000 and len(data) > 8000


def test_stage2_without_stage1_is_one_clear_line(tmp_path, prepared):
    proc = train(
        tmp_path / "exp", prepared, "--stage", "diffusion", "--autoencoder_folder",
        str(tmp_path / "nowhere"),
    )  # fmt: skip
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and "autoencoder" in last, last
