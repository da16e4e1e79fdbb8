"""A training process killed with SIGKILL after its first time-based checkpoint
(``ckpt_interval_minutes``, 0.05 min here) continues, when rerun, from the saved weights,
optimizer, EMA, step counter and training clock; and two runs with the same seed train the
same first epoch (reproducibility on the CPU)."""

import glob
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from audiodiff.training.budget import _complete_file

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPE = os.path.join(REPO, "recipes", "AudioMNIST", "diffusion")
TINY = [
    "--base_channels", "8", "--channel_mults", "[1, 2]", "--attention_levels", "[]",
    "--sample_steps", "2", "--samples_per_label", "1", "--batch_size", "4", "--noprogressbar",
    "--digit_conditioned", "true",
]  # fmt: skip
LR = 0.001


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return str(tmp_path_factory.mktemp("prepared"))


# every file of a complete checkpoint (SpeechBrain writes CKPT.yaml first, these after it)
FILES = ("model", "ema", "normalizer", "counter", "brain", "train_clock", "optimizer")


def complete(folder):
    """All files written, none truncated (a kill can land in the middle of a save)."""
    paths = [os.path.join(folder, f"{name}.ckpt") for name in FILES]
    return all(os.path.isfile(p) and _complete_file(Path(p)) for p in paths)


def checkpoints(save):
    """(meta, folder) of every complete checkpoint, oldest first."""
    found = []
    for meta_file in glob.glob(os.path.join(save, "CKPT+*", "CKPT.yaml")):
        if complete(os.path.dirname(meta_file)):
            with open(meta_file) as f:
                found.append((yaml.safe_load(f), os.path.dirname(meta_file)))
    return sorted(found, key=lambda item: item[0]["unixtime"])


def state(folder):
    """Step counters, optimizer state, EMA and weights saved in one checkpoint folder."""
    with open(os.path.join(folder, "brain.ckpt")) as f:
        brain = yaml.safe_load(f)
    with open(os.path.join(folder, "train_clock.ckpt")) as f:
        clock = yaml.safe_load(f)["minutes"]
    optimizer = torch.load(os.path.join(folder, "optimizer.ckpt"))
    adam_steps = {float(s["step"]) for s in optimizer["state"].values()}
    ema = torch.load(os.path.join(folder, "ema.ckpt"))
    model = torch.load(os.path.join(folder, "model.ckpt"))
    return brain, clock, adam_steps, ema, model


def test_kill_then_rerun_continues_from_the_interval_checkpoint(tmp_path, prepared):
    out = tmp_path / "exp"
    args = [
        sys.executable, "train.py", "hparams/train.yaml", "--output_folder", str(out),
        "--prepare_folder", prepared, "--ckpt_interval_minutes", "0.05", "--lr", str(LR),
        "--max_train_minutes", "null", "--number_of_epochs", "1000", "--sample_every", "1000",
        "--ckpt_every", "1000", *TINY,
    ]  # fmt: skip
    err = open(tmp_path / "killed_run.log", "w")
    proc = subprocess.Popen(args, cwd=RECIPE, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.time() + 600
    while not any(meta.get("brain_intra_epoch_ckpt") for meta, _ in checkpoints(out / "save")):
        assert proc.poll() is None, (tmp_path / "killed_run.log").read_text()[-3000:]
        assert time.time() < deadline, "no interval checkpoint after 10 minutes"
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    err.close()
    assert proc.returncode == -signal.SIGKILL
    # the newest complete checkpoint (a save the kill interrupted is set aside by the rerun)
    saved_meta, saved_folder = checkpoints(out / "save")[-1]
    assert saved_meta.get("brain_intra_epoch_ckpt")
    brain, clock, adam_steps, ema, model = state(saved_folder)
    steps = brain["optimizer_step"]
    assert steps > 0 and adam_steps == {float(steps)} and int(ema["num_updates"]) == steps

    # the rerun trains 2 more steps (same folder, same flags) and saves an end checkpoint
    done = subprocess.run(
        [*args, "--optimizer_step_limit", str(steps + 2)],
        cwd=RECIPE,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    end_meta, end_folder = checkpoints(out / "save")[-1]
    assert not end_meta.get("brain_intra_epoch_ckpt")
    brain2, clock2, adam_steps2, ema2, model2 = state(end_folder)
    assert brain2["optimizer_step"] == steps + 2  # counted on from the saved step
    assert adam_steps2 == {float(steps + 2)}  # the optimizer's moments were restored
    assert int(ema2["num_updates"]) == steps + 2  # the EMA too
    assert clock2 >= clock  # the time budget goes on from the saved training minutes
    # two Adam steps move each weight by about 2 * lr at most: the rerun started from the
    # saved weights (a fresh start would be far away)
    moved = {k: (model2[k] - model[k]).abs().max().item() for k in model}
    assert 0 < max(moved.values()) < 4 * LR, sorted(moved.items(), key=lambda kv: -kv[1])[:3]
    averaged = [k for k in ema if k != "num_updates"]
    ema_moved = max((ema2[k] - ema[k]).abs().max().item() for k in averaged)
    assert 0 < ema_moved < 4 * LR  # the EMA weights went on from the saved ones too


def first_epoch(tmp_path, prepared, seed):
    out = tmp_path / f"seed{seed}_{len(os.listdir(tmp_path))}"
    done = subprocess.run(
        [
            sys.executable,
            "train.py",
            "hparams/train.yaml",
            "--debug",
            "--debug_persistently",
            "--debug_epochs",
            "1",
            "--output_folder",
            str(out),
            "--prepare_folder",
            prepared,
            "--seed",
            str(seed),
            "--sample_every",
            "1000",
            *TINY,
        ],  # fmt: skip
        cwd=RECIPE,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    log = (out / "train_log.txt").read_text()
    line = next(line for line in log.splitlines() if line.startswith("epoch: 1,"))
    loss = line.split("train loss:")[1].split(" - ")[0].strip()
    (folder,) = glob.glob(str(out / "save" / "CKPT+*"))
    return loss, torch.load(os.path.join(folder, "model.ckpt"))


def test_same_seed_same_first_epoch(tmp_path, prepared):
    loss_a, weights_a = first_epoch(tmp_path, prepared, seed=7)
    loss_b, weights_b = first_epoch(tmp_path, prepared, seed=7)
    loss_c, weights_c = first_epoch(tmp_path, prepared, seed=8)
    assert loss_a == loss_b
    for key in weights_a:  # bit for bit, not just the 3 logged digits
        torch.testing.assert_close(weights_a[key], weights_b[key], rtol=0, atol=0)
    assert any(not torch.equal(weights_a[k], weights_c[k]) for k in weights_a)
