"""Smoke run of recipes/FSDD/tts's voice conversion with the posterior content path
(``--content_encoder_kind posteriors``) on a tiny randomly initialised recogniser folder, its
checkpoint (without the frozen recogniser's weights), and the one-line error for a folder
that holds no recogniser."""

import glob
import os
import subprocess
import sys

import pytest
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.checkpoints import Checkpointer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPE = os.path.join(REPO, "recipes", "FSDD", "tts")
RECOGNIZER_YAML = """\
mel: !new:audiodiff.audio.MelSpectrogram
    sample_rate: 16000
    n_fft: 1024
    hop_length: 256
    n_mels: 80
    f_min: 0.0
    f_max: 8000.0
vocabulary: !new:audiodiff.nets.CharacterVocabulary
input_norm: !new:speechbrain.processing.features.InputNormalization
    norm_type: sentence
    std_norm: true
range_db: 80.0
model: !new:audiodiff.nets.CTCRecognizer
    n_mels: 80
    vocab_size: 29
    conv_channels: 8
    kernel_size: 5
    subsampling: 2
    hidden_dim: 4
    num_layers: 1
    dropout: 0.0
"""
TINY = [
    "--base_channels", "8", "--channel_mults", "[1, 2]", "--attention_levels", "[1]",
    "--num_heads", "2", "--speaker_dim", "8", "--speaker_hidden_dim", "16",
    "--context_dim", "16", "--sample_steps", "2", "--batch_size", "8", "--noprogressbar",
    "--posterior_hidden_dim", "8", "--posterior_layers", "1", "--num_epoch_samples", "2",
]  # fmt: skip


def write_tiny_recognizer(folder):
    """A recipes/speechocean762/asr-like experiment folder with a random tiny recogniser."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "hyperparams.yaml"), "w", encoding="utf-8") as f:
        f.write(RECOGNIZER_YAML)
    model = load_hyperpyyaml(RECOGNIZER_YAML)["model"]
    Checkpointer(os.path.join(folder, "save"), {"model": model}).save_checkpoint()
    return folder


def run(args):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "train.py", "hparams/spectrogram.yaml", *map(str, args)],
        cwd=RECIPE,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def test_debug_run_with_posterior_content(tmp_path):
    recognizer = write_tiny_recognizer(tmp_path / "asr")
    out = tmp_path / "vc"
    flags = ["--content_encoder_kind", "posteriors", "--content_recognizer_folder", recognizer]
    proc = run(["--debug", "--debug_persistently", "--output_folder", out, *flags, *TINY])
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = sorted(glob.glob(str(out / "save" / "CKPT+*")))[-1]
    state = torch.load(os.path.join(ckpt, "model.ckpt"), weights_only=True)
    assert any(k.startswith("content_encoder.net.") for k in state)
    assert not any("recognizer" in k or "rnn" in k for k in state)  # the frozen part
    assert glob.glob(str(out / "samples" / "*" / "wav" / "*.wav"))


@pytest.mark.parametrize("folder", [None, "missing"])
def test_missing_recognizer_folder_is_one_line(tmp_path, folder):
    args = ["--debug", "--output_folder", tmp_path / "vc", "--content_encoder_kind", "posteriors"]
    if folder:
        args += ["--content_recognizer_folder", tmp_path / folder]
    proc = run([*args, *TINY])
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "content_recognizer_folder" in lines[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
