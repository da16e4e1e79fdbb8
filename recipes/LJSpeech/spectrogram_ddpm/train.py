#!/usr/bin/env python3
"""Recipe: unconditional DDPM on 64-band x 256-frame log-mel images of LJSpeech sentences.

The model learns what ~3 s of read English looks like as a mel image (formants, pauses,
syllable rhythm) without any text: samples are "gibberish" speech, the baseline of
text-conditioned work. Images are random crops of whole clips (a new crop each time a clip
is drawn), or with ``--image_mode whole_clip`` the seed project's one image per clip
(12 s, hop = length / 256). Waveforms come from Griffin-Lim (the ``vocoder`` key).

Usage
-----
python train.py hparams/train.yaml                                    # bundled ljspeech_mini
python train.py hparams/train.yaml --data_folder /path/to/LJSpeech-1.1 --held_out_last 25
python train.py hparams/train.yaml --image_mode whole_clip
python train.py hparams/train.yaml --time_stretch_copies 10 --pitch_shift_copies 10
python train.py hparams/train.yaml --debug                            # a few CPU batches
python train.py hparams/train.yaml --data_folder DIR --held_out_last 25 \\
    --prepare_folder FEATS --prepare_only true                        # build a feature cache
python train.py hparams/train.yaml --prepare_folder FEATS --skip_prep true   # train from it
torchrun --nproc_per_node=2 train.py hparams/train.yaml                # 2 GPUs (DDP)

Then: python generate.py results/spectrogram_ddpm/1986 --num 16 --out samples/
"""

import logging
import math
import os
import sys

import speechbrain as sb
import torch
from speechbrain.utils.distributed import run_on_main

from audiodiff.data import BUNDLED_LJSPEECH, DataFolderError, prepare_ljspeech
from audiodiff.data.crops import RandomCropDataset, split_clips
from audiodiff.diffusion import relative_length_mask
from audiodiff.training import DiffusionBrain, NonFiniteLossError
from audiodiff.training.distributed import join_process_group, main_process_first
from audiodiff.training.hparams import build_hparams, load_hparams

logger = logging.getLogger(__name__)

IMAGE_MODES = ("crop", "whole_clip")
WHOLE_CLIP_N_FFT = 2048  # librosa's default, as in the seed project


class SentenceSpectrogramBrain(DiffusionBrain):
    """Feeds a batch of dB mel images to the diffusion loss, padding masked out."""

    def batch_inputs(self, batch):
        """Return (mel_db [B, n_mels, frames], no labels, mask [B, 1, frames] or None)."""
        mel_db = batch["mel_db"].to(self.device)
        lengths = batch["lengths"].to(self.device)
        mask = relative_length_mask(lengths, mel_db.shape) if bool((lengths < 1).any()) else None
        return mel_db, {}, mask


def attention_tokens(hparams):
    """Tokens each self-attention layer attends over: {level: height * width}, the middle
    block (at the lowest level) included."""
    levels = len(hparams["channel_mults"])
    used = set(hparams["attention_levels"]) | {levels - 1}
    n_mels, frames = hparams["n_mels"], hparams["num_frames"]
    return {level: (n_mels >> level) * (frames >> level) for level in sorted(used)}


def whole_clip_overrides(hparams, overrides):
    """``hop_length`` and ``n_fft`` of the seed's whole-clip images, unless given.

    hop = ceil(seconds * sample_rate / num_frames), so ``num_frames`` centred frames cover
    ``whole_clip_seconds`` (12 s at 22,050 Hz: hop 1034).
    """
    samples = round(hparams["whole_clip_seconds"] * hparams["sample_rate"])
    extra = {"hop_length": math.ceil(samples / hparams["num_frames"]), "n_fft": WHOLE_CLIP_N_FFT}
    return {k: v for k, v in extra.items() if k not in overrides}


def prepare(hparams):
    """LJSpeech manifests in ``prepare_folder`` (nothing done with ``skip_prep``)."""
    return prepare_ljspeech(
        hparams["data_folder"] or BUNDLED_LJSPEECH,
        hparams["prepare_folder"],
        valid_fraction=hparams["valid_fraction"],
        test_fraction=hparams["test_fraction"],
        seed=hparams["seed"],
        phonemes=False,
        held_out_last=hparams["held_out_last"],
        skip_prep=hparams["skip_prep"],
    )


def load_splits(hparams):
    """dB mel clips of train / valid / test from the feature cache (computed when missing)."""
    whole = hparams["image_mode"] == "whole_clip"
    dtype = getattr(torch, hparams["feature_dtype"])
    splits = {}
    for split in ("train", "valid", "test"):
        splits[split] = split_clips(
            hparams["prepare_folder"],
            split,
            hparams["mel"],
            sample_rate=hparams["sample_rate"],
            num_frames=hparams["num_frames"] if whole else None,
            dtype=dtype,
            augment=hparams["augment"] if split == "train" else None,
        )
    return splits


def make_datasets(hparams, splits):
    """Training crops (random, augmented copies among the variants) and fixed valid crops."""
    train = RandomCropDataset(
        splits["train"]["clips"],
        hparams["num_frames"],
        variants=splits["train"]["augmented"],
        crops_per_clip=hparams["crops_per_clip"],
    )
    valid = RandomCropDataset(
        splits["valid"]["clips"] or splits["train"]["clips"][:1],
        hparams["num_frames"],
        crops_per_clip=hparams["valid_crops_per_clip"],
        random=False,
        seed=hparams["seed"],
    )
    return train, valid


def main(argv):
    hparams_file, run_opts, overrides, hparams = load_hparams(argv)
    join_process_group(run_opts)  # under torchrun: join the process group (else nothing)
    if hparams["image_mode"] not in IMAGE_MODES:
        sys.exit(f"error: unknown --image_mode {hparams['image_mode']!r}: use crop or whole_clip")
    if hparams["feature_dtype"] not in ("float16", "float32"):
        sys.exit(f"error: --feature_dtype {hparams['feature_dtype']!r}: use float16 or float32")
    whole = hparams["image_mode"] == "whole_clip"
    extra = whole_clip_overrides(hparams, overrides) if whole else {}
    # absolute, so tools find the features from the saved hyperparams.yaml anywhere
    extra["prepare_folder"] = os.path.abspath(hparams["prepare_folder"])
    overrides.update(extra)
    hparams = build_hparams(hparams_file, overrides)

    try:
        run_on_main(prepare, args=[hparams])
        splits = main_process_first(load_splits, hparams)  # feature caches
    except DataFolderError as err:
        sys.exit(f"error: {err}")
    counts = ", ".join(f"{k} {len(v['clips'])}" for k, v in splits.items())
    if hparams["prepare_only"]:
        print(f"prepared {hparams['prepare_folder']}: {counts} clips")
        return

    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    logger.info(f"clips: {counts} (held_out_last={hparams['held_out_last']})")
    train, valid = make_datasets(hparams, splits)
    if not hparams["normalizer"].is_fitted:
        hparams["normalizer"].fit(splits["train"]["clips"])
    logger.info(f"SpectrogramUNet: {hparams['model'].num_parameters():,} params")
    tokens = attention_tokens(hparams)
    logger.info(f"self-attention tokens per level: {tokens}")
    if max(tokens.values()) > 4096:
        logger.warning(
            "self-attention over more than 4,096 positions (%s) is slow and memory-hungry: "
            "attend at lower levels only (attention_levels, channel_mults)",
            tokens,
        )

    brain = SentenceSpectrogramBrain(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    try:
        brain.fit(
            brain.hparams.epoch_counter,
            train,
            valid,
            train_loader_kwargs=hparams["train_dataloader_opts"],
            valid_loader_kwargs=hparams["valid_dataloader_opts"],
        )
    except NonFiniteLossError as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    main(sys.argv[1:])
