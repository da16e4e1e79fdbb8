#!/usr/bin/env python3
"""Recipe: evaluation classifier for generated spoken digits (digit and speaker heads).

Trains ``audiodiff.nets.SpectrogramClassifier`` on the diffusion recipe's features (16 kHz,
80-band dB mel, 64 frames) of real recordings, with random delay, gain and SpecAugment masks,
reports digit and speaker accuracy on the test split (``test_accuracy.json``), and caches the
real splits' classifier outputs that the generative metrics compare against. The output folder
is what ``audiodiff.metrics.SampleEvaluator`` and ``tools/evaluate_samples.py`` load.

Usage
-----
python train.py hparams/train.yaml                          # bundled FSDD, CPU-sized
python train.py hparams/train.yaml --channels "[32, 64, 128, 256]" --number_of_epochs 40
python train.py hparams/train.yaml --dataset audiomnist --data_folder /path/to/AudioMNIST
python train.py hparams/train.yaml --dataset sc09 --data_folder /path/to/speech_commands \
    --speaker_head false
python train.py hparams/train.yaml --debug                  # a few batches
torchrun --nproc_per_node=2 train.py hparams/train.yaml     # 2 GPUs (DDP; BatchNorm: GPUs only)

Then, from the repository root:
python tools/evaluate_samples.py SAMPLES_DIR  # default --classifier: this recipe's FSDD folder
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
import torch.nn.functional as F
from speechbrain.utils.distributed import if_main_process, run_on_main

from audiodiff.audio import relative_db
from audiodiff.data import (
    BUNDLED_FSDD,
    DataFolderError,
    compute_features,
    prepare_audiomnist,
    prepare_fsdd,
)
from audiodiff.metrics import EvaluationError, SampleEvaluator
from audiodiff.nets import spec_augment
from audiodiff.training.distributed import (
    check_batchnorm_device,
    join_process_group,
    main_process_first,
    seed_process,
    world_size,
)
from audiodiff.training.hparams import build_hparams, load_hparams

logger = logging.getLogger(__name__)


class ClassifierBrain(sb.Brain):
    """Cross-entropy on the digit head (+ ``speaker_loss_weight`` x the speaker head)."""

    def augment(self, mel_db):
        """Random gain (dB) and circular delay per example: [B, n_mels, frames] dB mel."""
        hp = self.hparams
        batch, _, frames = mel_db.shape
        gain = (torch.rand(batch, 1, 1, device=mel_db.device) * 2 - 1) * hp.gain_db
        shift = torch.randint(0, hp.max_shift_frames + 1, (batch, 1, 1), device=mel_db.device)
        index = (torch.arange(frames, device=mel_db.device) - shift) % frames
        return torch.gather(mel_db, 2, index.expand_as(mel_db)) + gain

    def compute_forward(self, batch, stage):
        """Normalised (and, in training, augmented) features -> classifier outputs."""
        hp = self.hparams
        mel_db = batch["mel_db"].to(self.device)
        if stage == sb.Stage.TRAIN:
            mel_db = self.augment(mel_db)
        x = self.modules.normalizer.normalize(relative_db(mel_db, hp.level_range_db))
        if stage == sb.Stage.TRAIN:
            x = spec_augment(
                x,
                num_freq_masks=hp.num_freq_masks,
                freq_mask_width=hp.freq_mask_width,
                num_time_masks=hp.num_time_masks,
                time_mask_width=hp.time_mask_width,
            )
        return self.modules.model(x)

    def compute_objectives(self, predictions, batch, stage):
        """Summed cross-entropies; counts correct predictions outside training."""
        digit = batch["digit"].to(self.device)
        speaker = batch["speaker"].to(self.device)
        loss = F.cross_entropy(predictions["digit"], digit)
        if predictions["speaker"] is not None:
            speaker_loss = F.cross_entropy(predictions["speaker"], speaker, ignore_index=-1)
            if (speaker >= 0).any():
                loss = loss + self.hparams.speaker_loss_weight * speaker_loss
        if stage != sb.Stage.TRAIN:
            self.hits["digit"] += int((predictions["digit"].argmax(-1) == digit).sum())
            self.totals["digit"] += len(digit)
            if predictions["speaker"] is not None:
                known = speaker >= 0
                pred = predictions["speaker"].argmax(-1)
                self.hits["speaker"] += int((pred[known] == speaker[known]).sum())
                self.totals["speaker"] += int(known.sum())
        return loss

    def on_fit_start(self):
        """SpeechBrain's start (DDP wrapping, optimizer, recovery), then, under ``torchrun``, a
        random stream per process (different augmentations on each)."""
        check_batchnorm_device(self.modules, self.device)  # (SyncBatchNorm needs GPUs)
        super().on_fit_start()
        seed_process(self.hparams.seed)

    def init_optimizers(self):
        """AdamW (``opt_class``) plus the one-cycle schedule over every training step."""
        super().init_optimizers()
        if self.opt_class is None:
            return
        steps = self.train_steps_per_epoch
        epochs = self.hparams.epoch_counter.limit
        if self.debug:
            steps, epochs = min(steps, self.debug_batches), self.debug_epochs
        # (at least 10 steps: one-cycle needs a few steps per phase; --debug runs fewer)
        total = max(10, steps * epochs)
        self.lr_scheduler = self.hparams.lr_scheduler(self.optimizer, total_steps=total)
        if self.checkpointer is not None:
            self.checkpointer.add_recoverable("lr_scheduler", self.lr_scheduler)

    def on_fit_batch_end(self, batch, outputs, loss, should_step):
        """One scheduler step per optimizer step (never past the planned total)."""
        scheduler = self.lr_scheduler
        if should_step and scheduler.last_epoch < scheduler.total_steps:
            scheduler.step()

    def on_stage_start(self, stage, epoch=None):
        """Reset the accuracy counters."""
        self.hits = {"digit": 0, "speaker": 0}
        self.totals = {"digit": 0, "speaker": 0}

    def accuracies(self):
        """Digit and (when scored) speaker accuracy of the stage so far."""
        stats = {"digit_acc": self.hits["digit"] / max(1, self.totals["digit"])}
        if self.totals["speaker"]:
            stats["speaker_acc"] = self.hits["speaker"] / self.totals["speaker"]
        return stats

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Log; keep the checkpoint with the best validation accuracy; write test accuracy."""
        if stage == sb.Stage.TRAIN:
            self.train_loss = stage_loss
            return
        stats = {"loss": stage_loss, **self.accuracies()}
        acc = sum(v for k, v in stats.items() if k.endswith("_acc")) / (len(stats) - 1)
        if stage == sb.Stage.VALID:
            lr = self.optimizer.param_groups[0]["lr"]
            self.hparams.train_logger.log_stats(
                {"epoch": epoch, "lr": lr},
                train_stats={"loss": self.train_loss},
                valid_stats=stats,
            )
            self.checkpointer.save_and_keep_only(
                meta={"acc": acc, **stats}, max_keys=["acc"], num_to_keep=1
            )
            return
        self.hparams.train_logger.log_stats(
            {"Epoch loaded": self.hparams.epoch_counter.current}, test_stats=stats
        )
        result = {f"test_{k}": v for k, v in stats.items() if k.endswith("_acc")}
        result["test_items"] = self.totals["digit"]
        if if_main_process():  # (every process scored the whole test split)
            with open(os.path.join(self.hparams.output_folder, "test_accuracy.json"), "w") as f:
                json.dump(result, f, indent=1)
        logger.info(f"Test accuracy: {json.dumps(result)}")


def prepare_manifests(hparams):
    """Run the dataset's prepare function; returns its dict of manifest paths."""
    dataset, data_folder = hparams["dataset"], hparams["data_folder"]
    if dataset == "fsdd":
        return prepare_fsdd(
            data_folder or BUNDLED_FSDD, hparams["prepare_folder"], skip_prep=hparams["skip_prep"]
        )
    if dataset not in ("audiomnist", "sc09"):
        raise DataFolderError(f"unknown --dataset {dataset!r}: use fsdd, audiomnist or sc09")
    if data_folder is None:
        raise DataFolderError(
            f"--dataset {dataset} needs its data: pass --data_folder PATH"
            + (" (or --download true)" if dataset == "audiomnist" else "")
            + ", or use --dataset fsdd for the bundled data"
        )
    if dataset == "audiomnist":
        return prepare_audiomnist(
            data_folder,
            hparams["prepare_folder"],
            download=hparams["download"],
            skip_prep=hparams["skip_prep"],
        )
    try:  # imported here: SC09 preparation is optional in older checkouts
        from audiodiff.data import prepare_sc09
    except ImportError:
        raise DataFolderError("this audiodiff has no SC09 preparation (prepare_sc09)") from None
    return prepare_sc09(data_folder, hparams["prepare_folder"], skip_prep=hparams["skip_prep"])


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
        index = {name: i for i, name in enumerate(speakers)}
        speaker_idx = torch.tensor([index.get(s, -1) for s in feats["speaker"]])
        datasets[split] = torch.utils.data.StackDataset(
            mel_db=feats["mel_db"], digit=feats["digit"], speaker=speaker_idx
        )
    return datasets


def cache_reference(folder, device):
    """Compute and cache the real splits' classifier outputs in ``folder`` (main process)."""
    SampleEvaluator.from_experiment(folder, device=device).reference()


def main(argv):
    hparams_file, run_opts, overrides, hparams = load_hparams(argv)
    join_process_group(run_opts)  # under torchrun: join the process group (else nothing)
    try:
        manifests = run_on_main(prepare_manifests, args=[hparams])
    except DataFolderError as err:
        sys.exit(f"error: {err}")
    with open(manifests["speakers"], encoding="utf-8") as f:
        speakers = list(json.load(f))
    num_speakers = len(speakers) if hparams["speaker_head"] else 0
    if num_speakers != hparams["num_speakers"]:
        overrides["num_speakers"] = num_speakers
        hparams = build_hparams(hparams_file, overrides)

    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    datasets = main_process_first(dataio_prep, hparams, manifests, speakers)  # feature caches
    if not hparams["normalizer"].is_fitted:
        level_range = hparams["level_range_db"]
        train_db = relative_db(datasets["train"].datasets["mel_db"], level_range)
        # (with level normalisation, -level_range_db is the floor: padding and silence)
        floor = None if level_range is None else -float(level_range)
        hparams["normalizer"].fit(train_db, floor=floor)
    label_names = {"digit": [str(d) for d in range(hparams["num_digits"])], "speaker": speakers}
    if if_main_process():
        with open(os.path.join(hparams["output_folder"], "labels.json"), "w") as f:
            json.dump(label_names, f, indent=1)

    brain = ClassifierBrain(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    # (each of N processes takes 1/N of an epoch: SpeechBrain's DistributedSampler)
    per_process = len(datasets["train"]) // world_size()
    brain.train_steps_per_epoch = max(1, per_process // hparams["batch_size"])
    brain.fit(
        brain.hparams.epoch_counter,
        datasets["train"],
        datasets["valid"],
        train_loader_kwargs=hparams["train_dataloader_opts"],
        valid_loader_kwargs=hparams["valid_dataloader_opts"],
    )
    brain.evaluate(
        datasets["test"], max_key="acc", test_loader_kwargs=hparams["valid_dataloader_opts"]
    )
    if brain.debug and not brain.debug_persistently:
        return  # the checkpoint lived in a temporary folder
    # The real splits' outputs, cached beside the checkpoint for the generative metrics
    try:
        run_on_main(cache_reference, args=[hparams["output_folder"], brain.device])
    except EvaluationError as err:
        sys.exit(f"error: {err}")
    logger.info(f"Classifier ready for tools/evaluate_samples.py: {hparams['output_folder']}")


if __name__ == "__main__":
    main(sys.argv[1:])
