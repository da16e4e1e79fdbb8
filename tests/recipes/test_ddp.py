"""Recipes under torchrun: 2 CPU processes (gloo) through SpeechBrain's DDP, in --debug.

The AudioMNIST spectrogram recipe and the SC09 DiffWave recipe each train one epoch on a
small FSDD subset (made here from the bundled copy), then rerun the same command: the second
run resumes from the first run's checkpoint and trains epoch 2 only. Each run must leave one
new sample folder (written by the main process alone: one wav per label, no duplicates) and
one new checkpoint, one train-log line per epoch, and the feature cache the main process
built for both.
"""

import glob
import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FSDD = os.path.join(REPO, "bundled_data", "fsdd", "recordings")
REPETITIONS = [0, 1, 5, 6, *range(10, 18)]  # 2 test, 2 valid, 8 train per speaker and digit


@pytest.fixture(scope="module")
def fsdd_subset(tmp_path_factory):
    """FSDD with 2 speakers and 12 repetitions per digit (240 links to the bundled wavs)."""
    folder = tmp_path_factory.mktemp("fsdd_subset")
    speakers = sorted({name.split("_")[1] for name in os.listdir(FSDD)})[:2]
    for digit in range(10):
        for speaker in speakers:
            for rep in REPETITIONS:
                name = f"{digit}_{speaker}_{rep}.wav"
                os.symlink(os.path.join(FSDD, name), folder / name)
    return str(folder)


RECIPES = {
    "audiomnist": (
        os.path.join(REPO, "recipes", "AudioMNIST", "diffusion"),
        "hparams/train.yaml",
        ["--base_channels", "8", "--channel_mults", "[1, 2]", "--attention_levels", "[1]"]
        + ["--sample_steps", "2", "--batch_size", "8"],
        "features_train.pt",
    ),
    "sc09_diffwave": (
        os.path.join(REPO, "recipes", "SC09", "diffwave"),
        "hparams/diffwave.yaml",
        ["--residual_channels", "8", "--residual_layers", "2", "--dilation_cycle", "2"]
        + ["--batch_size", "2", "--sample_steps", "2", "--sampler", "ddim"],
        "waveforms_train.pt",
    ),
}


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_two_processes_train_sample_once_and_resume(tmp_path, torchrun, fsdd_subset, recipe):
    folder, hparams, tiny, cache = RECIPES[recipe]
    out = tmp_path / "exp"
    command = [
        *torchrun(2),
        "train.py",
        hparams,
        "--distributed_backend",
        "gloo",
        "--debug",
        "--debug_persistently",  # the checkpoint outlives the run, to resume from
        "--debug_epochs",
        "1",
        "--debug_batches",
        "2",
        "--number_of_epochs",
        "2",
        "--data_folder",
        fsdd_subset,
        "--output_folder",
        str(out),
        "--digit_conditioned",
        "true",
        "--noprogressbar",
        *tiny,
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")

    def run():
        proc = subprocess.run(
            command, cwd=folder, capture_output=True, text=True, timeout=400, env=env
        )
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]

    def sample_folders():
        return sorted(os.listdir(out / "samples"))

    def checkpoints():
        return sorted(glob.glob(str(out / "save" / "CKPT+*")))

    run()  # epoch 1
    assert sample_folders() == ["1"]
    wavs = sorted(os.listdir(out / "samples" / "1" / "wav"))
    assert wavs == [f"digit{d}_000.wav" for d in range(10)]  # once each, by one process
    assert len(checkpoints()) == 1
    assert os.path.isfile(out / "prepared" / cache)  # built by the main process, read by both
    first = checkpoints()[0]

    run()  # resumes: epoch 2 only
    assert sample_folders() == ["1", "2"]
    assert len(checkpoints()) == 2 and first in checkpoints()
    log = (out / "train_log.txt").read_text()
    assert log.count("epoch: 1,") == 1 and log.count("epoch: 2,") == 1, log
    assert "steps: 2," in log and "steps: 4," in log, log  # the step count carried over
