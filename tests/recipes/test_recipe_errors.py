"""One-line errors from every recipe's train.py: an unknown override key (with the closest
valid keys; every recipe), a value of the wrong type, and a data folder whose repetitions leave
a split empty. Each ends with ``error: ...`` on stderr and no traceback.

One test runs a recipe as a user does (a subprocess: the last stderr line, no traceback); the
rest call each recipe's ``main(argv)`` in this process (runpy) and check its ``SystemExit``
carries that one line, which is what the interpreter prints (a subprocess per case cost about
7 s of CI each)."""

import os
import runpy
import subprocess
import sys

import numpy as np
import pytest
import soundfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPES = {
    "diffusion": ("AudioMNIST/diffusion", "hparams/train.yaml"),
    "latent": ("AudioMNIST/diffusion", "hparams/train_latent.yaml"),
    "classifier": ("AudioMNIST/classifier", "hparams/train.yaml"),
    "diffwave": ("SC09/diffwave", "hparams/diffwave.yaml"),
    "vocoder": ("LJSpeech/vocoder", "hparams/diffwave.yaml"),
    "spectrogram_ddpm": ("LJSpeech/spectrogram_ddpm", "hparams/train.yaml"),
    "tts": ("FSDD/tts", "hparams/phoneme.yaml"),
    "speaker_encoder": ("speechocean762/speaker_encoder", "hparams/ecapa.yaml"),
    "asr": ("speechocean762/asr", "hparams/ctc.yaml"),
}


def run_recipe_cli(name, *args, tmp_path):
    """Run the recipe's train.py in a subprocess; return its last stderr line (``error: ...``)."""
    recipe, hparams = RECIPES[name]
    proc = subprocess.run(
        [sys.executable, "train.py", hparams, "--output_folder", str(tmp_path / "exp"), *args],
        cwd=os.path.join(REPO, "recipes", recipe),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: "), proc.stderr[-3000:]
    return last


def run_recipe(name, *args, tmp_path, monkeypatch):
    """Call the recipe's ``main(argv)`` in this process, from its folder; return the one-line
    message of the ``SystemExit`` it must end with (any other exception fails the test)."""
    recipe, hparams = RECIPES[name]
    folder = os.path.join(REPO, "recipes", recipe)
    monkeypatch.chdir(folder)
    main = runpy.run_path(os.path.join(folder, "train.py"))["main"]
    with pytest.raises(SystemExit) as exit_info:
        main([hparams, "--output_folder", str(tmp_path / "exp"), *args])
    message = exit_info.value.code
    assert isinstance(message, str) and message.startswith("error: "), message
    assert "\n" not in message.strip(), message
    return message


def test_cli_prints_one_error_line(tmp_path):
    last = run_recipe_cli("diffusion", "--batch_sise", "8", tmp_path=tmp_path)
    assert "unknown option --batch_sise" in last and "--batch_size" in last


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_unknown_key_names_the_closest_keys(tmp_path, monkeypatch, name):
    last = run_recipe(name, "--batch_sise", "8", tmp_path=tmp_path, monkeypatch=monkeypatch)
    assert "unknown option --batch_sise" in last and "--batch_size" in last


def test_unknown_key_without_a_close_one(tmp_path, monkeypatch):
    last = run_recipe("diffusion", "--no_such_key", "3", tmp_path=tmp_path, monkeypatch=monkeypatch)
    assert "unknown option --no_such_key" in last and "train.yaml" in last


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--batch_size", "abc"], "--batch_size expects an integer"),
        (["--lr", "fast"], "--lr expects a number"),
        (["--digit_conditioned", "yes"], "--digit_conditioned expects true or false"),
        (["--channel_mults", "4"], "--channel_mults expects a list"),
    ],
)
def test_wrong_type(tmp_path, monkeypatch, args, expected):
    assert expected in run_recipe("diffusion", *args, tmp_path=tmp_path, monkeypatch=monkeypatch)


def write_fsdd(folder, reps, speakers=("ann", "bob")):
    """A tiny FSDD-named folder ({digit}_{speaker}_{rep}.wav, 8 kHz) with the given reps."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for speaker in speakers:
        for digit in range(10):
            for rep in reps:
                wav = 0.1 * rng.standard_normal(2400).astype("float32")
                soundfile.write(folder / f"{digit}_{speaker}_{rep}.wav", wav, 8000)


@pytest.mark.parametrize("name", ["diffusion", "classifier", "diffwave"])
def test_empty_valid_split(tmp_path, monkeypatch, name):
    data = tmp_path / "fsdd"
    write_fsdd(data, reps=[0, 1, 2, 3, 4, 10, 11])  # test 0-4, train 10-11, valid (5-9): none
    last = run_recipe(
        name, "--data_folder", str(data), "--debug", tmp_path=tmp_path, monkeypatch=monkeypatch
    )
    assert "the valid split is empty" in last and "0-4, 10-11" in last, last
