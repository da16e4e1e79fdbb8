"""Vocoders: dB mel spectrogram [batch, n_mels, frames] -> waveform [batch, samples].

``Vocoder`` is the interface every inversion lobe follows (Griffin-Lim here; trained neural
vocoders elsewhere), so generators and recipes can swap them from YAML.
"""

import torch
import torchaudio
from torch import nn

from audiodiff.audio.mel import db_to_amplitude, mel_filterbank


class Vocoder(nn.Module):
    """Base class of vocoders: ``forward(mel_db) -> wav``.

    Subclasses set ``sample_rate`` and ``hop_length`` and implement ``forward``. The input is a
    dB mel spectrogram as produced by ``amplitude_to_db(MelSpectrogram(...)(wav))``.

    Arguments
    ---------
    sample_rate : int
        Output sample rate in Hz.
    hop_length : int
        Samples per mel frame; output length is ``frames * hop_length``.

    Example
    -------
    >>> class Silence(Vocoder):
    ...     def forward(self, mel_db):
    ...         return mel_db.new_zeros(mel_db.shape[0], mel_db.shape[-1] * self.hop_length)
    >>> Silence(16000, 256)(torch.zeros(2, 80, 10)).shape
    torch.Size([2, 2560])
    """

    def __init__(self, sample_rate, hop_length):
        super().__init__()
        self.sample_rate = sample_rate
        self.hop_length = hop_length

    def forward(self, mel_db):
        """Synthesises a waveform.

        Arguments
        ---------
        mel_db : torch.Tensor
            [batch, n_mels, frames] dB mel spectrogram.

        Returns
        -------
        torch.Tensor
            [batch, frames * hop_length] waveform.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement forward(mel_db)")


class GriffinLimVocoder(Vocoder):
    """Griffin-Lim inversion of a dB mel spectrogram (no weights).

    Steps: dB -> mel amplitude; mel -> linear magnitude by non-negative least squares against
    the same ``mel_filterbank`` as ``MelSpectrogram`` (start from the clamped pseudo-inverse,
    then ``nnls_iter`` projected-gradient steps with step ``1 / ||fbank||_2^2``); then
    ``torchaudio.functional.griffinlim`` (fast Griffin-Lim with ``momentum``) with the same
    STFT settings. Batched; runs on the device of the input.

    Arguments
    ---------
    sample_rate : int
        Sample rate in Hz.
    n_fft : int
        FFT size (as in ``MelSpectrogram``).
    hop_length : int
        Hop in samples.
    n_mels : int
        Number of mel bands.
    f_min, f_max : float
        Band edges in Hz.
    n_iter : int
        Griffin-Lim iterations.
    momentum : float
        Fast Griffin-Lim momentum in [0, 1).
    power : float
        Exponent of the magnitude the mel was built from (as ``MelSpectrogram(power=...)``).
    nnls_iter : int
        Projected-gradient iterations of the mel -> linear step.
    rand_init : bool
        Random initial phase (True) or zero phase (False, deterministic).

    Example
    -------
    >>> vocoder = GriffinLimVocoder(n_iter=2)
    >>> vocoder(torch.full((2, 80, 10), -40.0)).shape
    torch.Size([2, 2560])
    """

    def __init__(
        self,
        sample_rate=16000,
        n_fft=1024,
        hop_length=256,
        n_mels=80,
        f_min=0.0,
        f_max=8000.0,
        n_iter=64,
        momentum=0.99,
        power=1.0,
        nnls_iter=32,
        rand_init=True,
    ):
        super().__init__(sample_rate, hop_length)
        self.n_fft = n_fft
        self.n_iter = n_iter
        self.momentum = momentum
        self.power = power
        self.nnls_iter = nnls_iter
        self.rand_init = rand_init
        fbank = mel_filterbank(sample_rate, n_fft, n_mels, f_min, f_max)  # [n_freqs, n_mels]
        self.register_buffer("mel_fbank", fbank, persistent=False)
        self.register_buffer("fbank_pinv", torch.linalg.pinv(fbank.T), persistent=False)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.nnls_step = 1.0 / float(torch.linalg.matrix_norm(fbank, ord=2) ** 2)

    def mel_to_linear(self, mel):
        """Linear-frequency magnitudes S >= 0 minimising ``||fbank.T @ S - mel||^2``.

        Arguments
        ---------
        mel : torch.Tensor
            [batch, n_mels, frames] mel amplitudes (not dB).

        Returns
        -------
        torch.Tensor
            [batch, n_freqs, frames] non-negative linear magnitudes.
        """
        fbank = self.mel_fbank.to(device=mel.device, dtype=mel.dtype)
        spec = torch.matmul(self.fbank_pinv.to(device=mel.device, dtype=mel.dtype), mel)
        spec = spec.clamp(min=0.0)
        for _ in range(self.nnls_iter):
            residual = torch.matmul(fbank.T, spec) - mel
            spec = (spec - self.nnls_step * torch.matmul(fbank, residual)).clamp(min=0.0)
        return spec

    def forward(self, mel_db):
        """Synthesises a waveform from a dB mel spectrogram.

        Arguments
        ---------
        mel_db : torch.Tensor
            [batch, n_mels, frames] (or [n_mels, frames]) dB mel spectrogram.

        Returns
        -------
        torch.Tensor
            [batch, frames * hop_length] waveform.
        """
        if mel_db.dim() == 2:
            mel_db = mel_db.unsqueeze(0)
        mel = db_to_amplitude(mel_db.float())
        spec = self.mel_to_linear(mel)
        num_samples = mel_db.shape[-1] * self.hop_length
        # torchaudio re-analyses its estimate each iteration, so the length must map back to
        # the same frame count: frames * hop - 1 does (center=True), then pad one sample.
        wav = torchaudio.functional.griffinlim(
            spec,
            window=self.window.to(spec.device),
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.n_fft,
            power=self.power,
            n_iter=self.n_iter,
            momentum=self.momentum,
            length=num_samples - 1,
            rand_init=self.rand_init,
        )
        return nn.functional.pad(wav, (0, 1))
