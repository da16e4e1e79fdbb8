#!/usr/bin/env python3
"""Recipe: spectrogram diffusion on spoken digits (bundled FSDD or AudioMNIST).

Trains a U-Net denoiser on 80-band mel spectrograms, unconditional or conditioned on the
digit and/or the speaker (classifier-free guidance), and writes samples at epoch ends.

Usage
-----
python train.py hparams/train.yaml --digit_conditioned true
python train.py hparams/train.yaml --speaker_conditioned true --digit_conditioned true
python train.py hparams/train.yaml --dataset audiomnist --data_folder /path/to/AudioMNIST
python train.py hparams/train.yaml --digit_conditioned true --debug   # a few batches

Then: python generate.py results/digit_diffusion/1986 --digits 0 7 --num 4 --out samples/
"""

import json
import logging
import os
import sys

import speechbrain as sb
import torch
import yaml
from hyperpyyaml import load_hyperpyyaml

from audiodiff.data import (
    BUNDLED_FSDD,
    DataFolderError,
    compute_features,
    prepare_audiomnist,
    prepare_fsdd,
)
from audiodiff.training import DiffusionBrain, NonFiniteLossError

logger = logging.getLogger(__name__)


class DigitDiffusionBrain(DiffusionBrain):
    """Feeds a batch of cached dB mels and its labels to the diffusion loss."""

    def batch_inputs(self, batch):
        """Return (mel_db [B, n_mels, frames], labels, mask=None) on the training device."""
        labels = {name: batch[name].to(self.device) for name in self.hparams.label_classes}
        return batch["mel_db"].to(self.device), labels, None


def prepare_manifests(hparams):
    """Run the dataset's prepare function; returns its dict of manifest paths."""
    if hparams["dataset"] == "fsdd":
        return prepare_fsdd(
            hparams["data_folder"] or BUNDLED_FSDD,
            hparams["prepare_folder"],
            skip_prep=hparams["skip_prep"],
        )
    if hparams["dataset"] == "audiomnist":
        if hparams["data_folder"] is None:
            raise DataFolderError(
                "--dataset audiomnist needs its data: pass --data_folder PATH (the folder "
                "holding data/NN/*.wav), add --download true to fetch it, or use --dataset fsdd"
            )
        return prepare_audiomnist(
            hparams["data_folder"],
            hparams["prepare_folder"],
            download=hparams["download"],
            skip_prep=hparams["skip_prep"],
        )
    raise DataFolderError(f"unknown --dataset {hparams['dataset']!r}: use fsdd or audiomnist")


def dataio_prep(hparams, manifests, speakers):
    """Compute (or load cached) mel features; returns train/valid/test datasets."""
    datasets = {}
    for split in ("train", "valid", "test"):
        feats = compute_features(
            manifests[split],
            hparams["mel"],
            sample_rate=hparams["sample_rate"],
            num_frames=hparams["num_frames"],
            cache_path=os.path.join(hparams["prepare_folder"], f"features_{split}.pt"),
        )
        speaker_idx = torch.tensor([speakers.index(s) for s in feats["speaker"]])
        datasets[split] = torch.utils.data.StackDataset(
            mel_db=feats["mel_db"], digit=feats["digit"], speaker=speaker_idx
        )
    return datasets


def main(argv):
    hparams_file, run_opts, overrides = sb.parse_arguments(argv)
    overrides = yaml.safe_load(overrides) if isinstance(overrides, str) else dict(overrides or {})
    overrides = overrides or {}
    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)

    try:
        manifests = prepare_manifests(hparams)
    except DataFolderError as err:
        sys.exit(f"error: {err}")
    with open(manifests["speakers"], encoding="utf-8") as f:
        speakers = list(json.load(f))
    if len(speakers) != hparams["num_speakers"]:
        overrides["num_speakers"] = len(speakers)
        with open(hparams_file, encoding="utf-8") as fin:
            hparams = load_hyperpyyaml(fin, overrides)

    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    datasets = dataio_prep(hparams, manifests, speakers)
    if not hparams["normalizer"].is_fitted:
        hparams["normalizer"].fit(datasets["train"].datasets["mel_db"])

    label_names = {"digit": [str(d) for d in range(hparams["num_digits"])], "speaker": speakers}
    hparams["label_names"] = label_names
    with open(os.path.join(hparams["output_folder"], "labels.json"), "w") as f:
        json.dump(label_names, f, indent=1)

    brain = DigitDiffusionBrain(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
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
