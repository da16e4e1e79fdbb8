#!/usr/bin/env python3
"""Recipe: spectrogram or latent diffusion on spoken digits (bundled FSDD or AudioMNIST).

Trains a U-Net denoiser on 80-band mel spectrograms (hparams/train.yaml) or, with
hparams/train_latent.yaml, an autoencoder (stage 1) and a U-Net on its latents (stage 2);
unconditional or conditioned on the digit and/or the speaker (classifier-free guidance), with
samples written at epoch ends.

Usage
-----
python train.py hparams/train.yaml --digit_conditioned true
python train.py hparams/train.yaml --speaker_conditioned true --digit_conditioned true
python train.py hparams/train.yaml --dataset audiomnist --data_folder /path/to/AudioMNIST
python train.py hparams/train.yaml --digit_conditioned true --debug   # a few batches
python train.py hparams/train_latent.yaml --digit_conditioned true     # both stages
python train.py hparams/train_latent.yaml --stage diffusion --autoencoder_folder EXP
python train.py hparams/train.yaml --digit_conditioned true --vocoder results/fsdd_specgrad/1986
torchrun --nproc_per_node=2 train.py hparams/train.yaml --digit_conditioned true   # 2 GPUs (DDP)

Then: python generate.py results/digit_diffusion/1986 --digits 0 7 --num 4 --out samples/
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

from audiodiff.data import (
    BUNDLED_FSDD,
    DataFolderError,
    compute_features,
    prepare_audiomnist,
    prepare_fsdd,
)
from audiodiff.inference import resolve_vocoder
from audiodiff.training import DiffusionBrain, NonFiniteLossError, label_frequencies
from audiodiff.training.distributed import join_process_group, main_process_first
from audiodiff.training.hparams import build_hparams, load_hparams
from audiodiff.training.latent_brain import (
    AutoencoderBrain,
    LatentDiffusionBrain,
    encode_moments,
    fit_latent_stats,
    load_autoencoder,
    reconstruct,
    reconstruction_error,
    write_reconstructions,
)

logger = logging.getLogger(__name__)


class DigitBatches:
    """Feeds a batch of cached dB mels and its labels to the training loss."""

    def batch_inputs(self, batch):
        """Return (mel_db [B, n_mels, frames], labels, mask=None) on the training device."""
        labels = {name: batch[name].to(self.device) for name in self.hparams.label_classes}
        return batch["mel_db"].to(self.device), labels, None


class DigitDiffusionBrain(DigitBatches, DiffusionBrain):
    """Spectrogram-space diffusion."""


class DigitAutoencoderBrain(DigitBatches, AutoencoderBrain):
    """Latent recipe, stage 1: the autoencoder."""


class DigitLatentBrain(DigitBatches, LatentDiffusionBrain):
    """Latent recipe, stage 2: diffusion on the frozen autoencoder's latents."""


DEBUG_ITEMS = 64  # items per split in a --debug run of the latent recipe

# Stage-1 keys of train_latent.yaml that stand in for the ones DiffusionBrain reads.
AUTOENCODER_KEYS = {
    "modules": "ae_modules",
    "opt_class": "ae_opt_class",
    "checkpointer": "ae_checkpointer",
    "epoch_counter": "ae_epoch_counter",
    "max_train_minutes": "ae_max_train_minutes",
    "train_dataloader_opts": "ae_train_dataloader_opts",
}


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
    hparams_file, run_opts, overrides, hparams = load_hparams(argv)
    join_process_group(run_opts)  # under torchrun: join the process group (else nothing)

    try:
        manifests = run_on_main(prepare_manifests, args=[hparams])
    except DataFolderError as err:
        sys.exit(f"error: {err}")
    with open(manifests["speakers"], encoding="utf-8") as f:
        speakers = list(json.load(f))
    if len(speakers) != hparams["num_speakers"]:
        overrides["num_speakers"] = len(speakers)
        hparams = build_hparams(hparams_file, overrides)

    try:  # --vocoder DIR: a trained vocoder (recipes/LJSpeech/vocoder) replaces Griffin-Lim
        resolve_vocoder(hparams)
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f"error: --vocoder: {err}")
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    datasets = main_process_first(dataio_prep, hparams, manifests, speakers)  # feature caches
    if not hparams["normalizer"].is_fitted:
        hparams["normalizer"].fit(datasets["train"].datasets["mel_db"])

    label_names = {"digit": [str(d) for d in range(hparams["num_digits"])], "speaker": speakers}
    hparams["label_names"] = label_names
    train = datasets["train"].datasets  # the label prior that unconditional samples draw from
    hparams["label_prior"] = {
        "digit": label_frequencies(train["digit"], hparams["num_digits"]),
        "speaker": label_frequencies(train["speaker"], len(speakers)),
    }
    if if_main_process():
        with open(os.path.join(hparams["output_folder"], "labels.json"), "w") as f:
            json.dump(label_names, f, indent=1)
        with open(os.path.join(hparams["output_folder"], "label_prior.json"), "w") as f:
            json.dump(hparams["label_prior"], f, indent=1)

    try:
        if "autoencoder" in hparams:
            fit_latent(hparams, run_opts, datasets)
        else:
            fit(make_brain(DigitDiffusionBrain, hparams, run_opts), datasets)
    except NonFiniteLossError as err:
        sys.exit(f"error: {err}")


def make_brain(brain_class, hparams, run_opts, keys=None):
    """Build a Brain from ``hparams``, with ``keys`` (Brain key -> YAML key) swapped in."""
    hp = dict(hparams)
    hp.update({key: hparams[yaml_key] for key, yaml_key in (keys or {}).items()})
    return brain_class(
        modules=hp["modules"],
        opt_class=hp["opt_class"],
        hparams=hp,
        run_opts=run_opts,
        checkpointer=hp["checkpointer"],
    )


def fit(brain, datasets):
    """Train ``brain`` on the train split, validating on the valid split."""
    hp = brain.hparams
    brain.fit(
        hp.epoch_counter,
        datasets["train"],
        datasets["valid"],
        train_loader_kwargs=hp.train_dataloader_opts,
        valid_loader_kwargs=hp.valid_dataloader_opts,
    )


def first_items(split, num):
    """The first ``num`` items of a split (a StackDataset of tensors)."""
    return torch.utils.data.StackDataset(**{k: v[:num] for k, v in split.datasets.items()})


def labels_of(split, indices):
    """Digit and speaker labels of the items ``indices`` of a split, as a label grid."""
    data = split.datasets
    return [{"digit": int(data["digit"][i]), "speaker": int(data["speaker"][i])} for i in indices]


def fit_latent(hparams, run_opts, datasets):
    """Latent diffusion: stage 1 (autoencoder), stage 2 (latent DDPM), or both."""
    stage = hparams["stage"]
    if stage not in ("both", "autoencoder", "diffusion"):
        sys.exit(f"error: unknown --stage {stage!r}: use both, autoencoder or diffusion")
    autoencoder, normalizer = hparams["autoencoder"], hparams["normalizer"]
    if run_opts.get("debug"):  # a few batches are trained: encode and evaluate that few
        datasets = {k: first_items(v, DEBUG_ITEMS) for k, v in datasets.items()}
    valid = datasets["valid"]
    pick = torch.linspace(0, len(valid) - 1, hparams["num_reconstructions"]).long().tolist()
    hparams["reconstruction_examples"] = (valid.datasets["mel_db"][pick], labels_of(valid, pick))
    if stage in ("both", "autoencoder"):
        brain = make_brain(DigitAutoencoderBrain, hparams, run_opts, AUTOENCODER_KEYS)
        fit(brain, datasets)
        # main process only (inside run_on_main, SpeechBrain's logger waits for no other process)
        run_on_main(test_autoencoder, args=[hparams, datasets, brain.device])
    if stage == "autoencoder":
        return
    if stage == "diffusion":
        try:
            load_autoencoder(hparams["autoencoder_folder"], autoencoder, normalizer)
        except FileNotFoundError as err:
            sys.exit(f"error: {err}")
    brain = make_brain(DigitLatentBrain, hparams, run_opts)  # moves the modules to the device
    # A stage-2 checkpoint holds the autoencoder (and latent statistics) it was trained with.
    brain.checkpointer.recover_if_possible()
    latent = {}  # the train/valid splits with their posterior moments cached (no encoder)
    for split in ("train", "valid"):
        moments = encode_moments(autoencoder, normalizer, datasets[split].datasets["mel_db"])
        latent[split] = torch.utils.data.StackDataset(**datasets[split].datasets, **moments)
    if not autoencoder.latent_stats_fitted:
        fit_latent_stats(autoencoder, latent["train"].datasets)
    fit(brain, latent)


def test_autoencoder(hparams, datasets, device):
    """Stage 1's test reconstruction error (``reconstruction_test.json``, the train log) and,
    with ``write_test_reconstructions``, the test reconstructions."""
    autoencoder, normalizer = hparams["autoencoder"], hparams["normalizer"]
    test_mel = datasets["test"].datasets["mel_db"].to(device)
    recon = reconstruct(autoencoder, normalizer, test_mel)
    error = reconstruction_error(test_mel, recon, normalizer)
    logger.info(f"Test reconstruction error: {error}")
    hparams["train_logger"].log_stats({"stage": "autoencoder", "split": "test"}, test_stats=error)
    with open(os.path.join(hparams["output_folder"], "reconstruction_test.json"), "w") as f:
        json.dump(error, f)
    if hparams["write_test_reconstructions"]:  # e.g. to score them with a classifier
        write_reconstructions(
            os.path.join(hparams["reconstructions_folder"], "test"),
            test_mel,
            recon,
            labels_of(datasets["test"], range(len(test_mel))),
            hparams["vocoder"],
            hparams["sample_rate"],
            hparams["label_names"],
        )


if __name__ == "__main__":
    main(sys.argv[1:])
