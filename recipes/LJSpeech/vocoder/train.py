#!/usr/bin/env python3
"""Recipe: mel-conditioned diffusion vocoders (DiffWave, PriorGrad, SpecGrad) on LJSpeech.

One backbone (audiodiff's DiffWave lobe in its vocoder mode) and one mel front-end
(hparams_shared/mel_22k.yaml) for the three; only the noise prior differs. Trains on random
aligned crops (waveform + its whole-utterance mel frames), vocodes a few validation clips at
epoch ends (wav, real-vs-vocoded PNG, MR-STFT / mel L1 / LSD). Data: the 32 bundled LJSpeech
clips by default, any LJSpeech-1.1 folder with ``--data_folder`` (the last ``held_out_last``
ids never trained on), or the bundled FSDD at 16 kHz with ``--dataset fsdd`` (the AudioMNIST
recipe's mel, so the digit recipes can use it in place of Griffin-Lim).

Usage
-----
python train.py hparams/specgrad.yaml --data_folder /path/to/LJSpeech-1.1
python train.py hparams/priorgrad.yaml
python train.py hparams/diffwave.yaml --dataset fsdd
python train.py hparams/specgrad.yaml --residual_layers 4 --residual_channels 16 \
    --batch_size 2 --debug                                   # seconds on a CPU
torchrun --nproc_per_node=2 train.py hparams/specgrad.yaml   # 2 GPUs (DDP)

Then: python inference.py IN.wav OUT.wav --exp results/ljspeech_specgrad/1986 [--steps 6]
"""

import json
import logging
import os
import sys
import time

# Before PyTorch loads OpenMP: threads that wait for work sleep instead of spinning (as the
# AudioMNIST recipes do): spinning threads made the FSDD preparation minutes long on a GPU
# machine where two other trainings prepared at the same time.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import speechbrain as sb
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.distributed import if_main_process, run_on_main

from audiodiff.audio import DEFAULT_FLOOR
from audiodiff.data import (
    BUNDLED_FSDD,
    BUNDLED_LJSPEECH,
    DataFolderError,
    RandomSegments,
    load_utterances,
    prepare_fsdd,
    prepare_ljspeech,
)
from audiodiff.data.utterances import one_thread
from audiodiff.training import NonFiniteLossError
from audiodiff.training.distributed import join_process_group
from audiodiff.training.hparams import build_hparams, load_hparams
from audiodiff.training.vocoder_brain import VocoderBrain

logger = logging.getLogger(__name__)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir))
MEL_16K = os.path.join(REPO, "hparams_shared", "mel_16k.yaml")
DEBUG_UTTERANCES = 16  # utterances per split read in a --debug run
MEL_SETTINGS_FILE = "mel_settings.json"


def dataset_sample_rate(hparams_file, overrides, hparams):
    """``--dataset fsdd`` takes mel_16k.yaml's sample rate unless given (hparams rebuilt)."""
    if hparams["dataset"] != "fsdd" or "sample_rate" in overrides:
        return hparams, overrides
    with open(MEL_16K, encoding="utf-8") as f:
        rate = load_hyperpyyaml(f)["sample_rate"]
    overrides = {**overrides, "sample_rate": rate}
    logger.info(f"--dataset fsdd: sample_rate {rate} (hparams_shared/mel_16k.yaml)")
    return build_hparams(hparams_file, overrides), overrides


def prepare_manifests(hparams):
    """Run the dataset's prepare function; returns its dict of manifest paths."""
    kind, folder = hparams["dataset"], hparams["data_folder"]
    if kind == "fsdd":
        return prepare_fsdd(
            folder or BUNDLED_FSDD, hparams["prepare_folder"], skip_prep=hparams["skip_prep"]
        )
    if kind != "ljspeech":
        raise DataFolderError(f"unknown --dataset {kind!r}: use ljspeech or fsdd")
    held_out = hparams["held_out_last"]
    if held_out is None:
        held_out = 20 if folder is not None else 4
    return prepare_ljspeech(
        folder or BUNDLED_LJSPEECH,
        hparams["prepare_folder"],
        valid_fraction=hparams["valid_fraction"],
        phonemes=False,
        held_out_last=held_out,
        skip_prep=hparams["skip_prep"],
    )


def mel_settings(hparams):
    """The front-end a mel must come from to be vocoded: ``MelSpectrogram.settings()``, the
    dB floor and the scale (saved as ``mel_settings.json`` beside the experiment)."""
    return {**hparams["mel"].settings(), "db_floor": DEFAULT_FLOOR, "scale": "20*log10"}


def dataio_prep(hparams, manifests, run_opts):
    """Whole utterances of each split; training and validation crop datasets."""
    debug = run_opts.get("debug", False)
    limit = hparams["max_utterances"] or (DEBUG_UTTERANCES if debug else None)
    data = {
        split: load_utterances(
            manifests[split],
            hparams["mel"],
            hparams["sample_rate"],
            max_items=limit,
            progress=not run_opts.get("noprogressbar", False),
        )
        for split in ("train", "valid")
    }
    crops = {
        "train": RandomSegments(
            data["train"]["wav"],
            data["train"]["mel_db"],
            hparams["segment_frames"],
            hparams["hop_length"],
            hparams["crops_per_epoch"],
        ),
        "valid": RandomSegments(
            data["valid"]["wav"],
            data["valid"]["mel_db"],
            hparams["segment_frames"],
            hparams["hop_length"],
            hparams["valid_crops"],
            deterministic=True,
            seed=hparams["seed"],
        ),
    }
    return data, crops


def eval_clips(hparams, valid):
    """The first ``num_eval_clips`` validation utterances, cut to ``eval_seconds``."""
    frames = int(hparams["eval_seconds"] * hparams["sample_rate"]) // hparams["hop_length"]
    clips = []
    for utt_id, wav, mel_db in list(zip(valid["ids"], valid["wav"], valid["mel_db"]))[
        : hparams["num_eval_clips"]
    ]:
        mel_db = mel_db[:, :frames]
        clips.append((utt_id, wav[: mel_db.shape[-1] * hparams["hop_length"]], mel_db))
    return clips


def main(argv):
    started = time.time()
    hparams_file, run_opts, overrides, hparams = load_hparams(argv)
    join_process_group(run_opts)  # under torchrun: join the process group (else nothing)
    hparams, overrides = dataset_sample_rate(hparams_file, overrides, hparams)
    try:
        manifests = run_on_main(prepare_manifests, args=[hparams])
    except (DataFolderError, ValueError) as err:
        sys.exit(f"error: {err}")
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    if if_main_process():
        with open(os.path.join(hparams["output_folder"], MEL_SETTINGS_FILE), "w") as f:
            json.dump(mel_settings(hparams), f, indent=1)
    try:
        data, crops = dataio_prep(hparams, manifests, run_opts)
    except ValueError as err:
        sys.exit(f"error: {err}")
    prior = hparams["prior"]
    if not prior.is_fitted:  # a resumed run gets the saved statistics back from its checkpoint
        with one_thread():  # (small per-chunk products: faster than threads on a busy CPU)
            prior.fit(data["train"]["mel_db"])
        logger.info(f"Noise prior fitted on {len(data['train']['ids'])} utterances: {prior}")
    hparams["eval_clips"] = eval_clips(hparams, data["valid"])
    logger.info(f"Data prepared in {time.time() - started:.0f} s")

    brain = VocoderBrain(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    logger.info(
        f"{type(hparams['model']).__name__} vocoder ({hparams['vocoder_name']}): "
        f"{hparams['model'].num_parameters():,} params, upsampling "
        f"{tuple(c.stride[1] for c in hparams['model'].upsampler.convs)}"
    )
    try:
        brain.fit(
            brain.hparams.epoch_counter,
            crops["train"],
            crops["valid"],
            train_loader_kwargs=hparams["train_dataloader_opts"],
            valid_loader_kwargs=hparams["valid_dataloader_opts"],
        )
    except NonFiniteLossError as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    main(sys.argv[1:])
