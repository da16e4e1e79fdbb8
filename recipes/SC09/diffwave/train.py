#!/usr/bin/env python3
"""Recipe: waveform diffusion on 1 s spoken digits at 16 kHz (DiffWave or SaShiMi backbone).

Trains a denoiser on raw waveforms, unconditional or conditioned on the digit (classifier-free
guidance), and writes samples (wav + mel PNG) at epoch ends. Data: the bundled FSDD resampled
to 16 kHz by default, or Speech Commands / SC09 with ``--data_folder``.

Usage
-----
python train.py hparams/diffwave.yaml --digit_conditioned true
python train.py hparams/sashimi.yaml
python train.py hparams/diffwave.yaml --data_folder /path/to/speech_commands_v0.02
python train.py hparams/diffwave.yaml --residual_channels 32 --residual_layers 12 \
    --dilation_cycle 6 --batch_size 4 --debug                     # a few CPU batches
torchrun --nproc_per_node=2 train.py hparams/diffwave.yaml --digit_conditioned true  # 2 GPUs

Then: python generate.py results/sc09_diffwave/1986 --digits 0 7 --num 4 --out samples/
"""

import json
import logging
import os
import sys

# Before PyTorch loads OpenMP: threads that wait for work sleep instead of spinning. On a CPU
# shared with other jobs, spinning threads made a training step 10-20x slower (README.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import speechbrain as sb
import torch
from speechbrain.utils.distributed import if_main_process, run_on_main

from audiodiff.data import BUNDLED_FSDD, DataFolderError, prepare_fsdd
from audiodiff.data.waveforms import load_waveforms
from audiodiff.training import NonFiniteLossError
from audiodiff.training.data_stats import measure_data_stats, write_data_stats
from audiodiff.training.distributed import join_process_group, main_process_first
from audiodiff.training.hparams import load_hparams
from audiodiff.training.waveform_brain import WaveformDiffusionBrain

logger = logging.getLogger(__name__)

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def random_time_shift(wav, lengths, max_shift):
    """Shift each waveform right by a random amount that only moves its trailing silence.

    Arguments
    ---------
    wav : torch.Tensor
        [batch, samples] left-aligned waveforms.
    lengths : torch.Tensor
        [batch] fraction of each waveform that is audio (the rest is zero padding).
    max_shift : int
        Largest shift in samples.

    Returns
    -------
    torch.Tensor
        [batch, samples], zeros in front of each shifted waveform.
    """
    batch, samples = wav.shape
    room = ((1 - lengths.to(wav.device)) * samples).floor().clamp(0, max_shift)
    shift = (torch.rand(batch, device=wav.device) * (room + 1)).floor().long()
    index = torch.arange(samples, device=wav.device)[None, :] - shift[:, None]
    return wav.gather(1, index.clamp(min=0)) * (index >= 0)


class WaveformDigitBrain(WaveformDiffusionBrain):
    """Feeds a batch of cached waveforms and their digits to the diffusion loss."""

    def batch_inputs(self, batch):
        """Return (wav [B, samples], labels, mask=None) on the training device."""
        labels = {name: batch[name].to(self.device) for name in self.hparams.label_classes}
        wav = batch["wav"].to(self.device)
        max_shift = int(self.hparams.max_time_shift * self.hparams.sample_rate)
        if self.modules.training and max_shift > 0:
            wav = random_time_shift(wav, batch["lengths"], max_shift)
        return wav, labels, None


def dataset_kind(hparams):
    """``fsdd`` or ``sc09``, from the ``dataset`` key (``auto``: from the folder's layout)."""
    kind, folder = hparams["dataset"], hparams["data_folder"]
    if kind not in ("auto", "fsdd", "sc09"):
        raise DataFolderError(f"unknown --dataset {kind!r}: use auto, fsdd or sc09")
    if kind != "auto":
        return kind
    if folder is None:
        return "fsdd"
    if not os.path.isdir(folder):
        raise DataFolderError(
            f"data folder '{folder}' not found: pass --data_folder PATH pointing at Speech "
            "Commands (zero/ .. nine/), an SC09 release (train/ valid/ test/) or FSDD, or leave "
            "it out to train on the bundled FSDD"
        )
    sc09 = any(os.path.isdir(os.path.join(folder, name)) for name in ("zero", "train"))
    return "sc09" if sc09 else "fsdd"


def prepare_manifests(hparams):
    """Run the dataset's prepare function; returns its dict of manifest paths."""
    if dataset_kind(hparams) == "fsdd":
        return prepare_fsdd(
            hparams["data_folder"] or BUNDLED_FSDD,
            hparams["prepare_folder"],
            skip_prep=hparams["skip_prep"],
        )
    if hparams["data_folder"] is None:
        raise DataFolderError("--dataset sc09 needs --data_folder PATH (the Speech Commands root)")
    try:  # imported here: only the SC09 path needs it
        from audiodiff.data import prepare_sc09
    except ImportError:  # not exported from audiodiff.data yet
        from audiodiff.data.speech_commands import prepare_sc09

    return prepare_sc09(
        hparams["data_folder"], hparams["prepare_folder"], skip_prep=hparams["skip_prep"]
    )


def dataio_prep(hparams, manifests):
    """Load (or compute and cache) the fixed-length waveforms of each split."""
    datasets = {}
    for split in ("train", "valid", "test"):
        data = load_waveforms(
            manifests[split],
            sample_rate=hparams["sample_rate"],
            num_samples=hparams["num_samples"],
            cache_path=os.path.join(hparams["prepare_folder"], f"waveforms_{split}.pt"),
            peak_level=hparams.get("peak_level"),
        )
        datasets[split] = torch.utils.data.StackDataset(
            wav=data["wav"], digit=data["digit"], lengths=data["lengths"]
        )
    return datasets


def main(argv):
    hparams_file, run_opts, overrides, hparams = load_hparams(argv)
    join_process_group(run_opts)  # under torchrun: join the process group (else nothing)

    try:
        manifests = run_on_main(prepare_manifests, args=[hparams])
    except (DataFolderError, ValueError) as err:
        sys.exit(f"error: {err}")
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    try:
        datasets = main_process_first(dataio_prep, hparams, manifests)  # waveform caches
    except ValueError as err:
        sys.exit(f"error: {err}")
    label_names = {"digit": list(DIGIT_WORDS[: hparams["num_digits"]])}
    hparams["label_names"] = label_names
    hparams["data_stats"] = measure_data_stats(datasets["train"].datasets["wav"])
    if if_main_process():
        with open(os.path.join(hparams["output_folder"], "labels.json"), "w") as f:
            json.dump(label_names, f, indent=1)
        write_data_stats(hparams["output_folder"], hparams["data_stats"])  # for generate.py

    brain = WaveformDigitBrain(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    logger.info(f"{type(hparams['model']).__name__}: {hparams['model'].num_parameters():,} params")
    try:
        brain.fit(
            brain.hparams.epoch_counter,
            datasets["train"],
            datasets["valid"],
            train_loader_kwargs=hparams["train_dataloader_opts"],
            valid_loader_kwargs=hparams["valid_dataloader_opts"],
        )
    except NonFiniteLossError as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    main(sys.argv[1:])
