"""``WaveformDiffusionBrain``: :class:`DiffusionBrain` for raw waveforms (DiffWave, SaShiMi).

The network sees [batch, 1, samples] waveforms directly: no normaliser, no vocoder. Epoch-end
samples go through the base class's ``write_epoch_samples`` (wavs, a PNG of their mel
spectrograms, labels.json, then ``log_sample_metrics``).
"""

from audiodiff.audio import MelSpectrogram, amplitude_to_db
from audiodiff.training.brain import DiffusionBrain


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
    >>> import torch
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

    def encode_batch(self, wav):
        """x0 [B, 1, samples]: the waveforms themselves."""
        return wav.unsqueeze(1)

    def samples_to_audio(self, x0):
        """``(mel_db [n, n_mels, frames]`` for the plots, ``wav [n, samples])`` from x0."""
        wav = x0.reshape(len(x0), -1)
        mel = getattr(self.hparams, "mel", None)
        return waveform_mel_db(wav, mel, self.hparams.sample_rate), wav
