#!/usr/bin/env python3
"""Recipe: a small CTC character recogniser on speechocean762 (the TTS intelligibility measure).

Trains ``audiodiff.nets.CTCRecognizer`` (conv front-end + BiGRU) with CTC on the dB log-mels
of the TTS recipes' 16 kHz front-end (per-utterance normalised, SpecAugment), on the training
speakers of speechocean762 (its five held-out adults never), then writes ``cer.json``: greedy
CER / WER on the test utterances of the training speakers, on every utterance of the
held-out speakers, and on the held-out audio after a Griffin-Lim round trip through the
front-end. The output folder is what ``audiodiff.inference.Recognizer.from_hparams`` loads.

Usage
-----
python train.py hparams/ctc.yaml                                          # bundled mini copy
python train.py hparams/ctc.yaml --data_folder /path/to/speechocean762 --max_train_minutes 24
python train.py hparams/ctc.yaml --debug                                  # a few batches
"""

import json
import logging
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import speechbrain as sb
import torch
from speechbrain.utils.distributed import run_on_main

from audiodiff.audio import read_audio
from audiodiff.data import (
    BUNDLED_SPEECHOCEAN762,
    DataFolderError,
    compute_mel_sequences,
    prepare_speechocean762,
    read_manifest,
    write_manifest,
)
from audiodiff.diffusion.ema import unwrap_model
from audiodiff.inference import Recognizer
from audiodiff.inference.recognizer import pad_features
from audiodiff.metrics import error_rates
from audiodiff.nets import spec_augment
from audiodiff.nets.tokenizers import TokenizationError
from audiodiff.training import NonFiniteLossError, TrainingBudgetMixin
from audiodiff.training.distributed import main_process_first
from audiodiff.training.hparams import build_hparams, load_hparams
from audiodiff.training.lr_schedule import training_progress, warmup_cosine
from audiodiff.training.tts import BucketBatchSampler

logger = logging.getLogger(__name__)

DEBUG_UTTERANCES = 24  # --debug: utterances kept per split (features in seconds)
SCORED_SPLITS = ("test", "held_out")


class ASRBrain(TrainingBudgetMixin, sb.Brain):
    """CTC training of ``modules.model`` through ``self.recognizer`` (a :class:`Recognizer`
    over it: normalisation, output lengths, greedy decoding). Set before ``fit``:
    ``recognizer`` and ``planned_steps`` (for the lr schedule)."""

    def on_fit_start(self):
        """SpeechBrain's start (optimizer, recovery); the recogniser then runs the model as
        SpeechBrain wraps it."""
        super().on_fit_start()
        self.recognizer.model = self.modules.model

    def compute_forward(self, batch, stage):
        """dB mels -> (SpecAugment when training) -> (log-probs [B, T', V], lengths [B])."""
        feats = batch["mel_db"].to(self.device)
        lengths = batch["lengths"].to(self.device)
        augment = self.augment if stage == sb.Stage.TRAIN else None
        return self.recognizer(feats, lengths, augment)

    def augment(self, x):
        hp = self.hparams
        return spec_augment(
            x,
            num_freq_masks=hp.num_freq_masks,
            freq_mask_width=hp.freq_mask_width,
            num_time_masks=hp.num_time_masks,
            time_mask_width=hp.time_mask_width,
            mask_value=0.0,
        )

    def compute_objectives(self, predictions, batch, stage):
        """CTC loss; outside training, greedy transcripts for the CER / WER."""
        log_probs, out_lengths = predictions
        tokens = batch["tokens"].to(self.device)
        token_lengths = batch["token_lengths"].to(self.device)
        loss = self.hparams.compute_cost(log_probs, tokens, out_lengths, token_lengths)
        if stage != sb.Stage.TRAIN:
            self.hyps += self.recognizer.decode(log_probs.detach().float().cpu(), out_lengths.cpu())
            self.refs += batch["text"]
        return loss

    def on_fit_batch_start(self, batch, should_step):
        """Warm-up + cosine learning rate, following the planned steps or the clock."""
        hp = self.hparams
        progress = training_progress(
            self.optimizer_step, self.planned_steps, self.training_minutes(), hp.max_train_minutes
        )
        for group in self.optimizer.param_groups:
            group["lr"] = hp.lr * warmup_cosine(progress, hp.warmup_fraction)

    def on_stage_start(self, stage, epoch=None):
        self.hyps, self.refs = [], []

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Log the losses and the validation CER / WER; keep the newest checkpoint."""
        if stage == sb.Stage.TRAIN:
            self.train_loss = stage_loss
            return
        rates = error_rates(self.hyps, self.refs)
        stats = {
            "epoch": epoch,
            "steps": self.optimizer_step,
            "lr": round(self.optimizer.param_groups[0]["lr"], 6),
            "minutes": round(self.training_minutes(), 2),
        }
        valid = {"loss": stage_loss, "cer": rates["cer"], "wer": rates["wer"]}
        self.hparams.train_logger.log_stats(
            stats, train_stats={"loss": self.train_loss}, valid_stats=valid
        )
        logger.info(f"epoch {epoch}: e.g. '{self.hyps[0]}' for '{self.refs[0]}'")
        self.save_checkpoint(meta=valid, num_to_keep=1)


# ---- data -------------------------------------------------------------------------------------
def prepare(hparams, debug):
    """Manifests of every split (``DEBUG_UTTERANCES`` per split with --debug): name -> path."""
    data_folder = hparams["data_folder"] or BUNDLED_SPEECHOCEAN762
    paths = prepare_speechocean762(
        data_folder,
        hparams["prepare_folder"],
        held_out_speakers=hparams["held_out_speakers"],
        valid_per_speaker=hparams["valid_per_speaker"],
        test_per_speaker=hparams["test_per_speaker"],
        seed=hparams["seed"],
        skip_prep=hparams["skip_prep"],
    )
    if debug:
        for split in ("train", "valid", "test", "held_out"):
            entries = dict(list(read_manifest(paths[split]).items())[:DEBUG_UTTERANCES])
            paths[split] = os.path.join(hparams["prepare_folder"], f"debug_{split}.json")
            write_manifest(paths[split], entries)
    return paths


def ctc_frames_needed(tokens):
    """Output frames a CTC path needs: one per token, plus a blank between repeats.

    Example
    -------
    >>> ctc_frames_needed(torch.tensor([3, 14, 14, 1]))
    5
    """
    return len(tokens) + int((tokens[1:] == tokens[:-1]).sum())


def load_items(manifest_path, hparams, progress):
    """Cached dB mel features of a manifest as items: ``id``, ``mel_db`` [n_mels, frames],
    ``tokens``, ``text``; utterances a CTC path cannot fit (too short for their text) are
    dropped with one warning."""
    manifest = read_manifest(manifest_path)
    name = os.path.splitext(os.path.basename(manifest_path))[0]
    feats = compute_mel_sequences(
        manifest_path,
        hparams["mel"],
        sample_rate=hparams["sample_rate"],
        cache_path=os.path.join(hparams["prepare_folder"], f"features_{name}.pt"),
        progress=progress,
    )
    vocabulary, model = hparams["vocabulary"], hparams["model"]
    items, too_short = [], []
    for utt_id, mel_db in zip(feats["ids"], feats["mel_db"]):
        tokens = vocabulary.encode(manifest[utt_id]["text"])
        if model.output_frames(mel_db.shape[-1]) < ctc_frames_needed(tokens):
            too_short.append(utt_id)
            continue
        item = {"id": utt_id, "mel_db": mel_db, "tokens": tokens}
        items.append({**item, "text": manifest[utt_id]["text"]})
    if too_short:
        logger.warning(
            f"{name}: {len(too_short)} utterances too short for their text, dropped "
            f"(e.g. {too_short[0]})"
        )
    return items


def collate(items):
    """Bucketed items -> ``mel_db`` [B, n_mels, T] (dB floor padding), ``lengths``,
    ``tokens`` [B, L] (0 padding), ``token_lengths`` (relative), ``text``, ``id``."""
    mel_db, lengths = pad_features([i["mel_db"] for i in items])
    longest = max(len(i["tokens"]) for i in items)
    tokens = torch.zeros(len(items), longest, dtype=torch.long)
    for row, item in enumerate(items):
        tokens[row, : len(item["tokens"])] = item["tokens"]
    return {
        "mel_db": mel_db,
        "lengths": lengths,
        "tokens": tokens,
        "token_lengths": torch.tensor([len(i["tokens"]) / longest for i in items]),
        "text": [i["text"] for i in items],
        "id": [i["id"] for i in items],
    }


def sorted_batches(items, batch_size):
    """Batches of indices in length order (evaluation: least padding)."""
    order = sorted(range(len(items)), key=lambda i: items[i]["mel_db"].shape[-1])
    return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]


# ---- scoring ----------------------------------------------------------------------------------
def score(recognizer, hparams, manifests):
    """CER / WER from the audio files through :class:`Recognizer` (what users call) of the
    test split and the held-out speakers (+ their Griffin-Lim round trip): (rates, transcripts).
    """
    recognizer.eval()
    results, transcripts = {}, {}
    runs = [(split, split, False) for split in SCORED_SPLITS]
    if hparams["score_griffin_lim"]:
        runs.append(("held_out_griffin_lim", "held_out", True))
    for name, split, round_trip in runs:
        manifest = read_manifest(manifests[split])
        if not manifest:
            logger.info(f"{split}: no utterances, not scored")
            continue
        ids = sorted(manifest)
        wavs = [read_audio(manifest[u]["wav"], recognizer.sample_rate)[0] for u in ids]
        if round_trip:
            wavs = [griffin_lim_round_trip(recognizer, hparams["griffin_lim"], w) for w in wavs]
        texts = [manifest[u]["text"] for u in ids]
        rates = recognizer.error_rates(wavs, texts, recognizer.sample_rate)
        hyps = rates.pop("hypotheses")
        rates["speakers"] = len({manifest[u]["speaker"] for u in ids})
        rates["speakers_seen_in_training"] = split != "held_out"
        results[name] = rates
        transcripts[name] = {u: {"ref": t, "hyp": h} for u, t, h in zip(ids, texts, hyps)}
    return results, transcripts


@torch.no_grad()
def griffin_lim_round_trip(recognizer, vocoder, wav):
    """wav -> the front-end's dB mel -> Griffin-Lim -> wav (as a mel-domain TTS outputs)."""
    return vocoder(recognizer.features(wav)[None])[0][: wav.numel()]


def score_and_write(brain, hparams, manifests, sizes):
    """Write ``cer.json`` (rates and training facts) and ``transcripts.json``."""
    results, transcripts = score(brain.recognizer, hparams, manifests)
    summary = {
        "splits": results,
        "parameters": sum(p.numel() for p in brain.recognizer.model.parameters()),
        "optimizer_steps": brain.optimizer_step,
        "train_minutes": round(brain.training_minutes(), 2),
        "epochs": brain.hparams.epoch_counter.current,
        "decoding": "greedy CTC, characters",
        **sizes,
    }
    out = hparams["output_folder"]
    with open(os.path.join(out, "cer.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    with open(os.path.join(out, "transcripts.json"), "w", encoding="utf-8") as f:
        json.dump(transcripts, f, indent=1)
    for name, rates in results.items():
        brain.hparams.train_logger.log_stats(
            {"scored": name},
            test_stats={k: rates[k] for k in ("cer", "wer", "n", "speakers")},
        )
    logger.info(f"Recogniser scores: {json.dumps(results)}")
    logger.info(f"Recogniser ready for Recognizer.from_hparams: {out}")


def main(argv):
    hparams_file, run_opts, overrides, hparams = load_hparams(argv)
    debug = bool(run_opts.get("debug"))
    if len(hparams["vocabulary"]) != hparams["vocab_size"]:
        overrides["vocab_size"] = len(hparams["vocabulary"])
        hparams = build_hparams(hparams_file, overrides)
    progress = not run_opts.get("noprogressbar", False)
    try:
        manifests = main_process_first(prepare, hparams, debug)
        train = main_process_first(load_items, manifests["train"], hparams, progress)
        valid = main_process_first(load_items, manifests["valid"], hparams, progress)
    except (DataFolderError, TokenizationError, ValueError) as err:
        sys.exit(f"error: {err}")
    if not train or not valid:
        sys.exit("error: no usable training or validation utterances (see the warnings above)")

    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    brain = ASRBrain(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    brain.recognizer = Recognizer(
        hparams["mel"],
        brain.modules.model,
        hparams["vocabulary"],
        input_norm=hparams["input_norm"],
        range_db=hparams["range_db"],
        batch_size=hparams["eval_batch_size"],
    ).to(brain.device)
    sampler = BucketBatchSampler(
        [i["mel_db"].shape[-1] for i in train],
        hparams["batch_size"],
        drop_last=True,
        seed=hparams["seed"],
    )
    brain.train_sampler = sampler  # SpeechBrain calls its set_epoch: resumes keep the order
    train_set = torch.utils.data.DataLoader(train, batch_sampler=sampler, collate_fn=collate)
    valid_set = torch.utils.data.DataLoader(
        valid, batch_sampler=sorted_batches(valid, hparams["eval_batch_size"]), collate_fn=collate
    )
    steps, epochs = len(sampler), hparams["epoch_counter"].limit
    if brain.debug:
        steps, epochs = min(steps, brain.debug_batches), brain.debug_epochs
    brain.planned_steps = steps * epochs
    try:
        brain.fit(brain.hparams.epoch_counter, train_set, valid_set)
    except NonFiniteLossError as err:
        sys.exit(f"error: {err}")
    finally:
        brain.recognizer.model = unwrap_model(brain.modules.model)  # scoring: the plain network

    frames = sum(i["mel_db"].shape[-1] for i in train)
    speaker = {u: e["speaker"] for u, e in read_manifest(manifests["train"]).items()}
    sizes = {
        "train_utterances": len(train),
        "train_hours": round(frames * hparams["hop_length"] / hparams["sample_rate"] / 3600, 3),
        "train_speakers": len({speaker[i["id"]] for i in train}),
        "data_folder": os.path.abspath(hparams["data_folder"] or BUNDLED_SPEECHOCEAN762),
        "held_out_speakers": list(hparams["held_out_speakers"]),
    }
    run_on_main(score_and_write, args=[brain, hparams, manifests, sizes])


if __name__ == "__main__":
    main(sys.argv[1:])
