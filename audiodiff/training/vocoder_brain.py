"""``VocoderBrain``: :class:`DiffusionBrain` for mel-conditioned waveform diffusion (vocoders).

The loss is the shared ``diffusion_loss`` with the recipe's noise prior conditioned on each
crop's dB mel (DiffWave: N(0, I); PriorGrad: per-frame std; SpecGrad: filtered noise); the
epoch-end samples vocode a few held-back utterances, write them beside their references with
a PNG (real vs vocoded mels) and log MR-STFT, mel L1 and log-spectral distance.
"""

import json
import logging
import os

import torch

from audiodiff.audio import amplitude_to_db, plot_spectrograms, write_audio
from audiodiff.diffusion import diffusion_loss
from audiodiff.training.brain import DiffusionBrain
from audiodiff.training.vocoding import conditioning_mel, prior_parameterized, vocode_mel

logger = logging.getLogger(__name__)


class VocoderBrain(DiffusionBrain):
    """Train ``model(x_t [B, 1, samples], t, mel=[B, n_mels, frames])`` on random crops.

    Modules: ``model``, ``schedule``, ``prior`` (a noise prior of
    ``audiodiff.diffusion.priors``, fitted before training) and optionally ``ema``. Hparams
    read, besides :class:`DiffusionBrain`'s: ``hop_length``, ``sample_rate``, ``mel`` (the
    transform, for metrics and plots), ``mel_offset_db``, ``mel_scale_db``, ``sampler``,
    ``sample_steps``, ``fast_schedule``, ``prior_precondition`` (optional: the network in
    the prior's whitened domain, ``audiodiff.diffusion.whitened_model``) and ``eval_clips``
    (a list of ``(id, wav, mel_db)``, set by the recipe, vocoded at epoch ends).

    Batches are dicts with ``wav`` [B, F * hop] and ``mel_db`` [B, n_mels, F]
    (``audiodiff.data.RandomSegments``).
    """

    def compute_forward(self, batch, stage):
        """The prior-weighted denoising loss of one batch of aligned crops."""
        hp = self.hparams
        wav = batch["wav"].to(self.device)
        mel_db = batch["mel_db"].to(self.device)
        noise = self.modules.prior.condition(mel_db)
        precondition = getattr(hp, "prior_precondition", False)
        return diffusion_loss(
            prior_parameterized(self.modules.model, noise, hp.prediction, precondition),
            wav.unsqueeze(1),
            self.modules.schedule,
            prediction=hp.prediction,
            cond={"mel": conditioning_mel(mel_db, hp.mel_offset_db, hp.mel_scale_db)},
            prior=noise,
        )

    @torch.no_grad()
    def vocode(self, mel_db, *, sampler=None, steps=None, seed=None):
        """Waveforms [n, frames * hop] for dB mels [n, n_mels, frames] (EMA weights)."""
        hp = self.hparams
        device = self.modules.schedule.alpha_bar.device
        generator = torch.Generator(device=device).manual_seed(
            getattr(hp, "sample_seed", 0) if seed is None else seed
        )
        was_training = self.modules.training
        self.modules.eval()
        wav = vocode_mel(
            self.sampling_model(),
            self.modules.schedule,
            self.modules.prior,
            mel_db,
            hop_length=hp.hop_length,
            mel_offset_db=hp.mel_offset_db,
            mel_scale_db=hp.mel_scale_db,
            sampler=sampler or hp.sampler,
            steps=steps if steps is not None else hp.sample_steps,
            fast_schedule=hp.fast_schedule,
            prediction=hp.prediction,
            precondition=getattr(hp, "prior_precondition", False),
            generator=generator,
            autocast_dtype=torch.bfloat16 if self.eval_precision == "bf16" else None,
        )
        self.modules.train(was_training)
        return wav

    def write_epoch_samples(self, epoch):
        """Vocode ``eval_clips``: ``samples_folder/<epoch>/wav/ID.wav``, ``spectrograms.png``
        (each clip's real and vocoded mel), ``metrics.json`` (MR-STFT, mel L1, LSD), logged."""
        from audiodiff.metrics.vocoder import vocoder_metrics

        hp = self.hparams
        clips = getattr(hp, "eval_clips", None) or []
        if not clips:
            return None
        folder = os.path.join(hp.samples_folder, str(epoch))
        reference = os.path.join(hp.samples_folder, "reference", "wav")
        specs, titles, scores = [], [], []
        mel = hp.mel.to(self.device)
        for utt_id, wav, mel_db in clips:
            out = self.vocode(mel_db[None])[0, : wav.shape[-1]].cpu()
            write_audio(os.path.join(folder, "wav", f"{utt_id}.wav"), out, hp.sample_rate)
            ref_path = os.path.join(reference, f"{utt_id}.wav")
            if not os.path.exists(ref_path):
                write_audio(ref_path, wav, hp.sample_rate)
            metrics = vocoder_metrics(wav, out, hp.sample_rate, with_pesq=False, with_stoi=False)
            scores.append(metrics)
            specs += [mel_db, amplitude_to_db(mel(out.to(self.device)))[0]]
            titles += [f"{utt_id} real", f"{utt_id} vocoded"]
        plot_spectrograms(
            [s.cpu() for s in specs],
            os.path.join(folder, "spectrograms.png"),
            titles,
            ncols=2,
            vmin=-80.0,
            vmax=10.0,
        )
        means = {k: sum(s[k] for s in scores) / len(scores) for k in scores[0]}
        with open(os.path.join(folder, "metrics.json"), "w") as f:
            json.dump({"epoch": epoch, "mean": means, "per_clip": scores}, f, indent=1)
        self.hparams.train_logger.log_stats(
            {"vocoded clips of epoch": epoch, "num_clips": len(clips)},
            valid_stats={k: round(v, 4) for k, v in means.items()},
        )
        logger.info(f"Vocoded {len(clips)} clips to {folder}")
        return means
