"""``DiffusionBrain``: what every diffusion recipe repeats, on top of ``speechbrain.Brain``.

EMA weights, bf16 autocast (SpeechBrain's ``--precision bf16``), a training-time budget and
a clear stop on a non-finite loss (``TrainingBudgetMixin``), epoch-end sampling (wav +
spectrogram PNG) and checkpoint/resume. A recipe subclasses it and implements
:meth:`DiffusionBrain.batch_inputs`.

Under ``torchrun`` (SpeechBrain's DDP) every process trains on its shard of the data and
averages gradients; the EMA is updated on the unwrapped network of each process (the same
on all of them); epoch-end samples, plots and metrics are written by the main process while
the others wait (``run_on_main``); the checkpointer saves on the main process; the logged
losses are means over the processes; and the time budget stops all processes at one step.
"""

import json
import logging
import os
import time

import speechbrain as sb
import torch
from speechbrain.utils.distributed import if_main_process, run_on_main

from audiodiff.diffusion import diffusion_loss
from audiodiff.diffusion.ema import unwrap_model
from audiodiff.diffusion.generate import sample_from_model
from audiodiff.training.budget import NonFiniteLossError, TrainingBudgetMixin  # noqa: F401
from audiodiff.training.conditioning import (
    draw_prior_labels,
    labels_from_prior,
    prior_probabilities,
)
from audiodiff.training.data_stats import sampling_data_variance
from audiodiff.training.distributed import mean_across_processes, seed_process
from audiodiff.training.samples import label_grid, labels_to_tensors, write_sample_folder

logger = logging.getLogger(__name__)


class DiffusionBrain(TrainingBudgetMixin, sb.Brain):
    """Train a denoising diffusion model on normalised spectrograms and sample from it.

    Modules (from the YAML ``modules`` dict): ``model`` (network ``model(x_t, t, **labels)``),
    ``schedule`` (:class:`audiodiff.diffusion.NoiseSchedule`), ``normalizer``
    (:class:`audiodiff.audio.SpectrogramNormalizer`), ``vocoder`` (an
    :class:`audiodiff.audio.Vocoder`) and optionally ``ema`` (:class:`audiodiff.diffusion.EMA`).

    Hparams read: ``prediction``, ``label_classes``, ``epoch_counter``, ``train_logger``,
    ``samples_folder``, ``sample_shape``, ``sampler``, ``sample_steps``, ``guidance_scale``,
    ``samples_per_label``, ``sample_every``, ``ckpt_every``, and optionally ``eta``,
    ``clip_x0``, ``max_train_minutes``, ``sample_seed``, ``label_names``, ``sample_rate``,
    ``min_snr_gamma`` (loss weighting), ``prior_labels`` and ``label_prior`` (labels drawn
    from the data prior, see :meth:`generate`),
    ``evaluation_classifier`` (a classifier folder: epoch-end samples are scored with
    :class:`audiodiff.metrics.SampleEvaluator`, see :meth:`log_sample_metrics`).

    Subclasses implement :meth:`batch_inputs`.
    """

    def batch_inputs(self, batch):
        """Return ``(features_db [B, n_mels, frames], labels dict, mask or None)``."""
        raise NotImplementedError

    # ---- training -------------------------------------------------------------------------
    def compute_forward(self, batch, stage):
        """Diffusion loss on the normalised batch (one random step t per example)."""
        features, labels, mask = self.batch_inputs(batch)
        x0 = self.encode_batch(features)
        if mask is not None:
            mask = mask.unsqueeze(1)
        return diffusion_loss(
            self.modules.model,
            x0,
            self.modules.schedule,
            prediction=self.hparams.prediction,
            cond=labels,
            mask=mask,
            min_snr_gamma=getattr(self.hparams, "min_snr_gamma", None),
        )

    def encode_batch(self, features_db):
        """Diffusion-space x0 [B, 1, ...] from the batch's features (a hook: normalised dB)."""
        return self.modules.normalizer.normalize(features_db).unsqueeze(1)

    def compute_objectives(self, predictions, batch, stage):
        """The loss is computed in :meth:`compute_forward`."""
        return predictions

    def on_fit_start(self):
        """Start the training clock, set half-written checkpoints aside and recover the last
        checkpoint (:class:`TrainingBudgetMixin`), and load the evaluation classifier when
        ``evaluation_classifier`` is set (a wrong folder stops the run here, not after the
        first epochs)."""
        super().on_fit_start()
        seed_process(getattr(self.hparams, "seed", 0))  # torchrun: a random stream per process
        self.sample_evaluator()

    def on_fit_batch_end(self, batch, outputs, loss, should_step):
        """Update the EMA weights after each optimizer step (from the network inside the DDP /
        ``--compile`` wrappers: the same update on every process)."""
        if should_step and "ema" in self.modules:
            self.modules.ema.update(self.modules.model)

    def on_stage_start(self, stage, epoch=None):
        """Start the stage's clock (the epoch's training seconds are logged)."""
        self._stage_start_time = time.time()

    def _is_last_epoch(self, epoch):
        limit = self.hparams.epoch_counter.limit
        debug_last = self.debug and epoch == self.debug_epochs
        return epoch == limit or debug_last or self._optimizer_step_limit_exceeded

    def on_stage_end(self, stage, stage_loss, epoch):
        """Log losses; at chosen epochs write samples and save a checkpoint."""
        if stage == sb.Stage.TRAIN:
            self.train_loss = mean_across_processes(stage_loss, self.device)
            self.train_seconds = time.time() - getattr(self, "_stage_start_time", time.time())
            return
        if stage != sb.Stage.VALID:
            self.hparams.train_logger.log_stats(
                {"Epoch loaded": self.hparams.epoch_counter.current},
                test_stats={"loss": stage_loss},
            )
            return
        stage_loss = mean_across_processes(stage_loss, self.device)
        last = self._is_last_epoch(epoch)
        stats = {"epoch": epoch, "lr": self.optimizer.param_groups[0]["lr"]}
        stats["minutes"] = round(self.training_minutes(), 2)
        stats["steps"] = self.optimizer_step
        stats["train_s"] = round(getattr(self, "train_seconds", 0.0), 2)
        self.hparams.train_logger.log_stats(
            stats, train_stats={"loss": self.train_loss}, valid_stats={"loss": stage_loss}
        )
        if last or epoch % self.hparams.sample_every == 0:
            run_on_main(self.write_epoch_samples, args=[epoch])  # the others wait
        due = self.time_checkpoint_due()  # (every epoch: a collective under torchrun)
        if last or epoch % self.hparams.ckpt_every == 0 or due:
            self.save_checkpoint(meta={"loss": stage_loss, "epoch": epoch}, num_to_keep=2)

    # ---- sampling -------------------------------------------------------------------------
    def sampling_model(self):
        """The EMA network when there is one, else the trained one (unwrapped: sampling runs
        on the main process alone, where DDP's forward would wait for the others)."""
        if "ema" in self.modules:
            return self.modules.ema.averaged
        return unwrap_model(self.modules.model)

    def decode_samples(self, x0):
        """dB spectrograms [n, n_mels, frames] from sampled x0 [n, *sample_shape] (a hook)."""
        return self.modules.normalizer.denormalize(x0.squeeze(1))

    @torch.no_grad()
    def generate(self, grid, *, sampler=None, steps=None, guidance_scale=None, seed=None):
        """Sample one spectrogram + waveform per entry of ``grid`` (a list of label dicts).

        Labels of ``prior_labels`` that ``grid`` does not give are drawn from ``label_prior``
        (the training split's frequencies; uniform when absent), seeded like the noise.

        Returns
        -------
        (mel_db [n, n_mels, frames], wav [n, samples])
        """
        hp = self.hparams
        device = self.modules.schedule.alpha_bar.device
        generator = torch.Generator(device=device).manual_seed(
            getattr(hp, "sample_seed", 0) if seed is None else seed
        )
        autocast = torch.bfloat16 if self.eval_precision == "bf16" else None
        priors = prior_probabilities(hp, getattr(hp, "label_prior", None))
        if priors:
            draws = torch.Generator().manual_seed(generator.initial_seed())
            grid = draw_prior_labels(grid, priors, generator=draws)
        was_training = self.modules.training
        self.modules.eval()
        x0 = sample_from_model(
            self.sampling_model(),
            self.modules.schedule,
            (len(grid), *hp.sample_shape),
            prediction=hp.prediction,
            labels=labels_to_tensors(grid, device=device),
            sampler=sampler or hp.sampler,
            steps=steps or hp.sample_steps,
            guidance_scale=hp.guidance_scale if guidance_scale is None else guidance_scale,
            eta=getattr(hp, "eta", 0.0),
            clip_x0=getattr(hp, "clip_x0", None),
            generator=generator,
            autocast_dtype=autocast,
            data_variance=sampling_data_variance(
                getattr(hp, "sample_data_variance", None), getattr(hp, "data_stats", None)
            ),
        )
        mel_db, wav = self.samples_to_audio(x0)
        self.modules.train(was_training)
        return mel_db, wav

    def samples_to_audio(self, x0):
        """``(mel_db [n, n_mels, frames], wav [n, samples])`` from sampled x0 (a hook)."""
        mel_db = self.decode_samples(x0)
        return mel_db, self.modules.vocoder(mel_db)

    def write_epoch_samples(self, epoch):
        """Write ``samples_folder/<epoch>/wav/*.wav`` and ``spectrograms.png``."""
        hp = self.hparams
        per_label = hp.samples_per_label
        asked = {k: v for k, v in hp.label_classes.items() if k not in labels_from_prior(hp)}
        if self.debug:  # a few samples: one per label combination, two unconditional
            per_label = 1 if asked else 2
        grid = label_grid(asked, per_label)
        mel_db, wav = self.generate(grid)
        folder = os.path.join(hp.samples_folder, str(epoch))
        write_sample_folder(
            folder, wav, mel_db, grid, hp.sample_rate, label_names=getattr(hp, "label_names", None)
        )
        logger.info(f"Wrote {len(grid)} samples to {folder}")
        self.log_sample_metrics(folder, epoch)

    # ---- sample metrics ---------------------------------------------------------------------
    def sample_evaluator(self):
        """The :class:`audiodiff.metrics.SampleEvaluator` of ``evaluation_classifier``, loaded
        once; None when that hparam is null or absent, in ``--debug``, or on a process other
        than the main one (under ``torchrun`` only the main process writes and scores samples).

        Exits with one clear line (``SystemExit``) when the folder is not a trained classifier.
        """
        folder = getattr(getattr(self, "hparams", None), "evaluation_classifier", None)
        if folder is None or self.debug or not if_main_process():  # only the main one scores
            return None
        if getattr(self, "_sample_evaluator", None) is None:
            # imported here: the evaluator reads sample names from audiodiff.training.samples
            from audiodiff.metrics import EvaluationError, SampleEvaluator

            try:
                evaluator = SampleEvaluator.from_experiment(folder, device=self.device)
                evaluator.reference()  # computed once now, not in the first epoch's budget
            except EvaluationError as err:
                raise SystemExit(f"error: evaluation_classifier: {err}") from None
            self._sample_evaluator = evaluator
        return self._sample_evaluator

    def log_sample_metrics(self, folder, epoch):
        """Score the samples just written to ``folder`` with the evaluation classifier.

        Active when ``evaluation_classifier`` is set and not in ``--debug``: logs the scalar
        metrics (accuracies, IS, mIS, AM, FID, NDB/K) with ``train_logger`` and writes all of
        them to ``folder/metrics.json``.

        Returns
        -------
        dict or None
            The metrics, or None when inactive.
        """
        evaluator = self.sample_evaluator()
        if evaluator is None:
            return None
        from audiodiff.metrics.evaluator import SCALAR_METRICS

        metrics = evaluator.evaluate_folder(folder)
        with open(os.path.join(folder, "metrics.json"), "w") as f:
            json.dump(metrics, f, indent=1)
        scalars = {k: metrics[k] for k in SCALAR_METRICS if metrics.get(k) is not None}
        self.hparams.train_logger.log_stats(
            {"samples of epoch": epoch, "num_samples": metrics["num_samples"], **scalars}
        )
        return metrics
