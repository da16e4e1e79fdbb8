"""Magnitude mel spectrograms, dB conversion and frame padding.

The mel filterbank is built in one place, ``mel_filterbank``, and shared by the feature
extractor (``MelSpectrogram``) and the Griffin-Lim vocoder, so analysis and inversion cannot
drift apart. Scale and normalisation follow HiFi-GAN / librosa: Slaney mel scale, Slaney
(area) normalisation, magnitude (power 1) STFT with ``center=True``.
"""

import math

import torch
import torchaudio
from torch import nn

DEFAULT_FLOOR = 1e-5
"""Amplitude floor of ``amplitude_to_db``: 1e-5 is -100 dB."""


def mel_filterbank(sample_rate=16000, n_fft=1024, n_mels=80, f_min=0.0, f_max=8000.0):
    """Slaney-scale, Slaney-normalised triangular mel filterbank (as librosa / HiFi-GAN).

    Arguments
    ---------
    sample_rate : int
        Sample rate in Hz.
    n_fft : int
        FFT size; the filterbank has ``n_fft // 2 + 1`` frequency rows.
    n_mels : int
        Number of mel bands.
    f_min, f_max : float
        Lowest and highest band edge in Hz (``f_max=None`` means ``sample_rate / 2``).

    Returns
    -------
    torch.Tensor
        [n_freqs, n_mels] float32; ``mel = fbank.T @ linear_magnitude``.

    Example
    -------
    >>> mel_filterbank(16000, 1024, 80).shape
    torch.Size([513, 80])
    """
    f_max = sample_rate / 2 if f_max is None else f_max
    return torchaudio.functional.melscale_fbanks(
        n_fft // 2 + 1,
        f_min=float(f_min),
        f_max=float(f_max),
        n_mels=n_mels,
        sample_rate=sample_rate,
        norm="slaney",
        mel_scale="slaney",
    )


class MelSpectrogram(nn.Module):
    """Magnitude mel spectrogram: wav [batch, samples] -> [batch, n_mels, frames].

    ``frames = samples // hop_length + 1`` (centred frames, reflect padding; zero padding for
    clips shorter than ``n_fft // 2 + 1`` samples, where reflection is impossible).

    Arguments
    ---------
    sample_rate : int
        Sample rate of the input in Hz.
    n_fft : int
        FFT size.
    hop_length : int
        Hop between frames in samples.
    win_length : int, optional
        Hann window length (default ``n_fft``).
    n_mels : int
        Number of mel bands.
    f_min, f_max : float
        Band edges in Hz.
    power : float
        Exponent of the STFT magnitude (1.0: magnitude, 2.0: power).

    Example
    -------
    >>> mel = MelSpectrogram()
    >>> mel(torch.randn(2, 16000)).shape
    torch.Size([2, 80, 63])
    >>> mel(torch.randn(16000)).shape
    torch.Size([1, 80, 63])
    >>> mel.mel_fbank.shape
    torch.Size([513, 80])
    """

    def __init__(
        self,
        sample_rate=16000,
        n_fft=1024,
        hop_length=256,
        win_length=None,
        n_mels=80,
        f_min=0.0,
        f_max=8000.0,
        power=1.0,
    ):
        super().__init__()
        self.sample_rate = sample_rate
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.win_length = win_length or n_fft
        self.n_mels = n_mels
        self.f_min = f_min
        self.f_max = f_max
        self.power = power
        self.register_buffer("window", torch.hann_window(self.win_length), persistent=False)
        fbank = mel_filterbank(sample_rate, n_fft, n_mels, f_min, f_max)
        self.register_buffer("mel_fbank", fbank, persistent=False)

    def settings(self):
        """Returns the hyperparameters as a dict (used e.g. as a feature-cache key).

        Returns
        -------
        dict
            ``sample_rate, n_fft, hop_length, win_length, n_mels, f_min, f_max, power``.

        Example
        -------
        >>> MelSpectrogram(n_mels=40).settings()["n_mels"]
        40
        """
        return dict(
            sample_rate=self.sample_rate,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            n_mels=self.n_mels,
            f_min=self.f_min,
            f_max=self.f_max,
            power=self.power,
        )

    def forward(self, wav):
        """Computes the mel spectrogram.

        Arguments
        ---------
        wav : torch.Tensor
            [batch, samples] or [samples] waveform.

        Returns
        -------
        torch.Tensor
            [batch, n_mels, frames] non-negative mel amplitudes.
        """
        if wav.dim() == 1:
            wav = wav.unsqueeze(0)
        if wav.dtype not in (torch.float32, torch.float64):
            wav = wav.float()
        pad_mode = "reflect" if wav.shape[-1] > self.n_fft // 2 else "constant"
        spec = torch.stft(
            wav,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            window=self.window.to(device=wav.device, dtype=wav.dtype),
            center=True,
            pad_mode=pad_mode,
            return_complex=True,
        )
        magnitude = spec.abs().pow(self.power)  # [batch, n_freqs, frames]
        fbank = self.mel_fbank.to(device=wav.device, dtype=magnitude.dtype)
        return torch.matmul(fbank.T, magnitude)


def amplitude_to_db(mel, floor=DEFAULT_FLOOR):
    """Converts amplitudes to decibels: ``20 * log10(max(mel, floor))``.

    Arguments
    ---------
    mel : torch.Tensor
        Non-negative amplitudes, any shape.
    floor : float
        Smallest amplitude kept (1e-5 is -100 dB).

    Returns
    -------
    torch.Tensor
        Same shape, in dB.

    Example
    -------
    >>> amplitude_to_db(torch.tensor([1.0, 0.1, 0.0]))
    tensor([   0.,  -20., -100.])
    """
    return 20.0 * torch.log10(torch.clamp(mel, min=floor))


def db_to_amplitude(db):
    """Inverse of ``amplitude_to_db`` (above the floor): ``10 ** (db / 20)``.

    Arguments
    ---------
    db : torch.Tensor
        Values in dB, any shape.

    Returns
    -------
    torch.Tensor
        Same shape, amplitudes.

    Example
    -------
    >>> db_to_amplitude(torch.tensor([0.0, -20.0]))
    tensor([1.0000, 0.1000])
    """
    return torch.pow(10.0, db / 20.0)


def relative_db(db, range_db=80.0):
    """Per-example level normalisation of dB features: dB below each example's maximum.

    ``max(db - max(db), -range_db)`` over every dimension but the first (librosa's
    ``power_to_db(ref=np.max, top_db=range_db)``). A gain ``g`` dB on the waveform adds ``g``
    to every value above the amplitude floor, so the result does not depend on the recording
    level: exactly for examples whose maximum is at least ``floor_db() + range_db`` (-20 dB
    for 80 dB) at both levels; in quieter ones, values on the amplitude floor (-100 dB) land
    above ``-range_db``, so only the bottom of their range can differ.

    Arguments
    ---------
    db : torch.Tensor
        [batch, ...] dB values (e.g. [batch, n_mels, frames] from ``amplitude_to_db``).
    range_db : float or None
        Values more than this many dB below the example's maximum are set to ``-range_db``;
        None: ``db`` unchanged (no level normalisation, the classifier's default).

    Returns
    -------
    torch.Tensor
        Same shape, in ``[-range_db, 0]``; each example's maximum is 0.

    Example
    -------
    >>> db = torch.tensor([[-100.0, -30.0, 5.0], [-100.0, -50.0, -15.0]])  # 2 clips, 20 dB apart
    >>> relative_db(db)
    tensor([[-80., -35.,   0.],
            [-80., -35.,   0.]])
    >>> relative_db(db, None) is db
    True
    """
    if range_db is None:
        return db
    if range_db <= 0:
        raise ValueError(f"range_db must be positive, got {range_db}")
    peak = db.flatten(1).amax(dim=1).reshape(-1, *([1] * (db.dim() - 1)))
    return (db - peak).clamp_min(-float(range_db))


def floor_db(floor=DEFAULT_FLOOR):
    """The dB value of the amplitude floor (the padding value for dB features).

    Arguments
    ---------
    floor : float
        Amplitude floor.

    Returns
    -------
    float
        ``20 * log10(floor)``.

    Example
    -------
    >>> floor_db()
    -100.0
    """
    return 20.0 * math.log10(floor)


def pad_or_crop(x, num_frames, pad_value=0.0):
    """Pads (at the end, with ``pad_value``) or crops the last dimension to ``num_frames``.

    Arguments
    ---------
    x : torch.Tensor
        [..., frames].
    num_frames : int
        Target length of the last dimension.
    pad_value : float
        Fill value for padding.

    Returns
    -------
    torch.Tensor
        [..., num_frames].

    Example
    -------
    >>> pad_or_crop(torch.ones(2, 3), 5, pad_value=-1.0)
    tensor([[ 1.,  1.,  1., -1., -1.],
            [ 1.,  1.,  1., -1., -1.]])
    >>> pad_or_crop(torch.ones(2, 3), 2).shape
    torch.Size([2, 2])
    """
    frames = x.shape[-1]
    if frames >= num_frames:
        return x[..., :num_frames]
    return nn.functional.pad(x, (0, num_frames - frames), value=pad_value)
