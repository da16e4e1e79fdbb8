"""Reconstruction metrics between a reference and a generated waveform (vocoder evaluation).

- ``multi_resolution_stft_distance``: spectral convergence + log-magnitude distance averaged
  over three STFT resolutions (Parallel WaveGAN, Yamamoto et al. 2020, arXiv 1910.11480).
- ``mel_l1``: mean absolute difference of natural-log mel spectrograms (HiFi-GAN's mel error).
- ``log_spectral_distance``: LSD in dB, frame-wise RMS of the dB power-spectrum difference.
- ``pesq_wb``: wideband PESQ (ITU-T P.862.2) at 16 kHz, package ``pesq``.
- ``stoi``: short-time objective intelligibility (Taal et al. 2011), package ``pystoi``.
- ``vocoder_metrics``: all of them for one pair of waveforms.

Lower is better for the distances (0 for identical signals); higher is better for PESQ
(-0.5 .. 4.64) and STOI (0 .. 1). Signals are compared sample by sample: align their lengths
first (``align_lengths``).
"""

import math
import warnings

import torch
import torchaudio

from audiodiff.audio.mel import MelSpectrogram

STFT_RESOLUTIONS = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))
"""(n_fft, hop_length, win_length) of the multi-resolution STFT distance (Parallel WaveGAN)."""

PESQ_RATE = 16000
_MAG_FLOOR = 1e-7  # Parallel WaveGAN clamps the power at 1e-7 before the square root
_PESQ_HINT = "PESQ needs the `pesq` package: pip install audiodiff[eval] (or pip install pesq)"


def _as_batch(wav, name):
    """Return ``wav`` as a float [batch, samples] tensor (a 1-D input becomes batch 1)."""
    wav = torch.as_tensor(wav)
    if wav.dim() == 1:
        wav = wav.unsqueeze(0)
    if wav.dim() != 2 or wav.shape[-1] == 0:
        raise ValueError(f"{name} must be [samples] or [batch, samples], got {tuple(wav.shape)}")
    return wav if wav.is_floating_point() else wav.float()


def _check_pair(ref, gen):
    ref, gen = _as_batch(ref, "ref"), _as_batch(gen, "gen")
    if ref.shape != gen.shape:
        raise ValueError(
            f"ref and gen must have the same shape, got {tuple(ref.shape)} and "
            f"{tuple(gen.shape)} (align the lengths first: align_lengths)"
        )
    return ref, gen.to(device=ref.device, dtype=ref.dtype)


def align_lengths(ref, gen):
    """Crop the longer of two waveforms (last dimension) to the length of the shorter.

    Arguments
    ---------
    ref, gen : torch.Tensor
        [..., samples] waveforms.

    Returns
    -------
    tuple of torch.Tensor
        ``(ref, gen)`` with the same last dimension.

    Example
    -------
    >>> a, b = align_lengths(torch.zeros(100), torch.zeros(90))
    >>> a.shape, b.shape
    (torch.Size([90]), torch.Size([90]))
    """
    length = min(ref.shape[-1], gen.shape[-1])
    return ref[..., :length], gen[..., :length]


def _stft_power(wav, n_fft, hop_length, win_length):
    """|STFT|^2 of [batch, samples] (Hann window, centred), [batch, freqs, frames]."""
    window = torch.hann_window(win_length, device=wav.device, dtype=wav.dtype)
    pad_mode = "reflect" if wav.shape[-1] > n_fft // 2 else "constant"
    spec = torch.stft(
        wav,
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window=window,
        center=True,
        pad_mode=pad_mode,
        return_complex=True,
    )
    return spec.real.square() + spec.imag.square()


def _stft_magnitude(wav, n_fft, hop_length, win_length):
    """|STFT| of [batch, samples], [batch, freqs, frames], floored as in Parallel WaveGAN."""
    return _stft_power(wav, n_fft, hop_length, win_length).clamp(min=_MAG_FLOOR).sqrt()


def multi_resolution_stft_distance(ref, gen, resolutions=STFT_RESOLUTIONS):
    """Multi-resolution STFT distance, Yamamoto et al. 2020 (Parallel WaveGAN, eq. 4-6).

    For each resolution, spectral convergence SC = ||S_ref - S_gen||_F / ||S_ref||_F and
    log-magnitude distance LM = mean |log S_ref - log S_gen| (S: STFT magnitudes, Hann window);
    both are averaged over the resolutions and the batch. ``total`` = SC + LM, the Parallel
    WaveGAN auxiliary loss.

    Arguments
    ---------
    ref, gen : torch.Tensor
        [samples] or [batch, samples] waveforms of the same shape.
    resolutions : sequence of (int, int, int)
        (n_fft, hop_length, win_length) triples.

    Returns
    -------
    dict
        ``spectral_convergence``, ``log_magnitude``, ``total`` (floats, >= 0; 0 when equal).

    Example
    -------
    >>> wav = torch.sin(torch.arange(16000) * 0.05)
    >>> multi_resolution_stft_distance(wav, wav)["total"]
    0.0
    """
    ref, gen = _check_pair(ref, gen)
    sc, lm = [], []
    for n_fft, hop_length, win_length in resolutions:
        mag_ref = _stft_magnitude(ref, n_fft, hop_length, win_length)
        mag_gen = _stft_magnitude(gen, n_fft, hop_length, win_length)
        diff = torch.linalg.norm((mag_ref - mag_gen).flatten(1), dim=1)
        sc.append(diff / torch.linalg.norm(mag_ref.flatten(1), dim=1))
        lm.append((mag_ref.log() - mag_gen.log()).abs().flatten(1).mean(dim=1))
    sc = torch.stack(sc).mean().item()
    lm = torch.stack(lm).mean().item()
    return {"spectral_convergence": sc, "log_magnitude": lm, "total": sc + lm}


def mel_l1(ref, gen, sample_rate, mel=None):
    """Mel-spectrogram L1 distance: mean |ln max(M_ref, 1e-5) - ln max(M_gen, 1e-5)|.

    M is a magnitude mel spectrogram (``audiodiff.audio.MelSpectrogram``; default: 1024-point
    FFT, hop 256, 80 bands from 0 Hz to ``sample_rate / 2``), the error HiFi-GAN reports.

    Arguments
    ---------
    ref, gen : torch.Tensor
        [samples] or [batch, samples] waveforms of the same shape.
    sample_rate : int
        Sample rate of both signals in Hz.
    mel : torch.nn.Module, optional
        Mel transform to use instead of the default one.

    Returns
    -------
    float
        Mean absolute log-mel difference (nepers), >= 0.

    Example
    -------
    >>> wav = torch.randn(8000, generator=torch.Generator().manual_seed(0))
    >>> mel_l1(wav, wav, 16000), round(mel_l1(wav, 0.5 * wav, 16000), 4)  # ln 2
    (0.0, 0.6931)
    """
    ref, gen = _check_pair(ref, gen)
    if mel is None:
        mel = MelSpectrogram(sample_rate=sample_rate, f_max=sample_rate / 2)
    mel = mel.to(ref.device)
    log_ref = mel(ref).clamp(min=1e-5).log()
    log_gen = mel(gen).clamp(min=1e-5).log()
    return (log_ref - log_gen).abs().mean().item()


def log_spectral_distance(ref, gen, n_fft=1024, hop_length=256):
    """Log-spectral distance LSD = mean_t sqrt(mean_f (P_ref - P_gen)^2), P in dB.

    P = 10 log10 max(|STFT|^2, 1e-10) (Hann window, a -100 dB floor, the floor of
    ``audiodiff.audio.amplitude_to_db``); the RMS over frequency is averaged over frames and
    the batch.

    Arguments
    ---------
    ref, gen : torch.Tensor
        [samples] or [batch, samples] waveforms of the same shape.
    n_fft : int
        FFT size (also the window length).
    hop_length : int
        Hop in samples.

    Returns
    -------
    float
        LSD in dB, >= 0.

    Example
    -------
    >>> wav = torch.randn(8000, generator=torch.Generator().manual_seed(0))
    >>> log_spectral_distance(wav, wav), round(log_spectral_distance(wav, 0.1 * wav), 3)
    (0.0, 20.0)
    """
    ref, gen = _check_pair(ref, gen)

    def power_db(wav):
        return 10.0 * torch.log10(_stft_power(wav, n_fft, hop_length, n_fft).clamp(min=1e-10))

    diff = power_db(ref) - power_db(gen)  # [batch, freqs, frames]
    return diff.square().mean(dim=1).sqrt().mean().item()


def _to_numpy_1d(wav, name):
    wav = torch.as_tensor(wav)
    if wav.dim() == 2 and wav.shape[0] == 1:
        wav = wav[0]
    if wav.dim() != 1:
        raise ValueError(f"{name} must be one waveform [samples], got {tuple(wav.shape)}")
    return wav.detach().double().cpu().numpy()


def pesq_wb(ref, gen, sample_rate):
    """Wideband PESQ (ITU-T P.862.2, MOS-LQO in [-0.5, 4.64]) of ``gen`` against ``ref``.

    Both signals are resampled to 16 kHz (``torchaudio.functional.resample``) first. Needs the
    ``pesq`` package (``pip install audiodiff[eval]``).

    Arguments
    ---------
    ref, gen : torch.Tensor
        [samples] waveforms of the same length.
    sample_rate : int
        Their sample rate in Hz.

    Returns
    -------
    float
        The PESQ score, or NaN when PESQ finds no speech (e.g. silence or a clip under 0.25 s).

    Raises
    ------
    ImportError
        If ``pesq`` is not installed (the message says how to install it).

    Example
    -------
    >>> t = torch.arange(16000) / 16000
    >>> speechy = torch.sin(2 * math.pi * 200 * t) * torch.sin(2 * math.pi * 3 * t).abs()
    >>> round(pesq_wb(speechy, speechy, 16000), 2)
    4.64
    """
    try:
        from pesq import PesqError, pesq
    except ImportError:
        raise ImportError(_PESQ_HINT) from None
    ref, gen = _check_pair(ref, gen)
    if sample_rate != PESQ_RATE:
        ref = torchaudio.functional.resample(ref, sample_rate, PESQ_RATE)
        gen = torchaudio.functional.resample(gen, sample_rate, PESQ_RATE)
    ref_np, gen_np = _to_numpy_1d(ref, "ref"), _to_numpy_1d(gen, "gen")
    score = pesq(PESQ_RATE, ref_np, gen_np, "wb", on_error=PesqError.RETURN_VALUES)
    return float(score) if score >= -0.5 else math.nan  # errors come back as codes < -0.5


def stoi(ref, gen, sample_rate, extended=False):
    """STOI (Taal et al. 2011; ESTOI with ``extended=True``, Jensen & Taal 2016), via pystoi.

    pystoi resamples to 10 kHz and drops silent frames; it needs about 0.4 s of non-silent
    speech (30 frames). For shorter speech it gives no score: NaN here (pystoi's own 1e-5
    would read as "unintelligible").

    Arguments
    ---------
    ref, gen : torch.Tensor
        [samples] waveforms of the same length (ref: clean reference).
    sample_rate : int
        Their sample rate in Hz.
    extended : bool
        Extended STOI.

    Returns
    -------
    float
        Intelligibility in [0, 1] (1 for identical signals), or NaN (too little speech).

    Example
    -------
    >>> wav = torch.randn(16000, generator=torch.Generator().manual_seed(0))
    >>> round(stoi(wav, wav, 16000), 4)
    1.0
    """
    from pystoi import stoi as pystoi_stoi

    ref, gen = _check_pair(ref, gen)
    ref_np, gen_np = _to_numpy_1d(ref, "ref"), _to_numpy_1d(gen, "gen")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        score = pystoi_stoi(ref_np, gen_np, sample_rate, extended=extended)
    if any("Not enough STFT frames" in str(w.message) for w in caught):
        return math.nan
    return float(score)


def vocoder_metrics(ref, gen, sample_rate, *, with_pesq=True, with_stoi=True):
    """Every metric of this module for one pair of waveforms (lengths aligned first).

    Arguments
    ---------
    ref, gen : torch.Tensor
        [samples] waveforms (reference, generated).
    sample_rate : int
        Their sample rate in Hz.
    with_pesq, with_stoi : bool
        Compute PESQ (needs ``pesq``) and STOI.

    Returns
    -------
    dict
        ``mrstft``, ``spectral_convergence``, ``log_magnitude``, ``mel_l1``, ``lsd`` and
        ``pesq`` / ``stoi`` when asked (NaN where they give no score).

    Example
    -------
    >>> wav = torch.randn(8000, generator=torch.Generator().manual_seed(0))
    >>> out = vocoder_metrics(wav, wav, 16000, with_pesq=False, with_stoi=False)
    >>> sorted(out.items())
    [('log_magnitude', 0.0), ('lsd', 0.0), ('mel_l1', 0.0), ('mrstft', 0.0), \
('spectral_convergence', 0.0)]
    """
    ref, gen = align_lengths(torch.as_tensor(ref), torch.as_tensor(gen))
    stft = multi_resolution_stft_distance(ref, gen)
    out = {
        "mrstft": stft["total"],
        "spectral_convergence": stft["spectral_convergence"],
        "log_magnitude": stft["log_magnitude"],
        "mel_l1": mel_l1(ref, gen, sample_rate),
        "lsd": log_spectral_distance(ref, gen),
    }
    if with_pesq:
        out["pesq"] = pesq_wb(ref, gen, sample_rate)
    if with_stoi:
        out["stoi"] = stoi(ref, gen, sample_rate)
    return out
