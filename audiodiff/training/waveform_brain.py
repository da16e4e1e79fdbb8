"""``WaveformDiffusionBrain``: :class:`DiffusionBrain` for raw waveforms (DiffWave, SaShiMi).

The network sees [batch, 1, samples] waveforms directly: no normaliser, no vocoder. Epoch-end
samples go through the base class's ``write_epoch_samples`` (wavs, a PNG of their mel
spectrograms, labels.json, then ``log_sample_metrics``).
"""

import torch

from audiodiff.audio import MelSpectrogram, amplitude_to_db
from audiodiff.diffusion import diffusion_loss
from audiodiff.diffusion.generate import sample_from_model
from audiodiff.training.brain import DiffusionBrain
from audiodiff.training.samples import labels_to_tensors


def waveform_mel_db(wav, mel=None, sample_rate=16000):
    """dB mel spectrogram of waveforms, for plots of generated audio.

    Arguments
    ---------
    wav : torch.Tensor
        [n, samples] waveforms.
    mel : torch.nn.Module, optional
        Mel transform (default: ``MelSpectrogram(sample_rate)``).
    sample_rate : int
        Sample rate of ``wav`` (used by the default transform).

    Returns
    -------
    torch.Tensor
        [n, n_mels, frames] float32, on ``wav``'s device.

    Example
    -------
    >>> waveform_mel_db(torch.zeros(2, 16000)).shape
    torch.Size([2, 80, 63])
    """
    mel = mel if mel is not None else MelSpectrogram(sample_rate=sample_rate)
    return amplitude_to_db(mel.to(wav.device)(wav.float()))


class WaveformDiffusionBrain(DiffusionBrain):
    """Train a waveform denoiser ``model(x_t [B, 1, T], t, **labels)`` and sample from it.

    Modules: ``model``, ``schedule`` and optionally ``ema``. Hparams read, besides those of
    :class:`DiffusionBrain` (except ``normalizer`` / ``vocoder``): ``sample_shape`` =
    ``[1, samples]``, ``sample_rate`` and optionally ``mel`` (the transform of the PNG plots).

    Subclasses implement :meth:`batch_inputs` returning ``(wav [B, samples], labels, None)``.
    """

    def compute_forward(self, batch, stage):
        """Diffusion loss on the waveforms (one random step t per example)."""
        wav, labels, mask = self.batch_inputs(batch)
        x0 = wav.unsqueeze(1)
        if mask is not None:
            mask = mask.unsqueeze(1)
        return diffusion_loss(
            self.modules.model,
            x0,
            self.modules.schedule,
            prediction=self.hparams.prediction,
            cond=labels,
            mask=mask,
        )

    def on_fit_batch_end(self, batch, outputs, loss, should_step):
        """Update the EMA weights from the network (unwrapping a ``--compile``d one)."""
        if should_step and "ema" in self.modules:
            self.modules.ema.update(getattr(self.modules.model, "_orig_mod", self.modules.model))

    @torch.no_grad()
    def generate(self, grid, *, sampler=None, steps=None, guidance_scale=None, seed=None):
        """Sample one waveform per entry of ``grid`` (a list of label dicts).

        Returns
        -------
        (mel_db [n, n_mels, frames] for the plots, wav [n, samples])
        """
        hp = self.hparams
        device = self.modules.schedule.alpha_bar.device
        generator = torch.Generator(device=device).manual_seed(
            getattr(hp, "sample_seed", 0) if seed is None else seed
        )
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
            autocast_dtype=torch.bfloat16 if self.eval_precision == "bf16" else None,
        )
        self.modules.train(was_training)
        wav = x0.reshape(len(grid), -1)
        return waveform_mel_db(wav, getattr(hp, "mel", None), hp.sample_rate), wav
