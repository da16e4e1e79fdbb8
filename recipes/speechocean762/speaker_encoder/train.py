#!/usr/bin/env python3
"""Recipe: a speaker encoder (ECAPA-TDNN, AAM-softmax) on every real speaker the project has.

Trains SpeechBrain's ECAPA-TDNN lobe with its cosine ``Classifier`` and an additive angular
margin softmax on 16 kHz log-mel crops (2-3 s, speaker-balanced, SpecAugment) of
speechocean762 (minus its five held-out adult speakers), FSDD and LJSpeech, then scores the
embeddings: EER over all utterance pairs and closest-speaker identification (enrol with a few
utterances, assign the rest) on the held-out speakers (never trained on) and on the test
utterances of the training speakers. The output folder is what
``audiodiff.inference.SpeakerEncoder.from_hparams`` loads.

Usage
-----
python train.py hparams/ecapa.yaml                                   # bundled data, CPU-sized
python train.py hparams/ecapa.yaml --data_folder /path/to/speechocean762 \
    --ljspeech_folder /path/to/LJSpeech-1.1
python train.py hparams/ecapa.yaml --feature_bank .gpu_data/speaker/features.xz   # no audio
python train.py hparams/ecapa.yaml --debug                           # a few batches
torchrun --nproc_per_node=2 train.py hparams/ecapa.yaml              # 2 GPUs (DDP)

Then: python evaluate.py results/speaker_encoder/1986 --data_folder /path/to/speechocean762
"""

import json
import logging
import os
import sys

import speechbrain as sb
import torch
from speechbrain.utils.distributed import if_main_process, run_on_main

from audiodiff.data import (
    DataFolderError,
    FeatureBank,
    FeatureBankError,
    RandomCropBatches,
    build_speaker_bank,
    prepare_speaker_corpora,
)
from audiodiff.data.feature_bank import feature_settings
from audiodiff.data.speaker_corpora import SPEAKER_PREFIX
from audiodiff.data.speechocean762 import speaker_name
from audiodiff.diffusion.ema import unwrap_model
from audiodiff.inference import SpeakerEncoder
from audiodiff.metrics import trial_scores, verification_report
from audiodiff.nets import spec_augment
from audiodiff.training import NonFiniteLossError, TrainingBudgetMixin
from audiodiff.training.distributed import (
    check_batchnorm_device,
    join_process_group,
    main_process_first,
    process_rank,
    seed_process,
)
from audiodiff.training.hparams import build_hparams, load_hparams
from audiodiff.training.lr_schedule import training_progress, warmup_cosine

logger = logging.getLogger(__name__)

EVAL_SPLITS = ("test", "held_out")


class SpeakerBrain(TrainingBudgetMixin, sb.Brain):
    """AAM-softmax over training speakers; the embedding path is ``self.encoder``'s.

    Set before ``fit``: ``encoder`` (a :class:`SpeakerEncoder` over ``modules.model`` and
    ``modules.mean_norm``), ``planned_steps`` (for the lr schedule) and ``has_valid``.
    """

    def on_fit_start(self):
        """SpeechBrain's start (DDP wrapping, optimizer, recovery); under ``torchrun`` the
        encoder then embeds through the DDP-wrapped network (gradients averaged over the
        processes) and each process gets its own random stream (SpecAugment)."""
        check_batchnorm_device(self.modules, self.device)  # (SyncBatchNorm needs GPUs)
        super().on_fit_start()
        self.encoder.embedding_model = self.modules.model
        seed_process(self.hparams.seed)

    def fit(self, *args, **kwargs):
        """SpeechBrain's ``fit``; afterwards the encoder holds the plain network again (scoring
        runs on the main process alone, where a DDP forward would wait for the others)."""
        try:
            return super().fit(*args, **kwargs)
        finally:
            self.encoder.embedding_model = unwrap_model(self.modules.model)

    def compute_forward(self, batch, stage):
        """dB mel crops [B, frames, n_mels] -> (SpecAugment) -> embedding -> speaker cosines."""
        hp = self.hparams
        feats = batch["feats"].to(self.device)
        lens = batch["lens"].to(self.device)
        if stage == sb.Stage.TRAIN:
            feats = spec_augment(
                feats.transpose(1, 2),
                num_freq_masks=hp.num_freq_masks,
                freq_mask_width=hp.freq_mask_width,
                num_time_masks=hp.num_time_masks,
                time_mask_width=hp.time_mask_width,
            ).transpose(1, 2)
        embeddings = self.encoder.embed_features(feats, lens)
        # cosines in fp32 even under bf16 autocast: the angular margin needs their precision
        with torch.autocast(device_type=self.device_type, enabled=False):
            return self.modules.classifier(embeddings.float().unsqueeze(1))  # [B, 1, speakers]

    def compute_objectives(self, predictions, batch, stage):
        """AAM-softmax loss; counts closed-set hits outside training."""
        labels = batch["label"].to(self.device)
        loss = self.hparams.compute_cost(predictions, labels.unsqueeze(1))
        if stage != sb.Stage.TRAIN:
            self.hits += int((predictions.squeeze(1).argmax(-1) == labels).sum())
            self.total += len(labels)
        return loss

    def progress(self):
        """Fraction of training done: of the planned steps or of ``max_train_minutes``."""
        return training_progress(
            self.optimizer_step,
            self.planned_steps,
            self.training_minutes(),
            self.hparams.max_train_minutes,
        )

    def on_fit_batch_start(self, batch, should_step):
        """Warm-up + cosine learning rate, following steps or the clock."""
        lr = self.hparams.lr * warmup_cosine(self.progress(), self.hparams.warmup_fraction)
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def on_stage_start(self, stage, epoch=None):
        """Reset the closed-set accuracy counters."""
        self.hits, self.total = 0, 0

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Log; keep the newest checkpoint (the lr has decayed by the last one)."""
        if stage == sb.Stage.TRAIN:
            self.train_loss = stage_loss
            if self.has_valid:
                return
        stats = {"epoch": epoch, "lr": self.optimizer.param_groups[0]["lr"]}
        stats["minutes"] = round(self.training_minutes(), 2)
        valid = {"loss": stage_loss, "acc": self.hits / max(1, self.total)}
        self.hparams.train_logger.log_stats(
            stats,
            train_stats={"loss": self.train_loss},
            valid_stats=valid if self.has_valid else None,
        )
        meta = valid if self.has_valid else {"loss": self.train_loss}
        self.checkpointer.save_and_keep_only(meta=meta, num_to_keep=1)


# ---- data -------------------------------------------------------------------------------------
def _normalised(settings):
    """Settings with every number as a float (YAML and the command line differ in int/float)."""
    if isinstance(settings, dict):
        return {k: _normalised(v) for k, v in settings.items()}
    if isinstance(settings, (int, float)) and not isinstance(settings, bool):
        return float(settings)
    return settings


def load_bank(hparams, progress=True):
    """The recipe's feature bank: a prebuilt file, or built from the corpora's audio."""
    expected = feature_settings(hparams["mel"], hparams["trim_db"])
    if hparams["feature_bank"]:
        bank = FeatureBank.load(hparams["feature_bank"])
        if _normalised(bank.settings) != _normalised(expected):
            raise FeatureBankError(
                f"feature bank '{hparams['feature_bank']}' was built with other features "
                f"({bank.settings}) than this recipe's ({expected}): rebuild it with "
                "tools/build_speaker_features.py or pass the matching --n_mels/--hop_length"
            )
        missing = {"speaker", "split", "corpus"} - set(bank.meta)
        if missing:
            raise FeatureBankError(f"feature bank lacks metadata fields {sorted(missing)}")
        return bank
    folders = {
        "speechocean762": hparams["data_folder"],
        "fsdd": hparams["fsdd_folder"],
        "ljspeech": hparams["ljspeech_folder"],
    }
    manifests = prepare_speaker_corpora(
        list(hparams["utterances_per_speaker"]),
        folders,
        hparams["prepare_folder"],
        held_out_speakers=hparams["held_out_speakers"],
        ljspeech_held_out_last=hparams["ljspeech_held_out_last"],
        skip_prep=hparams["skip_prep"],
    )
    return build_speaker_bank(
        manifests,
        hparams["utterances_per_speaker"],
        hparams["mel"],
        sample_rate=hparams["sample_rate"],
        work_folder=hparams["prepare_folder"],
        trim_db=hparams["trim_db"],
        max_seconds=hparams["max_utterance_seconds"],
        seed=hparams["seed"],
        progress=progress,
    )


def training_speakers(bank, held_out_speakers):
    """Sorted speakers of the train split; refuses a bank that trains on a held-out speaker."""
    speakers = sorted(
        {s for s, split in zip(bank.meta["speaker"], bank.meta["split"]) if split == "train"}
    )
    held = {f"{SPEAKER_PREFIX['speechocean762']}{speaker_name(s)}" for s in held_out_speakers}
    leaked = sorted(held & set(speakers))
    if leaked:
        raise FeatureBankError(f"the feature bank trains on held-out speakers {leaked}")
    if not speakers:
        raise FeatureBankError("the feature bank has no utterances in its train split")
    return speakers


# ---- scoring ----------------------------------------------------------------------------------
@torch.no_grad()
def embed_bank(encoder, bank, indices, batch_size, device):
    """[len(indices), D] embeddings of whole bank utterances (eval mode)."""
    encoder.eval()
    out = torch.zeros(len(indices), encoder.embedding_dim)
    row = {index: r for r, index in enumerate(indices)}
    for batch in bank.batches(indices, batch_size):
        emb = encoder.embed_features(batch["feats"].to(device), batch["lens"].to(device))
        for r, index in enumerate(batch["index"].tolist()):
            out[row[index]] = emb[r].float().cpu()
    return out


def score_splits(encoder, bank, hparams, device):
    """Verification report of each (corpus, test / held_out split) with two or more speakers.

    Returns ``(reports, trials)``: name -> report, name -> (positive, negative) cosines.
    """
    groups = sorted(
        {(c, s) for c, s in zip(bank.meta["corpus"], bank.meta["split"]) if s in EVAL_SPLITS}
    )
    reports, trials = {}, {}
    for corpus, split in groups:
        indices = bank.indices(corpus=corpus, split=split)
        speakers = [bank.meta["speaker"][i] for i in indices]
        if len(set(speakers)) < 2 or len(indices) <= len(set(speakers)):
            logger.info(f"{corpus} {split}: too few speakers or utterances to score, skipped")
            continue
        # one utterance per call: what SpeakerEncoder.embed_many does (padding shifts scores)
        embeddings = embed_bank(encoder, bank, indices, 1, device)
        report = verification_report(
            embeddings,
            speakers,
            enrol_per_speaker=hparams["enrol_utterances"],
            draws=hparams["identification_draws"],
            seed=hparams["seed"],
        )
        report["speakers_seen_in_training"] = split != "held_out"
        reports[f"{corpus}_{split}"] = report
        trials[f"{corpus}_{split}"] = trial_scores(embeddings, speakers)
    return reports, trials


def plot_trials(trials, reports, path):
    """Histograms of same- and different-speaker cosines, one panel per scored split."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(trials), figsize=(4.5 * len(trials), 3.2), squeeze=False)
    for ax, (name, (positive, negative)) in zip(axes[0], trials.items()):
        bins = torch.linspace(-1, 1, 61).tolist()
        ax.hist(negative.tolist(), bins=bins, alpha=0.6, density=True, label="different speaker")
        ax.hist(positive.tolist(), bins=bins, alpha=0.6, density=True, label="same speaker")
        report = reports[name]
        ax.set_title(
            f"{name}: EER {100 * report['eer']:.1f}%, "
            f"identification {100 * report['identification_rate']:.0f}%",
            fontsize=9,
        )
        ax.set_xlabel("cosine")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def summarise(bank, speakers, reports, brain):
    """The JSON written as ``speaker_eval.json``."""
    train = bank.indices(split="train")
    hop = brain.hparams.hop_length / brain.hparams.sample_rate
    return {
        "splits": reports,
        "train_speakers": len(speakers),
        "train_utterances": len(train),
        "train_seconds": round(float(bank.lengths[train].sum()) * hop, 1),
        "parameters": sum(p.numel() for p in brain.modules.model.parameters()),
        "optimizer_steps": brain.optimizer_step,
        "train_minutes": round(brain.training_minutes(), 2),
        "feature_bank": brain.hparams.feature_bank,
    }


def main(argv):
    hparams_file, run_opts, overrides, hparams = load_hparams(argv)
    join_process_group(run_opts)  # under torchrun: join the process group (else nothing)
    try:
        progress = not run_opts.get("noprogressbar", False)
        bank = main_process_first(load_bank, hparams, progress=progress)  # manifests, caches
        speakers = training_speakers(bank, hparams["held_out_speakers"])
    except (DataFolderError, FeatureBankError, ValueError) as err:
        sys.exit(f"error: {err}")
    if len(speakers) != hparams["num_speakers"]:
        overrides["num_speakers"] = len(speakers)
        hparams = build_hparams(hparams_file, overrides)

    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    if if_main_process():
        with open(os.path.join(hparams["output_folder"], "speakers.json"), "w") as f:
            json.dump({name: i for i, name in enumerate(speakers)}, f, indent=1)
    index = {name: i for i, name in enumerate(speakers)}
    labels = torch.tensor([index.get(s, -1) for s in bank.meta["speaker"]])
    valid = [i for i in bank.indices(split="valid") if labels[i] >= 0]
    brain = SpeakerBrain(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    frames_per_second = hparams["sample_rate"] / hparams["hop_length"]
    crops = RandomCropBatches(
        bank,
        bank.indices(split="train"),
        labels,
        batch_size=hparams["batch_size"],
        min_frames=max(1, round(hparams["min_crop_seconds"] * frames_per_second)),
        max_frames=max(1, round(hparams["max_crop_seconds"] * frames_per_second)),
        batches_per_epoch=hparams["batches_per_epoch"],
        seed=hparams["seed"] + 1000 * process_rank(),  # torchrun: each process its own crops
        dither_db=bank.step_db or 0.0,  # a bank from a file is quantised: undo the steps
        device=brain.device,  # crops cut where the model runs (no host-to-GPU copy per step)
    )
    train_set = torch.utils.data.DataLoader(crops, batch_size=None)
    valid_set = None
    if valid:
        batches = bank.batches(valid, hparams["eval_batch_size"], labels)
        valid_set = torch.utils.data.DataLoader(batches, batch_size=None)
    brain.encoder = SpeakerEncoder(
        hparams["mel"],
        brain.modules.model,
        mean_norm=brain.modules.mean_norm,
        embedding_dim=hparams["embedding_dim"],
        min_speech_seconds=hparams["min_speech_seconds"],
        trim_db=hparams["trim_db"],
    )
    steps, epochs = hparams["batches_per_epoch"], hparams["epoch_counter"].limit
    if brain.debug:
        steps, epochs = min(steps, brain.debug_batches), brain.debug_epochs
    brain.planned_steps = steps * epochs
    brain.has_valid = valid_set is not None
    try:
        brain.fit(brain.hparams.epoch_counter, train_set, valid_set)
    except NonFiniteLossError as err:
        sys.exit(f"error: {err}")

    run_on_main(score_and_write, args=[brain, bank, speakers, hparams])


def score_and_write(brain, bank, speakers, hparams):
    """Score the embeddings, write ``speaker_eval.json`` and the histograms (main process)."""
    reports, trials = score_splits(brain.encoder, bank, hparams, brain.device)
    summary = summarise(bank, speakers, reports, brain)
    out = hparams["output_folder"]
    with open(os.path.join(out, "speaker_eval.json"), "w") as f:
        json.dump(summary, f, indent=1)
    if trials:
        plot_trials(trials, reports, os.path.join(out, "speaker_scores.png"))
    for name, report in reports.items():
        brain.hparams.train_logger.log_stats(
            {"scored": name},
            test_stats={
                k: report[k]
                for k in ("eer", "identification_rate", "same_speaker_cosine")
                + ("different_speaker_cosine", "num_speakers", "num_utterances")
            },
        )
    logger.info(f"Speaker encoder scores: {json.dumps(reports)}")
    logger.info(f"Speaker encoder ready for SpeakerEncoder.from_hparams: {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
