"""Waveform augmentations: phase-vocoder time stretch and pitch shift, and a fixed set of
augmented copies per file (the seed project's 10 stretches + 10 pitch shifts per clip).

Both work on the waveform, as librosa's ``time_stretch`` / ``pitch_shift`` do, through
torchaudio's phase vocoder. They cost about 0.05-0.1 s per copy of a 7 s clip on one CPU
core (20 copies of each of the 300 training clips of LJSpeech: about 5 minutes), so
:class:`SpeedPitchAugment` is meant to run once per file inside
:func:`audiodiff.data.compute_features`, whose cache keeps the copies.
"""

import hashlib
import math
from fractions import Fraction

import torch
import torchaudio

STFT_SIZE = 512
"""FFT size of the phase vocoder (librosa's time_stretch default is 2048 at 22.05 kHz;
512 is torchaudio's pitch_shift default and keeps transients sharper)."""


def time_stretch(wav, rate, n_fft=STFT_SIZE, hop_length=None):
    """Phase-vocoder time stretch: ``rate`` > 1 plays faster (shorter), pitch unchanged.

    Arguments
    ---------
    wav : torch.Tensor
        [samples] or [batch, samples] waveform.
    rate : float
        Speed factor; the output has ``round(samples / rate)`` samples.
    n_fft : int
        FFT size of the phase vocoder.
    hop_length : int, optional
        Hop (default ``n_fft // 4``).

    Returns
    -------
    torch.Tensor
        The stretched waveform, same leading shape.

    Example
    -------
    >>> time_stretch(torch.randn(8000), 1.25).shape
    torch.Size([6400])
    """
    if rate <= 0:
        raise ValueError(f"rate must be > 0, got {rate}")
    hop_length = hop_length or n_fft // 4
    window = torch.hann_window(n_fft, device=wav.device)
    spec = torch.stft(wav, n_fft, hop_length, window=window, return_complex=True)
    phase_advance = torch.linspace(0, math.pi * hop_length, spec.shape[-2], device=wav.device)
    stretched = torchaudio.functional.phase_vocoder(spec, rate, phase_advance[:, None])
    length = int(round(wav.shape[-1] / rate))
    return torch.istft(stretched, n_fft, hop_length, window=window, length=length)


def pitch_shift(wav, sample_rate, semitones, n_fft=STFT_SIZE, max_denominator=64):
    """Shift the pitch by ``semitones``, keeping the duration (librosa's method).

    The factor r = 2 ** (semitones / 12) is approximated by a fraction p / q with
    q <= ``max_denominator`` (off by under 0.01 semitone for shifts up to an octave), the
    waveform is time-stretched by p / q (slower) with the phase vocoder and resampled by q / p
    (``torchaudio.functional.resample`` from p to q), which brings the length back and scales
    every frequency by p / q. A small denominator keeps the resampling kernel short: torchaudio's
    own ``pitch_shift`` resamples between rates with a gcd of 1 for most shifts, which takes
    minutes per clip.

    Arguments
    ---------
    wav : torch.Tensor
        [samples] or [batch, samples] waveform.
    sample_rate : int
        Sample rate in Hz (the result does not depend on it; kept for symmetry).
    semitones : float
        Shift in semitones (positive: higher).
    n_fft : int
        FFT size of the phase vocoder.
    max_denominator : int
        Largest denominator of the rational approximation of the factor.

    Returns
    -------
    torch.Tensor
        Same shape as ``wav``.

    Example
    -------
    >>> t = torch.arange(16000) / 16000
    >>> up = pitch_shift(torch.sin(2 * math.pi * 440 * t), 16000, 12.0)
    >>> up.shape, int(torch.fft.rfft(up).abs().argmax())  # 880 Hz: bin 880 of a 1 s clip
    (torch.Size([16000]), 880)
    """
    del sample_rate
    factor = Fraction(2.0 ** (semitones / 12.0)).limit_denominator(max_denominator)
    if factor == 1:
        return wav.clone()
    stretched = time_stretch(wav, 1.0 / float(factor), n_fft=n_fft)
    shifted = torchaudio.functional.resample(stretched, factor.numerator, factor.denominator)
    length = wav.shape[-1]
    if shifted.shape[-1] >= length:
        return shifted[..., :length]
    return torch.nn.functional.pad(shifted, (0, length - shifted.shape[-1]))


class SpeedPitchAugment:
    """A fixed set of augmented copies of each waveform: time stretches and pitch shifts.

    ``augment(wav, key)`` returns ``time_stretch_copies`` stretched copies (rates drawn
    uniformly in ``time_stretch_range``) followed by ``pitch_shift_copies`` pitch-shifted
    copies (semitones drawn uniformly in ``pitch_shift_range``). The draws come from a
    generator seeded by ``seed`` and ``key`` (e.g. the utterance id), so a file always gets the
    same copies. ``settings()`` keys the feature cache.

    Arguments
    ---------
    sample_rate : int
        Sample rate of the waveforms.
    time_stretch_copies : int
        Stretched copies per file (0: none).
    time_stretch_range : tuple of float
        (lowest, highest) speed factor, e.g. (0.95, 1.05) as in the seed project.
    pitch_shift_copies : int
        Pitch-shifted copies per file (0: none).
    pitch_shift_range : tuple of float
        (lowest, highest) shift in semitones, e.g. (1, 5) as in the seed project.
    seed : int
        Seed of the draws.

    Example
    -------
    >>> aug = SpeedPitchAugment(16000, time_stretch_copies=2, pitch_shift_copies=1)
    >>> aug.num_copies, [c.shape[0] for c in aug(torch.randn(8000), "utt1")][2]
    (3, 8000)
    >>> aug.draws("utt1") == aug.draws("utt1"), aug.draws("utt1") == aug.draws("utt2")
    (True, False)
    """

    def __init__(
        self,
        sample_rate,
        time_stretch_copies=0,
        time_stretch_range=(0.95, 1.05),
        pitch_shift_copies=0,
        pitch_shift_range=(1.0, 5.0),
        seed=0,
    ):
        for name, (low, high) in (
            ("time_stretch_range", time_stretch_range),
            ("pitch_shift_range", pitch_shift_range),
        ):
            if low > high:
                raise ValueError(f"{name} must be (low, high) with low <= high, got {low, high}")
        if min(time_stretch_range) <= 0:
            raise ValueError(f"time_stretch_range must be positive, got {time_stretch_range}")
        self.sample_rate = int(sample_rate)
        self.time_stretch_copies = int(time_stretch_copies)
        self.time_stretch_range = tuple(float(v) for v in time_stretch_range)
        self.pitch_shift_copies = int(pitch_shift_copies)
        self.pitch_shift_range = tuple(float(v) for v in pitch_shift_range)
        self.seed = int(seed)

    @property
    def num_copies(self):
        """int: augmented copies per file."""
        return self.time_stretch_copies + self.pitch_shift_copies

    def settings(self):
        """The settings as a dict (a feature-cache key)."""
        return {
            "sample_rate": self.sample_rate,
            "time_stretch_copies": self.time_stretch_copies,
            "time_stretch_range": list(self.time_stretch_range),
            "pitch_shift_copies": self.pitch_shift_copies,
            "pitch_shift_range": list(self.pitch_shift_range),
            "seed": self.seed,
            "stft_size": STFT_SIZE,
        }

    def draws(self, key):
        """``(stretch rates, semitone shifts)`` of the file ``key`` (lists of float)."""
        digest = hashlib.sha256(f"{self.seed}:{key}".encode()).digest()
        generator = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))

        def uniform(count, low, high):
            return (low + (high - low) * torch.rand(count, generator=generator)).tolist()

        rates = uniform(self.time_stretch_copies, *self.time_stretch_range)
        shifts = uniform(self.pitch_shift_copies, *self.pitch_shift_range)
        return rates, shifts

    def __call__(self, wav, key):
        """The augmented copies of ``wav`` [samples]: a list of ``num_copies`` waveforms."""
        rates, shifts = self.draws(key)
        copies = [time_stretch(wav, rate) for rate in rates]
        copies += [pitch_shift(wav, self.sample_rate, s) for s in shifts]
        return copies

    def __repr__(self):
        return f"SpeedPitchAugment({self.settings()})"
