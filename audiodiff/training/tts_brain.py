"""``TTSBrain``: diffusion TTS / voice conversion on top of :class:`DiffusionBrain` (EMA, bf16,
time budget, NaN stop, checkpoints), with the route losses of ``audiodiff.training.tts`` and
epoch-end samples named by text and speaker."""

import logging
import os

import torch
from speechbrain.utils.distributed import is_distributed_initialized

from audiodiff.training.brain import DiffusionBrain
from audiodiff.training.samples import write_tts_samples
from audiodiff.training.tts import synthesize_batch, tts_losses

logger = logging.getLogger(__name__)


class TTSBrain(DiffusionBrain):
    """Train an ``audiodiff.nets.DiffusionTTS`` (module ``model``) and sample it at epoch ends.

    Hparams read besides :class:`DiffusionBrain`'s: ``loss_weights`` (loss name -> weight,
    see ``audiodiff.training.tts.LOSS_NAMES``; a missing name weighs 1), ``n_mels``,
    ``length_scale``, ``max_frames``, ``speaker_guidance_scale``, ``sample_requests`` (a
    ``collate_tts`` batch plus ``infos``, one dict per request with at least ``text`` and
    ``speaker``; set by the recipe) and ``sample_rate``.
    """

    def on_fit_start(self):
        """Stop with one line under ``torchrun``: not supported yet (see below)."""
        if is_distributed_initialized():
            # tts_losses calls DiffusionTTS's methods (speaker_vector, encode_text, ...) on
            # the module itself: through SpeechBrain's DDP wrapper they do not exist, and
            # outside DDP's forward the gradients would not be averaged between processes.
            raise SystemExit(
                "error: the TTS recipe does not train under torchrun (DDP) yet: its losses "
                "call the model's methods outside DDP's forward; train it in one process"
            )
        super().on_fit_start()

    def compute_forward(self, batch, stage):
        """Weighted sum of the route's losses; the parts are averaged for the log."""
        hp = self.hparams
        losses = tts_losses(
            self.modules.model,
            batch,
            normalizer=self.modules.normalizer,
            schedule=self.modules.schedule,
            prediction=hp.prediction,
            adversarial=hp.loss_weights.get("adversarial", 0.0) > 0,
        )
        weights = hp.loss_weights
        total = sum(weights.get(name, 1.0) * value for name, value in losses.items())
        parts = self._loss_parts.setdefault(stage, {})
        for name, value in losses.items():  # summed on the device: no host sync per step
            sums = parts.setdefault(name, [0.0, 0])
            sums[0] = sums[0] + value.detach().float()
            sums[1] += 1
        return total

    def on_stage_start(self, stage, epoch=None):
        """Reset the per-loss averages (and start DiffusionBrain's stage clock)."""
        super().on_stage_start(stage, epoch)
        if not hasattr(self, "_loss_parts"):
            self._loss_parts = {}
        self._loss_parts[stage] = {}

    def loss_parts(self, stage):
        """Mean of each loss over the stage so far (name -> float)."""
        parts = getattr(self, "_loss_parts", {}).get(stage, {})
        return {name: round(float(s) / max(n, 1), 5) for name, (s, n) in parts.items()}

    def on_stage_end(self, stage, stage_loss, epoch):
        """DiffusionBrain's logging, samples and checkpoints, plus one line of loss parts."""
        import speechbrain as sb

        if stage == sb.Stage.VALID:
            self.hparams.train_logger.log_stats(
                {"epoch": epoch, "steps": self.optimizer_step, "losses": "parts"},
                train_stats=self.loss_parts(sb.Stage.TRAIN),
                valid_stats=self.loss_parts(sb.Stage.VALID),
            )
        super().on_stage_end(stage, stage_loss, epoch)

    @torch.no_grad()
    def synthesize(self, batch, guidance_scale=None, speaker_guidance_scale=None, seed=None):
        """(mel_db list, wav list) for a batch of requests, with the recipe's sampler."""
        hp = self.hparams
        device = self.modules.schedule.alpha_bar.device
        generator = torch.Generator(device=device).manual_seed(
            getattr(hp, "sample_seed", 0) if seed is None else seed
        )
        was_training = self.modules.training
        self.modules.eval()
        try:
            return synthesize_batch(
                self.sampling_model(),
                batch,
                normalizer=self.modules.normalizer,
                schedule=self.modules.schedule,
                vocoder=self.modules.vocoder,
                n_mels=hp.n_mels,
                length_scale=getattr(hp, "length_scale", 1.0),
                max_frames=hp.max_frames,
                prediction=hp.prediction,
                sampler=hp.sampler,
                steps=hp.sample_steps,
                guidance_scale=hp.guidance_scale if guidance_scale is None else guidance_scale,
                speaker_guidance_scale=(
                    hp.speaker_guidance_scale
                    if speaker_guidance_scale is None
                    else speaker_guidance_scale
                ),
                eta=getattr(hp, "eta", 0.0),
                clip_x0=getattr(hp, "clip_x0", None),
                generator=generator,
                autocast_dtype=torch.bfloat16 if self.eval_precision == "bf16" else None,
            )
        finally:
            self.modules.train(was_training)

    def write_epoch_samples(self, epoch):
        """Synthesise ``sample_requests`` into ``samples_folder/<epoch>/`` (wav + PNG)."""
        hp = self.hparams
        requests = hp.sample_requests
        mel_db, wavs = self.synthesize(requests["batch"])
        folder = os.path.join(hp.samples_folder, str(epoch))
        write_tts_samples(folder, wavs, mel_db, requests["infos"], hp.sample_rate)
        logger.info(f"Wrote {len(wavs)} samples to {folder}")
