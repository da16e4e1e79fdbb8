"""Classifier-free metrics of generated spectrograms against real ones.

- ``frame_frechet_distance``: Frechet distance between Gaussians fitted to the per-frame
  log-mel vectors (each frame one n_mels-dimensional point): frame statistics only, blind to
  temporal order.
- ``modulation_spectrum`` / ``modulation_share``: how the frame energy varies in time; the
  share of envelope energy at 2-8 Hz (the syllable rate of speech) is high for real speech and
  near the flat-spectrum value for frames in random order.
- ``shuffle_frames``: the control with real frame statistics and no temporal structure.
- ``nearest_crop_distances`` / ``memorisation_ratio``: how close each sample is to its nearest
  training crop (every start frame of every training clip), against the same distance for
  held-out real crops.

Inputs are dB mel spectrograms [N, n_mels, frames] (``amplitude_to_db`` of a
``MelSpectrogram``); distances for memorisation are on normalised ([-1, 1]) spectrograms.
"""

import math

import torch
import torch.nn.functional as F

from audiodiff.metrics.generative import frechet_distance

MODULATION_BAND = (2.0, 8.0)
"""Hz: the syllable-rate band of ``modulation_share``."""

_DB_TO_LOG_POWER = math.log(10.0) / 10.0  # 10 ** (x / 10) = exp(x * this)


def _as_images(mel_db, name="mel_db"):
    mel_db = torch.as_tensor(mel_db)
    if mel_db.dim() == 2:
        mel_db = mel_db.unsqueeze(0)
    if mel_db.dim() != 3 or mel_db.numel() == 0:
        raise ValueError(f"{name} must be [N, n_mels, frames], got shape {tuple(mel_db.shape)}")
    return mel_db


def frame_vectors(mel_db):
    """Every frame of every spectrogram as one row: [N, n_mels, frames] -> [N * frames, n_mels].

    Example
    -------
    >>> frame_vectors(torch.zeros(2, 3, 5)).shape
    torch.Size([10, 3])
    """
    mel_db = _as_images(mel_db)
    return mel_db.transpose(1, 2).reshape(-1, mel_db.shape[1])


def frame_frechet_distance(mel_db_a, mel_db_b):
    """Squared Frechet distance between the per-frame log-mel vectors of two sets (dB^2).

    Each set's frames (n_mels-dimensional dB vectors) are fitted with a Gaussian (mean and
    unbiased covariance) and compared with the FID formula
    (:func:`audiodiff.metrics.frechet_distance`). The order of the frames does not matter.

    Arguments
    ---------
    mel_db_a, mel_db_b : torch.Tensor
        [N, n_mels, frames] dB spectrograms (frame counts may differ between the sets).

    Returns
    -------
    float

    Example
    -------
    >>> a = torch.randn(4, 3, 50)
    >>> round(frame_frechet_distance(a, a), 6)  # the same frames
    0.0
    >>> round(frame_frechet_distance(a, a + 2.0), 4)  # every band 2 dB higher: 3 * 2^2
    12.0
    """
    return frechet_distance(frame_vectors(mel_db_a), frame_vectors(mel_db_b))


def frame_energy_db(mel_db):
    """Full-band frame energy in dB: e[t] = 10 log10(sum_m 10 ** (X[m, t] / 10)).

    ``X`` is ``20 log10`` of the mel amplitude, so ``10 ** (X / 10)`` is the band's power;
    the sum runs over the mel bands (computed as a log-sum-exp, no overflow).

    Arguments
    ---------
    mel_db : torch.Tensor
        [N, n_mels, frames] dB spectrograms.

    Returns
    -------
    torch.Tensor
        [N, frames] float64.

    Example
    -------
    >>> frame_energy_db(torch.zeros(1, 10, 2))  # ten bands at 0 dB: 10 dB
    tensor([[10., 10.]], dtype=torch.float64)
    """
    mel_db = _as_images(mel_db).double()
    return torch.logsumexp(mel_db * _DB_TO_LOG_POWER, dim=1) / _DB_TO_LOG_POWER


def modulation_spectrum(mel_db, frame_rate):
    """Normalised modulation spectrum of the frame-energy envelope of each spectrogram.

    The envelope is :func:`frame_energy_db` (dB), its mean over the frames is removed, it is
    multiplied by a Hann window, and P(f) = |rfft|^2; the DC bin is set to 0 and the rest is
    divided by its sum, so each row is a distribution over modulation frequencies
    (0, frame_rate / 2].

    Arguments
    ---------
    mel_db : torch.Tensor
        [N, n_mels, frames] dB spectrograms (frames >= 4).
    frame_rate : float
        Frames per second (sample_rate / hop_length).

    Returns
    -------
    freqs : torch.Tensor
        [frames // 2 + 1] Hz, float64.
    spectra : torch.Tensor
        [N, frames // 2 + 1] float64; each row sums to 1 (0 for a constant envelope).

    Example
    -------
    >>> t = torch.arange(256) / 64.0
    >>> mel = 10 * torch.sin(2 * math.pi * 4.0 * t).expand(1, 2, 256)  # 4 Hz envelope
    >>> freqs, spectra = modulation_spectrum(mel, frame_rate=64.0)
    >>> float(freqs[spectra[0].argmax()])
    4.0
    """
    envelope = frame_energy_db(mel_db)
    frames = envelope.shape[-1]
    if frames < 4:
        raise ValueError(f"modulation_spectrum needs at least 4 frames, got {frames}")
    envelope = envelope - envelope.mean(dim=-1, keepdim=True)
    window = torch.hann_window(frames, periodic=False, dtype=torch.float64)
    power = torch.fft.rfft(envelope * window.to(envelope.device)).abs().square()
    power[:, 0] = 0.0
    total = power.sum(dim=-1, keepdim=True)
    spectra = torch.where(total > 0, power / total.clamp(min=1e-300), torch.zeros_like(power))
    freqs = torch.fft.rfftfreq(frames, d=1.0 / frame_rate, dtype=torch.float64)
    return freqs, spectra


def modulation_share(mel_db, frame_rate, band=MODULATION_BAND):
    """Share of each spectrogram's envelope modulation energy inside ``band`` (Hz, inclusive).

    From :func:`modulation_spectrum`: the sum of the normalised spectrum over the bins with
    ``band[0] <= f <= band[1]``. Speech puts much of it at 2-8 Hz (syllables); a white
    envelope (frames in random order) gets about the band's share of the bins,
    (band[1] - band[0]) / (frame_rate / 2).

    Arguments
    ---------
    mel_db : torch.Tensor
        [N, n_mels, frames] dB spectrograms.
    frame_rate : float
        Frames per second.
    band : tuple of float
        (low, high) modulation frequencies in Hz.

    Returns
    -------
    torch.Tensor
        [N] float64 in [0, 1].

    Example
    -------
    >>> t = torch.arange(256) / 64.0
    >>> mel = 10 * torch.sin(2 * math.pi * 4.0 * t).expand(1, 2, 256)
    >>> bool(modulation_share(mel, 64.0)[0] > 0.9)
    True
    """
    freqs, spectra = modulation_spectrum(mel_db, frame_rate)
    inside = (freqs >= band[0]) & (freqs <= band[1])
    return spectra[:, inside.to(spectra.device)].sum(dim=-1)


def modulation_distance(mel_db_a, mel_db_b, frame_rate):
    """L1 distance between the mean normalised modulation spectra of two sets, in [0, 2].

    Both sets need the same frame count (the same frequency bins).

    Example
    -------
    >>> a = torch.randn(3, 4, 64)
    >>> modulation_distance(a, a, 50.0)
    0.0
    """
    _, spec_a = modulation_spectrum(mel_db_a, frame_rate)
    _, spec_b = modulation_spectrum(mel_db_b, frame_rate)
    if spec_a.shape[-1] != spec_b.shape[-1]:
        raise ValueError("modulation_distance needs the same number of frames in both sets")
    return float((spec_a.mean(0) - spec_b.mean(0)).abs().sum())


def shuffle_frames(mel_db, generator=None):
    """The control set: the same frames, in random order across the whole set.

    All ``N * frames`` frames are permuted together and cut back into N spectrograms, so
    per-frame statistics (and :func:`frame_frechet_distance` to anything) are unchanged while
    temporal structure is gone.

    Arguments
    ---------
    mel_db : torch.Tensor
        [N, n_mels, frames].
    generator : torch.Generator, optional
        For a reproducible permutation (CPU).

    Returns
    -------
    torch.Tensor
        [N, n_mels, frames].

    Example
    -------
    >>> x = torch.arange(12.0).reshape(2, 1, 6)
    >>> y = shuffle_frames(x, torch.Generator().manual_seed(0))
    >>> y.shape, sorted(y.flatten().tolist()) == x.flatten().tolist()
    (torch.Size([2, 1, 6]), True)
    """
    mel_db = _as_images(mel_db)
    n, n_mels, frames = mel_db.shape
    order = torch.randperm(n * frames, generator=generator).to(mel_db.device)
    flat = frame_vectors(mel_db)[order]
    return flat.reshape(n, frames, n_mels).transpose(1, 2).contiguous()


@torch.no_grad()
def nearest_crop_distances(queries, clips, *, stride=1, pad_value=-1.0, chunk=256):
    """Distance from each query image to its nearest crop of any clip (every start frame).

    For a query q [n_mels, F] and every window c of F frames of every clip (start frames
    0, stride, 2 stride, ...; clips shorter than F are padded at the end with ``pad_value``),
    the RMS distance d(q, c) = sqrt(mean((q - c)^2)). The search uses
    ||q||^2 + ||c||^2 - 2 <q, c> with the inner products of all windows at once as one
    ``conv1d`` per clip (float32, TF32 off); the distance of the winning window is then
    recomputed exactly in float64.

    Arguments
    ---------
    queries : torch.Tensor
        [N, n_mels, F] normalised spectrograms (their device is used).
    clips : list of torch.Tensor
        [n_mels, frames_i] normalised spectrograms (e.g. the training clips).
    stride : int
        Step between the start frames searched.
    pad_value : float
        Fill of clips shorter than F (the normalised floor, -1).
    chunk : int
        Queries per ``conv1d`` call (memory).

    Returns
    -------
    distances : torch.Tensor
        [N] float64 RMS distances (on the CPU).
    matches : list of (int, int)
        (clip index, start frame) of each query's nearest window.

    Example
    -------
    >>> clip = torch.randn(3, 40)
    >>> query = clip[None, :, 7:17].clone()
    >>> dist, match = nearest_crop_distances(query, [torch.randn(3, 30), clip])
    >>> float(dist[0]), match[0]
    (0.0, (1, 7))
    """
    queries = _as_images(queries, "queries").float()
    n, n_mels, width = queries.shape
    device = queries.device
    best = torch.full((n,), float("inf"), dtype=torch.float64, device=device)
    where = torch.zeros((n, 2), dtype=torch.long, device=device)
    query_norms = queries.double().square().sum((1, 2))
    prepared = []
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        for index, clip in enumerate(clips):
            clip = clip.to(device=device, dtype=torch.float32)
            if clip.shape[-1] < width:
                clip = F.pad(clip, (0, width - clip.shape[-1]), value=pad_value)
            prepared.append(clip)
            # ||c||^2 of every window: a strided sliding sum of the column energies
            energy = F.pad(clip.double().square().sum(0).cumsum(0), (1, 0))
            window_norms = (energy[width:] - energy[:-width])[::stride]
            for start in range(0, n, chunk):
                part = queries[start : start + chunk]
                inner = F.conv1d(clip[None], part, stride=stride)[0]  # [chunk, windows]
                d2 = query_norms[start : start + chunk, None] + window_norms - 2 * inner.double()
                value, offset = d2.min(dim=1)
                better = value < best[start : start + chunk]
                best[start : start + chunk] = torch.where(
                    better, value, best[start : start + chunk]
                )
                found = torch.stack([torch.full_like(offset, index), offset * stride], 1)
                where[start : start + chunk] = torch.where(
                    better[:, None], found, where[start : start + chunk]
                )
    matches = [tuple(pair) for pair in where.cpu().tolist()]
    exact = torch.stack(
        [
            (queries[i].double() - prepared[c][:, o : o + width].double()).square().mean().sqrt()
            for i, (c, o) in enumerate(matches)
        ]
    )
    return exact.cpu(), matches


def memorisation_ratio(sample_distances, heldout_distances):
    """How close samples are to the training data, relative to new real speech.

    ``ratio_median`` = median(nearest-training-crop distance of the samples) /
    median(the same for held-out real crops); ``ratio_mean`` the same with means. About 1 or
    more: the samples are no closer to the training crops than unseen real speech is (not
    memorised); well below 1: samples copy training audio. ``fraction_below_heldout_min`` is
    the share of samples nearer to a training crop than every held-out crop is.

    Arguments
    ---------
    sample_distances : torch.Tensor
        [N] distances of the samples (:func:`nearest_crop_distances`).
    heldout_distances : torch.Tensor
        [M] distances of held-out real crops.

    Returns
    -------
    dict
        ``ratio_median``, ``ratio_mean``, ``sample_median``, ``heldout_median``,
        ``sample_mean``, ``heldout_mean``, ``fraction_below_heldout_min``.

    Example
    -------
    >>> memorisation_ratio(torch.tensor([0.2, 0.4]), torch.tensor([0.4, 0.4]))["ratio_mean"]
    0.75
    """
    samples = torch.as_tensor(sample_distances, dtype=torch.float64)
    heldout = torch.as_tensor(heldout_distances, dtype=torch.float64)
    if samples.numel() == 0 or heldout.numel() == 0:
        raise ValueError("memorisation_ratio needs at least one distance in each set")
    stats = {
        "sample_median": float(samples.quantile(0.5)),
        "heldout_median": float(heldout.quantile(0.5)),
        "sample_mean": float(samples.mean()),
        "heldout_mean": float(heldout.mean()),
    }
    return {
        "ratio_median": stats["sample_median"] / max(stats["heldout_median"], 1e-12),
        "ratio_mean": stats["sample_mean"] / max(stats["heldout_mean"], 1e-12),
        **stats,
        "fraction_below_heldout_min": float((samples < heldout.min()).double().mean()),
    }
