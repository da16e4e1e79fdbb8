"""Audio file I/O with soundfile (torchaudio ``load``/``save`` need torchcodec, not a dependency).

Every reading problem (missing, corrupt or empty file) surfaces as one ``AudioReadError`` whose
message names the path and the problem, so data preparation can count and skip bad files.
"""

import os

import numpy as np
import soundfile
import torch
import torchaudio


class AudioReadError(ValueError):
    """An audio file could not be read: missing, corrupt, or empty (0 samples)."""


def _check_exists(path):
    if not os.path.isfile(path):
        raise AudioReadError(f"cannot read audio '{path}': file not found")


def audio_info(path):
    """Returns the length and sample rate of an audio file without decoding it.

    Arguments
    ---------
    path : str or os.PathLike
        Audio file.

    Returns
    -------
    frames : int
        Number of samples per channel (> 0).
    sample_rate : int
        Sample rate in Hz.

    Raises
    ------
    AudioReadError
        If the file is missing, not a readable audio file, or holds 0 samples.

    Example
    -------
    >>> import tempfile, os, torch
    >>> path = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> write_audio(path, torch.zeros(800), 8000)
    >>> audio_info(path)
    (800, 8000)
    """
    path = os.fspath(path)
    _check_exists(path)
    try:
        info = soundfile.info(path)
    except Exception as err:  # soundfile raises LibsndfileError/RuntimeError variants
        raise AudioReadError(
            f"cannot read audio '{path}': corrupt or unsupported ({err})"
        ) from None
    if info.frames <= 0:
        raise AudioReadError(f"cannot read audio '{path}': file is empty (0 samples)")
    return int(info.frames), int(info.samplerate)


def read_audio(path, sample_rate=None):
    """Reads an audio file as a mono float32 waveform, resampling if asked.

    Multi-channel files are averaged to mono.

    Arguments
    ---------
    path : str or os.PathLike
        Audio file.
    sample_rate : int, optional
        Target sample rate; when given and different from the file's, the waveform is resampled
        with ``torchaudio.functional.resample``.

    Returns
    -------
    wav : torch.Tensor
        [samples] float32, mono.
    sample_rate : int
        Sample rate of ``wav`` (the target rate when one was given).

    Raises
    ------
    AudioReadError
        If the file is missing, not a readable audio file, or holds 0 samples.

    Example
    -------
    >>> import tempfile, os, torch
    >>> path = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> write_audio(path, 0.5 * torch.ones(800), 8000)
    >>> wav, sr = read_audio(path, sample_rate=16000)
    >>> wav.shape, wav.dtype, sr
    (torch.Size([1600]), torch.float32, 16000)
    """
    path = os.fspath(path)
    _check_exists(path)
    try:
        data, file_rate = soundfile.read(path, dtype="float32", always_2d=True)
    except Exception as err:
        raise AudioReadError(
            f"cannot read audio '{path}': corrupt or unsupported ({err})"
        ) from None
    if data.shape[0] == 0:
        raise AudioReadError(f"cannot read audio '{path}': file is empty (0 samples)")
    wav = torch.from_numpy(np.ascontiguousarray(data.mean(axis=1)))
    if sample_rate is not None and int(sample_rate) != int(file_rate):
        wav = torchaudio.functional.resample(wav, int(file_rate), int(sample_rate))
        file_rate = sample_rate
    return wav, int(file_rate)


def write_audio(path, wav, sample_rate):
    """Writes a mono waveform as a 16-bit PCM wav file, creating parent folders.

    Arguments
    ---------
    path : str or os.PathLike
        Output file (``.wav``).
    wav : torch.Tensor or numpy.ndarray
        [samples] (or [1, samples]) float waveform; values are clamped to [-1, 1].
    sample_rate : int
        Sample rate in Hz.

    Example
    -------
    >>> import tempfile, os, torch
    >>> path = os.path.join(tempfile.mkdtemp(), "sub", "b.wav")
    >>> write_audio(path, 2.0 * torch.ones(100), 16000)
    >>> round(float(read_audio(path)[0].max()), 3)
    1.0
    """
    path = os.fspath(path)
    if isinstance(wav, torch.Tensor):
        wav = wav.detach().float().cpu().numpy()
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim == 2 and wav.shape[0] == 1:
        wav = wav[0]
    if wav.ndim != 1:
        raise ValueError(f"write_audio expects a mono waveform [samples], got shape {wav.shape}")
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    soundfile.write(path, np.clip(wav, -1.0, 1.0), int(sample_rate), subtype="PCM_16")


def reencode_audio(path, suffix):
    """Re-encodes a 16-bit audio file losslessly in another container beside it (``".flac"``
    to shrink a wav about 2x, ``".wav"`` to decode), removes the original, returns the new path.

    Arguments
    ---------
    path : str or os.PathLike
        A 16-bit PCM file (wav or FLAC).
    suffix : str
        The new extension, ``".flac"`` or ``".wav"``.

    Example
    -------
    >>> import tempfile, os, torch
    >>> path = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> write_audio(path, 0.5 * torch.ones(100), 16000)
    >>> flac = reencode_audio(path, ".flac")
    >>> os.path.basename(flac), os.path.exists(path)
    ('a.flac', False)
    >>> wav = reencode_audio(flac, ".wav")
    >>> round(float(read_audio(wav)[0].mean()), 3)
    0.5
    """
    path = os.fspath(path)
    data, rate = soundfile.read(path, dtype="int16")
    out = os.path.splitext(path)[0] + suffix
    soundfile.write(out, data, rate, subtype="PCM_16")
    if os.path.abspath(out) != os.path.abspath(path):
        os.remove(path)
    return out
