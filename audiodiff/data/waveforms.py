"""Fixed-length waveforms of a manifest (e.g. 1 s spoken digits at 16 kHz), with a disk cache."""

import hashlib
import json
import logging
import math

import torch
import torchaudio
from tqdm import tqdm

from audiodiff.audio.io import AudioReadError, read_audio
from audiodiff.data.cache import load_cache, save_cache
from audiodiff.data.manifest import read_manifest, warn_skipped

logger = logging.getLogger(__name__)

_CACHE_VERSION = 1
_RESAMPLE_CHUNK = 512


def waveforms_cache_key(manifest_path, sample_rate, num_samples):
    """Hash of (manifest content, sample rate, length) keying the waveform cache.

    Arguments
    ---------
    manifest_path : str or os.PathLike
        JSON manifest.
    sample_rate : int
        Rate the audio is resampled to.
    num_samples : int
        Samples per example.

    Returns
    -------
    str
        Hex SHA-256 digest.

    Example
    -------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "m.json")
    >>> _ = open(path, "w").write("{}")
    >>> waveforms_cache_key(path, 16000, 16000) == waveforms_cache_key(path, 16000, 8000)
    False
    """
    with open(manifest_path, "rb") as f:
        manifest_hash = hashlib.sha256(f.read()).hexdigest()
    settings = {
        "version": _CACHE_VERSION,
        "manifest": manifest_hash,
        "sample_rate": sample_rate,
        "num_samples": num_samples,
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def peak_normalize(wav, level=0.95, floor=1e-4):
    """Scale each row of ``wav`` so that its largest absolute sample is ``level``.

    Rows whose peak is below ``floor`` (digital silence) are left as they are.

    Arguments
    ---------
    wav : torch.Tensor
        [N, samples] waveforms.
    level : float
        Target peak, in (0, 1].
    floor : float
        Peaks below this are not scaled.

    Returns
    -------
    torch.Tensor
        [N, samples], a new tensor.

    Example
    -------
    >>> peak_normalize(torch.tensor([[0.1, -0.2], [0.0, 0.0]]), level=0.5)
    tensor([[ 0.2500, -0.5000],
            [ 0.0000,  0.0000]])
    """
    if not 0 < level <= 1:
        raise ValueError(f"peak level must be in (0, 1], got {level}")
    peak = wav.abs().amax(dim=-1, keepdim=True)
    scale = torch.where(peak < floor, torch.ones_like(peak), level / peak.clamp_min(floor))
    return wav * scale


@torch.no_grad()
def load_waveforms(
    manifest_path,
    *,
    sample_rate=16000,
    num_samples=16000,
    cache_path=None,
    progress=True,
    peak_level=None,
):
    """Every utterance of a manifest as a fixed-length waveform, resampled, padded or cropped.

    Each wav is read at its own rate, cropped to the duration of ``num_samples`` at
    ``sample_rate``, and the files of each source rate are resampled together
    (``torchaudio.functional.resample``, one filter per rate); every waveform is then
    left-aligned in ``num_samples`` samples, zero-padded at the end. Files that fail to read
    are skipped, counted and warned about. With ``cache_path``, the result is saved with
    ``torch.save`` under a key hashing the manifest content, ``sample_rate`` and
    ``num_samples``; a later call with the same key loads it instead. With ``peak_level``,
    each waveform is then scaled to that peak (:func:`peak_normalize`; the cache holds the
    unscaled audio).

    Arguments
    ---------
    manifest_path : str or os.PathLike
        JSON manifest with ``wav`` and ``digit`` fields (``speaker`` optional).
    sample_rate : int
        Output sample rate.
    num_samples : int
        Samples per waveform (16000 = 1 s at 16 kHz).
    cache_path : str or os.PathLike, optional
        Cache file (``.pt``).
    progress : bool
        Show a tqdm progress bar while reading.
    peak_level : float, optional
        Scale every waveform to this peak; None keeps the recorded levels.

    Returns
    -------
    dict
        ``wav``: [N, num_samples] float32; ``lengths``: [N] fraction of the samples that are
        audio before padding, in (0, 1]; ``digit``: [N] long; ``speaker``: list of N str;
        ``ids``: list of N utterance ids (manifest order).

    Example
    -------
    >>> import tempfile, torch
    >>> from audiodiff.audio import write_audio
    >>> from audiodiff.data.manifest import write_manifest
    >>> folder = tempfile.mkdtemp()
    >>> write_audio(f"{folder}/a.wav", 0.1 * torch.randn(4000), 8000)
    >>> write_manifest(f"{folder}/m.json", {"a": {"wav": f"{folder}/a.wav", "digit": 1}})
    >>> out = load_waveforms(f"{folder}/m.json", num_samples=16000, progress=False)
    >>> out["wav"].shape, out["lengths"].tolist()
    (torch.Size([1, 16000]), [0.5])
    """
    key = waveforms_cache_key(manifest_path, sample_rate, num_samples)
    waveforms = load_cache(cache_path, key, "waveforms")
    if waveforms is None:
        waveforms = _read_waveforms(manifest_path, sample_rate, num_samples, progress)
        if cache_path is not None:
            save_cache(cache_path, key, waveforms)
    if peak_level is not None:
        waveforms = dict(waveforms, wav=peak_normalize(waveforms["wav"], peak_level))
    return waveforms


def _read_waveforms(manifest_path, sample_rate, num_samples, progress):
    """Read, resample, crop and pad every readable wav of a manifest (no cache)."""
    manifest = read_manifest(manifest_path)
    by_rate, skipped, kept = {}, [], []
    items = tqdm(manifest.items(), desc="reading audio", disable=not progress)
    for utt_id, entry in items:
        try:
            wav, rate = read_audio(entry["wav"])
        except AudioReadError as err:
            skipped.append((entry["wav"], str(err)))
            continue
        native = math.ceil(num_samples * rate / sample_rate)
        length = min(1.0, len(wav) / native)
        by_rate.setdefault(rate, []).append((len(kept), wav[:native]))
        kept.append((utt_id, entry, length))
    warn_skipped(skipped, "unreadable audio files")
    if not kept:
        raise ValueError(f"no readable audio in manifest {manifest_path}")

    wavs = torch.zeros(len(kept), num_samples)
    for rate, group in by_rate.items():
        native = math.ceil(num_samples * rate / sample_rate)
        for start in range(0, len(group), _RESAMPLE_CHUNK):
            chunk = group[start : start + _RESAMPLE_CHUNK]
            batch = torch.zeros(len(chunk), native)
            for row, (_, wav) in enumerate(chunk):
                batch[row, : len(wav)] = wav
            if rate != sample_rate:
                batch = torchaudio.functional.resample(batch, rate, sample_rate)
            batch = batch[:, :num_samples]
            for row, (index, _) in enumerate(chunk):
                wavs[index, : batch.shape[1]] = batch[row]
    return {
        "wav": wavs,
        "lengths": torch.tensor([length for _, _, length in kept], dtype=torch.float32),
        "digit": torch.tensor([int(entry["digit"]) for _, entry, _ in kept], dtype=torch.long),
        "speaker": [str(entry.get("speaker", "")) for _, entry, _ in kept],
        "ids": [utt_id for utt_id, _, _ in kept],
    }
