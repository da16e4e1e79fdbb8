"""Classifier-free quality figures of a batch of fixed-length waveforms (e.g. 1 s at 16 kHz).

Each figure is meant to be read beside the same figure of real clips prepared the way the
model's training data was (``tools/evaluate_waveforms.py`` prints both):

- ``rms_profile_db`` / ``tail_rms_db``: where the energy sits in the clip (babble after the
  word shows as a high tail);
- ``mean_power_spectrum`` / ``spectral_line_db``: a constant tone (e.g. at ``sr / 4`` from a
  patch-4 model's folding) shows as a band of the mean spectrum above its neighbours;
- ``click_rate``: isolated sample-to-sample jumps.

All functions take ``wavs`` as a [N, samples] tensor or array (or [samples] for one clip) and
return Python floats, lists or CPU tensors. No network, no weights.
"""

import math

import numpy as np
import torch

AMPLITUDE_FLOOR = 1e-7
"""Linear amplitude floor before ``20 log10`` (-140 dB)."""

CLICK_RATIO = 16.0
"""A click jump is more than this many times the local median |first difference|."""
CLICK_FLOOR = 0.05
"""... and more than this in absolute terms (full scale 1; about -25 dB under a 0.9 peak)."""
CLICK_HALF_WINDOW = 16
"""The local median is over the 2 * 16 + 1 first differences centred on the jump (about 2 ms at
16 kHz): a single-sample spike changes 2 of them, so it does not raise its own threshold."""
CLICK_MERGE = 4
"""Flagged jumps at most this many samples apart are one click (a spike is an up + a down)."""


def _as_batch(wavs):
    """[N, samples] float32 CPU tensor from a tensor / array, [samples] -> [1, samples]."""
    wavs = torch.as_tensor(np.asarray(wavs) if not torch.is_tensor(wavs) else wavs)
    wavs = wavs.detach().to("cpu", torch.float32)
    if wavs.dim() == 1:
        wavs = wavs[None]
    if wavs.dim() != 2 or wavs.shape[0] == 0 or wavs.shape[1] < 2:
        raise ValueError(f"expected [clips, samples] waveforms, got shape {tuple(wavs.shape)}")
    return wavs


def _to_db(amplitude, floor=AMPLITUDE_FLOOR):
    """``20 log10(max(amplitude, floor))`` of a float or tensor."""
    if torch.is_tensor(amplitude):
        return 20.0 * torch.log10(amplitude.clamp_min(floor))
    return 20.0 * math.log10(max(float(amplitude), floor))


def rms_profile_db(wavs, sample_rate, window_s=0.1, floor=AMPLITUDE_FLOOR):
    """Mean RMS level of each consecutive window of the clips, in dB.

    For each window (``window_s`` seconds, no overlap, from the start; a last partial window
    is dropped), the RMS of every clip is taken, the linear RMS values are averaged over the
    clips, and only then converted: ``20 log10(max(mean_rms, floor))``. (The mean of linear
    RMS is dominated by the loud clips: one clip babbling at -20 dB in a set of silent ones
    lifts the figure, as it is heard.)

    Arguments
    ---------
    wavs : torch.Tensor or numpy.ndarray
        [N, samples] waveforms (full scale 1).
    sample_rate : int
        Samples per second.
    window_s : float
        Window length in seconds.
    floor : float
        Linear floor before the log.

    Returns
    -------
    torch.Tensor
        [num_windows] float64 dB; window ``i`` covers ``[i, i + 1) * window_s`` seconds.

    Example
    -------
    >>> wav = torch.cat([0.1 * torch.ones(800), torch.zeros(800)])
    >>> rms_profile_db(wav, 8000, window_s=0.1).round().tolist()
    [-20.0, -140.0]
    """
    wavs = _as_batch(wavs).double()
    size = int(round(window_s * sample_rate))
    num = wavs.shape[1] // size
    if size < 1 or num < 1:
        raise ValueError(f"clips of {wavs.shape[1]} samples hold no {window_s} s window")
    frames = wavs[:, : num * size].reshape(wavs.shape[0], num, size)
    return _to_db(frames.pow(2).mean(-1).sqrt().mean(0), floor)


def tail_rms_db(wavs, sample_rate, start=0.6, end=1.0, floor=AMPLITUDE_FLOOR):
    """Mean RMS level of the span ``[start, end)`` seconds of the clips, in dB.

    The RMS of each clip over the span is taken, the linear values are averaged over the clips,
    then ``20 log10(max(mean, floor))``. Spoken digits end by about 0.5 s: energy after 0.6 s is
    babble or noise.

    Arguments
    ---------
    wavs : torch.Tensor or numpy.ndarray
        [N, samples] waveforms.
    sample_rate : int
        Samples per second.
    start, end : float
        Span in seconds (``end`` is cut to the clip length).
    floor : float
        Linear floor before the log.

    Returns
    -------
    float
        dB (full scale 1 = 0 dB).

    Example
    -------
    >>> wav = torch.cat([torch.zeros(600), 0.01 * torch.ones(400)])
    >>> round(tail_rms_db(torch.stack([wav, torch.zeros(1000)]), 1000), 2)
    -46.02
    """
    wavs = _as_batch(wavs).double()
    first, last = int(round(start * sample_rate)), min(int(round(end * sample_rate)), wavs.shape[1])
    if not 0 <= first < last:
        raise ValueError(f"span {start}-{end} s is empty for clips of {wavs.shape[1]} samples")
    rms = wavs[:, first:last].pow(2).mean(-1).sqrt()
    return float(_to_db(rms.mean().item(), floor))


def mean_power_spectrum(wavs, sample_rate, n_fft=1024, hop_length=None, chunk=64):
    """Welch-style mean power spectrum: Hann-windowed frames, averaged over frames and clips.

    Arguments
    ---------
    wavs : torch.Tensor or numpy.ndarray
        [N, samples] waveforms, each at least ``n_fft`` samples.
    sample_rate : int
        Samples per second.
    n_fft : int
        Frame and FFT size (1024 at 16 kHz: 15.6 Hz bins).
    hop_length : int, optional
        Frame hop; default ``n_fft // 2`` (50% overlap).
    chunk : int
        Clips per STFT call (memory).

    Returns
    -------
    freqs : torch.Tensor
        [n_fft // 2 + 1] bin centres in Hz.
    power : torch.Tensor
        [n_fft // 2 + 1] float64 mean |STFT|^2 (the same scale for every set measured with the
        same settings; only ratios are meant to be read).

    Example
    -------
    >>> t = torch.arange(4096) / 8000
    >>> freqs, power = mean_power_spectrum(torch.sin(2 * math.pi * 1000 * t), 8000, n_fft=256)
    >>> float(freqs[power.argmax()])
    1000.0
    """
    wavs = _as_batch(wavs)
    if wavs.shape[1] < n_fft:
        raise ValueError(f"clips of {wavs.shape[1]} samples are shorter than n_fft {n_fft}")
    hop_length = hop_length or n_fft // 2
    window = torch.hann_window(n_fft, dtype=torch.float64)
    total, frames = torch.zeros(n_fft // 2 + 1, dtype=torch.float64), 0
    for part in wavs.split(chunk):
        spec = torch.stft(
            part.double(), n_fft, hop_length, window=window, center=False, return_complex=True
        )
        total += spec.abs().pow(2).sum((0, 2))
        frames += spec.shape[0] * spec.shape[2]
    freqs = torch.arange(n_fft // 2 + 1, dtype=torch.float64) * sample_rate / n_fft
    return freqs, total / frames


def band_excess_db(freqs, power, freq, neighbour_hz=300.0, exclude_bins=2, line_bins=1):
    """Level of the band at ``freq`` over the median of its neighbouring bins, in dB.

    Band: the mean power of the bins within ``line_bins`` of the bin nearest ``freq`` (a tone
    between bins and the Hann main lobe spread over them). Neighbours: the bins within
    ``neighbour_hz`` of that bin, except the ``exclude_bins`` nearest on each side; their
    median (robust to a slope and to other lines). A tone shows as a positive excess; noise
    alone gives about 0.

    Arguments
    ---------
    freqs, power : torch.Tensor
        A spectrum from :func:`mean_power_spectrum`.
    freq : float
        Frequency of the line in Hz.
    neighbour_hz : float
        Half width of the neighbourhood.
    exclude_bins : int
        Bins on each side of the line left out of the neighbours (>= ``line_bins``).
    line_bins : int
        Half width of the band, in bins.

    Returns
    -------
    dict
        ``excess_db`` (band - neighbours), ``band_db``, ``neighbours_db`` (10 log10 of the
        powers), ``below_db`` / ``above_db`` (band over the median of the lower / upper
        neighbours alone) and ``freq_hz`` (the centre bin's frequency).

    Example
    -------
    >>> freqs = torch.arange(513) * 15.625
    >>> power = torch.ones(513, dtype=torch.float64)
    >>> power[256] = 4.0
    >>> round(band_excess_db(freqs, power, 4000.0)["excess_db"], 2)
    3.01
    """
    step = float(freqs[1] - freqs[0])
    centre = int(round((freq - float(freqs[0])) / step))
    half = int(neighbour_hz // step)
    if exclude_bins < line_bins or half <= exclude_bins:
        raise ValueError("need line_bins <= exclude_bins < neighbour_hz / bin width")
    if centre - half < 0 or centre + half >= len(power):
        raise ValueError(f"{freq} Hz +- {neighbour_hz} Hz is outside 0..{float(freqs[-1])} Hz")
    band = power[centre - line_bins : centre + line_bins + 1].mean()
    below = power[centre - half : centre - exclude_bins]
    above = power[centre + exclude_bins + 1 : centre + half + 1]

    def db(x):
        return 10.0 * math.log10(max(float(x), 1e-30))

    neighbours = torch.cat([below, above]).median()
    return {
        "excess_db": db(band) - db(neighbours),
        "band_db": db(band),
        "neighbours_db": db(neighbours),
        "below_db": db(band) - db(below.median()),
        "above_db": db(band) - db(above.median()),
        "freq_hz": float(freqs[centre]),
    }


def spectral_line_db(
    wavs, sample_rate, freq=4000.0, n_fft=1024, neighbour_hz=300.0, exclude_bins=2, line_bins=1
):
    """How far the band at ``freq`` of the clips' mean spectrum stands above its neighbours.

    :func:`mean_power_spectrum` (Hann frames of ``n_fft``, 50% overlap, averaged over frames
    and clips), then :func:`band_excess_db`.

    Arguments
    ---------
    wavs : torch.Tensor or numpy.ndarray
        [N, samples] waveforms.
    sample_rate : int
        Samples per second.
    freq : float
        Frequency of the line in Hz (4000 = a quarter of 16 kHz).
    n_fft, neighbour_hz, exclude_bins, line_bins
        See :func:`mean_power_spectrum` and :func:`band_excess_db`.

    Returns
    -------
    dict
        See :func:`band_excess_db`; ``excess_db`` is the figure.

    Example
    -------
    >>> g = torch.Generator().manual_seed(0)
    >>> noise = 0.1 * torch.randn(8, 16000, generator=g)
    >>> tone = 0.02 * torch.sin(2 * math.pi * 4000 * torch.arange(16000) / 16000)
    >>> spectral_line_db(noise + tone, 16000)["excess_db"] > 3.0
    True
    """
    freqs, power = mean_power_spectrum(wavs, sample_rate, n_fft=n_fft)
    return band_excess_db(freqs, power, freq, neighbour_hz, exclude_bins, line_bins)


def click_rate(
    wavs,
    ratio=CLICK_RATIO,
    floor=CLICK_FLOOR,
    half_window=CLICK_HALF_WINDOW,
    merge=CLICK_MERGE,
    chunk=1 << 20,
):
    """Isolated sample-to-sample jumps ("clicks") per clip.

    Rule: with ``d[n] = |x[n] - x[n-1]|``, a jump is flagged when ``d[n] > floor`` and
    ``d[n] > ratio * median(d[n - half_window .. n + half_window])`` (the local level; near
    the clip's ends the window is shifted to lie inside it). Flagged jumps at most ``merge``
    samples apart are one click. With the defaults (16x the median of +-16 jumps, about 2 ms
    at 16 kHz, and 0.05 of full scale), the glottal edges and onsets of real speech are
    rarely flagged (FSDD test at 16 kHz and 0.9 peak: 0.007 clicks per clip; the bundled
    SC09 clips: 0.05), white noise is not (its largest of 16,000 jumps is about 7x the
    median), and a single-sample spike of 0.05 or more on silence, or of 16x the local
    slope on speech, is. Loud broadband sound hides a spike: on white noise of RMS ``s``, a
    spike must exceed about ``15 s`` to count.

    Arguments
    ---------
    wavs : torch.Tensor or numpy.ndarray
        [N, samples] waveforms (full scale 1).
    ratio : float
        Jump over local median |first difference|.
    floor : float
        Smallest jump that counts, absolute.
    half_window : int
        Half width of the local median, in jumps.
    merge : int
        Flagged jumps this close are one click.
    chunk : int
        Candidate jumps per median computation (memory).

    Returns
    -------
    counts : torch.Tensor
        [N] long, clicks in each clip.
    mean : float
        Mean clicks per clip.

    Example
    -------
    >>> wav = 0.1 * torch.sin(2 * math.pi * 440 * torch.arange(16000) / 16000)
    >>> wav[[2000, 7000, 12000]] += 0.5
    >>> counts, mean = click_rate(torch.stack([wav, 0.1 * torch.sin(torch.arange(16000.0))]))
    >>> counts.tolist(), mean
    ([3, 0], 1.5)
    """
    wavs = _as_batch(wavs)
    jumps = wavs.diff(dim=-1).abs()
    num_clips, length = jumps.shape
    clip, pos = (jumps > floor).nonzero(as_tuple=True)
    width = min(2 * half_window + 1, length)
    offsets = torch.arange(width)
    flagged = torch.zeros_like(clip, dtype=torch.bool)
    for start in range(0, len(clip), chunk):
        c, p = clip[start : start + chunk], pos[start : start + chunk]
        first = (p - half_window).clamp(0, length - width)  # shifted inside at the ends
        window = first[:, None] + offsets[None, :]
        local = jumps[c[:, None], window].median(-1).values
        flagged[start : start + chunk] = jumps[c, p] > ratio * local
    clip, pos = clip[flagged], pos[flagged]  # row-major: sorted by clip, then position
    new = torch.ones_like(clip, dtype=torch.bool)
    if len(clip) > 1:
        new[1:] = (clip[1:] != clip[:-1]) | (pos[1:] - pos[:-1] > merge)
    counts = torch.bincount(clip[new], minlength=num_clips)
    return counts, float(counts.double().mean())
