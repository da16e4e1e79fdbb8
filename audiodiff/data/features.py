"""dB mel features for a manifest (fixed-size or whole clips, optionally augmented copies), with
an on-disk cache."""

import hashlib
import json
import logging
import multiprocessing
import os

import torch
from tqdm import tqdm

from audiodiff.audio.io import AudioReadError, read_audio
from audiodiff.audio.mel import amplitude_to_db, floor_db, pad_or_crop
from audiodiff.data.cache import load_cache, save_cache
from audiodiff.data.manifest import read_manifest, warn_skipped

logger = logging.getLogger(__name__)

_CACHE_VERSION = 1


def _mel_settings(mel):
    if hasattr(mel, "settings"):
        return mel.settings()
    return {"repr": repr(mel)}


def features_cache_key(manifest_path, mel, sample_rate, num_frames, dtype=None, augment=None):
    """Hash of (manifest content, mel settings, sample rate, frame count, storage dtype,
    augmentation settings) keying the cache.

    Arguments
    ---------
    manifest_path : str or os.PathLike
        JSON manifest.
    mel : torch.nn.Module
        Mel transform (its ``settings()`` if it has them, else its ``repr``).
    sample_rate : int
        Rate the audio is resampled to.
    num_frames : int or None
        Frames per example (None: whole clips).
    dtype : torch.dtype, optional
        Storage dtype of the features (None or float32: the default).
    augment : object, optional
        Waveform augmentation with ``settings()`` and ``num_copies`` (see
        :func:`compute_features`); None or 0 copies: none.

    Returns
    -------
    str
        Hex SHA-256 digest (the same as before these options for their defaults).

    Example
    -------
    >>> import tempfile, os
    >>> from audiodiff.audio.mel import MelSpectrogram
    >>> path = os.path.join(tempfile.mkdtemp(), "m.json")
    >>> _ = open(path, "w").write("{}")
    >>> key = features_cache_key(path, MelSpectrogram(), 16000, 64)
    >>> key == features_cache_key(path, MelSpectrogram(n_mels=40), 16000, 64)
    False
    """
    with open(manifest_path, "rb") as f:
        manifest_hash = hashlib.sha256(f.read()).hexdigest()
    settings = {
        "version": _CACHE_VERSION,
        "manifest": manifest_hash,
        "mel": _mel_settings(mel),
        "sample_rate": sample_rate,
        "num_frames": num_frames,
        "floor_db": floor_db(),
    }
    if dtype is not None and dtype != torch.float32:
        settings["dtype"] = str(dtype)
    if _num_copies(augment):
        settings["augment"] = augment.settings()
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def _num_copies(augment):
    return int(getattr(augment, "num_copies", 0)) if augment is not None else 0


@torch.no_grad()
def compute_features(
    manifest_path,
    mel,
    *,
    sample_rate=16000,
    num_frames=64,
    cache_path=None,
    progress=True,
    num_workers=None,
    dtype=None,
    augment=None,
    compress=False,
):
    """dB mel spectrograms of every utterance of a manifest, padded or cropped to a fixed size
    (or whole, with ``num_frames=None``).

    Each wav is read (resampled to ``sample_rate``), turned into ``amplitude_to_db(mel(wav))``
    and left-aligned: cropped to ``num_frames``, or padded at the end with the dB floor
    (-100 dB, silence). Files that fail to read are skipped, counted and warned about. With
    ``cache_path``, the result is saved with ``torch.save`` under a key hashing the manifest
    content, the mel settings, ``sample_rate``, ``num_frames``, ``dtype`` and the augmentation
    settings; a later call with the same key loads it instead of recomputing.

    With ``augment`` (an object with ``num_copies`` and ``augment(wav, key) -> list of
    num_copies waveforms``, e.g. :class:`audiodiff.audio.SpeedPitchAugment`), each file also
    yields ``num_copies`` augmented copies, computed once here and cached with the rest.

    Arguments
    ---------
    manifest_path : str or os.PathLike
        JSON manifest with ``wav``, ``digit`` and ``speaker`` fields.
    mel : torch.nn.Module
        Mel transform, wav [batch, samples] -> [batch, n_mels, frames], e.g.
        ``MelSpectrogram``; features are computed on its device and returned on the CPU.
    sample_rate : int
        Sample rate the audio is resampled to (must match ``mel.sample_rate`` if it has one).
    num_frames : int or None
        Frames per example; None keeps every clip whole (variable length).
    cache_path : str or os.PathLike, optional
        Cache file (``.pt``).
    progress : bool
        Show a tqdm progress bar.
    num_workers : int, optional
        Worker processes reading and transforming files (CPU mel only); default: the number
        of CPU cores, at most 8 (0 or 1: in this process).
    dtype : torch.dtype, optional
        Dtype the features are stored (and returned) in, e.g. ``torch.float16`` to halve
        the cache (at most 0.03 dB of rounding above -128 dB); default float32.
    augment : object, optional
        Waveform augmentation (see above); None: none.
    compress : bool
        Write the cache zlib-compressed (about 20% smaller for fp16 features).

    Returns
    -------
    dict
        ``mel_db``: [N, n_mels, num_frames] tensor, or with ``num_frames=None`` a list of N
        [n_mels, frames_i] tensors; ``frames``: [N] long frame count of each clip before
        padding or cropping; ``lengths``: [N] valid fraction of frames before padding, in
        (0, 1] (fixed ``num_frames`` only); ``digit``: [N] long (when every entry has one);
        ``speaker``: list of N str; ``ids``: list of N utterance ids (manifest order);
        ``augmented`` (with ``augment``): list of N lists of ``num_copies`` tensors shaped
        like the clip's ``mel_db``.

    Example
    -------
    >>> import tempfile, os, torch
    >>> from audiodiff.audio import MelSpectrogram, write_audio
    >>> from audiodiff.data.manifest import write_manifest
    >>> folder = tempfile.mkdtemp()
    >>> write_audio(f"{folder}/a.wav", 0.1 * torch.randn(2560), 16000)
    >>> write_manifest(f"{folder}/m.json",
    ...                {"a": {"wav": f"{folder}/a.wav", "digit": 1, "speaker": "x"}})
    >>> feats = compute_features(f"{folder}/m.json", MelSpectrogram(), num_frames=16,
    ...                          progress=False)
    >>> feats["mel_db"].shape, feats["lengths"].tolist()
    (torch.Size([1, 80, 16]), [0.6875])
    >>> whole = compute_features(f"{folder}/m.json", MelSpectrogram(), num_frames=None,
    ...                          dtype=torch.float16, progress=False)
    >>> whole["mel_db"][0].shape, whole["mel_db"][0].dtype, whole["frames"].tolist()
    (torch.Size([80, 11]), torch.float16, [11])
    """
    mel_rate = getattr(mel, "sample_rate", sample_rate)
    if mel_rate != sample_rate:
        raise ValueError(f"sample_rate={sample_rate} differs from the mel's {mel_rate}")
    dtype = dtype or torch.float32
    augment = augment if _num_copies(augment) else None
    key = features_cache_key(manifest_path, mel, sample_rate, num_frames, dtype, augment)
    cached = load_cache(cache_path, key, "features")
    if cached is not None:
        return cached

    manifest = read_manifest(manifest_path)
    device = next(iter(mel.buffers()), torch.empty(0)).device
    mels, frames, copies, digits, speakers, ids, skipped = [], [], [], [], [], [], []
    entries = list(manifest.items())
    if num_workers is None:
        num_workers = min(8, os.cpu_count() or 1)
    if device.type != "cpu" or len(entries) < (8 if augment is not None else 64):
        num_workers = 0
    jobs = [(entry["wav"], utt_id) for utt_id, entry in entries]
    results = _map_features(jobs, mel, sample_rate, device, num_workers, augment)
    items = tqdm(
        zip(entries, results), total=len(entries), desc="mel features", disable=not progress
    )

    def fit(mel_db):
        if num_frames is not None:
            mel_db = pad_or_crop(mel_db, num_frames, floor_db())
        return mel_db.to(dtype)

    for (utt_id, entry), result in items:
        if isinstance(result, str):
            skipped.append((entry["wav"], result))
            continue
        mel_db, *augmented = result
        frames.append(mel_db.shape[-1])
        mels.append(fit(mel_db))
        copies.append([fit(m) for m in augmented])
        if "digit" in entry:
            digits.append(int(entry["digit"]))
        speakers.append(str(entry.get("speaker", "")))
        ids.append(utt_id)
    warn_skipped(skipped, "unreadable audio files")
    if not mels:
        raise ValueError(f"no readable audio in manifest {manifest_path}")
    features = {
        "mel_db": mels if num_frames is None else torch.stack(mels),
        "frames": torch.tensor(frames, dtype=torch.long),
        "speaker": speakers,
        "ids": ids,
    }
    if num_frames is not None:
        features["lengths"] = features["frames"].clamp(max=num_frames) / num_frames
    if len(digits) == len(ids):
        features["digit"] = torch.tensor(digits, dtype=torch.long)
    if augment is not None:
        features["augmented"] = copies
    if cache_path is not None:
        save_cache(cache_path, key, features, compress=compress)
    return features


_WORKER_STATE = {}


def _worker_init(mel, sample_rate, augment):
    torch.set_num_threads(1)
    _WORKER_STATE.update(mel=mel, sample_rate=sample_rate, augment=augment)


def _file_features(job, mel=None, sample_rate=None, device=None, augment=None):
    """``[dB mel [n_mels, frames], *augmented copies]`` of one ``(path, key)`` job, or the
    error message when the file cannot be read."""
    path, key = job
    if mel is None:  # in a worker process
        mel, sample_rate = _WORKER_STATE["mel"], _WORKER_STATE["sample_rate"]
        augment = _WORKER_STATE["augment"]
    try:
        wav, _ = read_audio(path, sample_rate=sample_rate)
    except AudioReadError as err:
        return str(err)
    wavs = [wav] + (list(augment(wav, key)) if augment is not None else [])
    with torch.no_grad():
        if device is not None:
            wavs = [w.to(device) for w in wavs]
        return [amplitude_to_db(mel(w.unsqueeze(0)))[0].cpu() for w in wavs]


def _map_features(jobs, mel, sample_rate, device, num_workers, augment=None):
    """Iterate over the features of ``jobs`` (in order), in worker processes if asked."""
    if num_workers <= 1:
        return (_file_features(j, mel, sample_rate, device, augment) for j in jobs)
    context = multiprocessing.get_context("fork")
    pool = context.Pool(num_workers, initializer=_worker_init, initargs=(mel, sample_rate, augment))
    return _closing_imap(pool, jobs, chunksize=1 if augment is not None else 16)


def _closing_imap(pool, jobs, chunksize=16):
    with pool:
        yield from pool.imap(_file_features, jobs, chunksize=chunksize)


# ---- variable-length features (TTS) -----------------------------------------------------------
_SEQ_CACHE_VERSION = 1
DB_STEP = 0.5
"""dB resolution of quantised (uint8) mel caches: 0.5 dB per step from the -100 dB floor."""


def quantize_db(mel_db):
    """dB mel -> uint8 codes at ``DB_STEP`` dB from the floor (-100 dB .. +27.5 dB).

    Example
    -------
    >>> dequantize_db(quantize_db(torch.tensor([-100.0, -40.2, 5.0]))).tolist()
    [-100.0, -40.0, 5.0]
    """
    codes = torch.round((mel_db.float() - floor_db()) / DB_STEP).clamp(0, 255)
    return codes.to(torch.uint8)


def dequantize_db(codes):
    """uint8 codes of :func:`quantize_db` -> float32 dB."""
    return codes.float() * DB_STEP + floor_db()


def sequences_cache_key(manifest, mel, sample_rate):
    """Hash of (utterance ids and durations, mel settings, sample rate): not of the wav paths,
    so that a cache built where the audio lives still matches a moved copy of the manifest.

    Example
    -------
    >>> from audiodiff.audio.mel import MelSpectrogram
    >>> m = {"a": {"wav": "/x/a.wav", "duration": 1.0}}
    >>> moved = {"a": {"wav": "/y/a.flac", "duration": 1.0}}
    >>> sequences_cache_key(m, MelSpectrogram(), 16000) == sequences_cache_key(
    ...     moved, MelSpectrogram(), 16000)
    True
    """
    settings = {
        "version": _SEQ_CACHE_VERSION,
        "utterances": sorted((k, v.get("duration")) for k, v in manifest.items()),
        "mel": _mel_settings(mel),
        "sample_rate": sample_rate,
        "floor_db": floor_db(),
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


@torch.no_grad()
def compute_mel_sequences(
    manifest_path, mel, *, sample_rate=16000, cache_path=None, progress=True, num_workers=None
):
    """Full-length dB mel spectrograms of every utterance of a manifest (no padding).

    Like :func:`compute_features` but each utterance keeps its own length (TTS needs whole
    utterances) and the manifest needs no label fields. Values are cached as uint8 codes
    (:func:`quantize_db`, 0.5 dB steps: a quarter of float32's size) under
    :func:`sequences_cache_key`; unreadable files are skipped with one warning.

    Arguments
    ---------
    manifest_path : str or os.PathLike
        JSON manifest with a ``wav`` field per utterance.
    mel : torch.nn.Module
        Mel transform (``MelSpectrogram``).
    sample_rate : int
        Audio is resampled to it.
    cache_path : str or os.PathLike, optional
        Cache file (``.pt``).
    progress : bool
        Show a progress bar.
    num_workers : int, optional
        Reader processes (as in :func:`compute_features`).

    Returns
    -------
    dict
        ``ids``: list of N utterance ids (manifest order, readable ones); ``mel_db``: list of N
        float32 [n_mels, frames_i] dB tensors.

    Example
    -------
    >>> import tempfile, os, torch
    >>> from audiodiff.audio import MelSpectrogram, write_audio
    >>> from audiodiff.data.manifest import write_manifest
    >>> folder = tempfile.mkdtemp()
    >>> write_audio(f"{folder}/a.wav", 0.1 * torch.randn(2560), 16000)
    >>> write_manifest(f"{folder}/m.json", {"a": {"wav": f"{folder}/a.wav", "duration": 0.16}})
    >>> out = compute_mel_sequences(f"{folder}/m.json", MelSpectrogram(), progress=False)
    >>> out["ids"], out["mel_db"][0].shape
    (['a'], torch.Size([80, 11]))
    """
    mel_rate = getattr(mel, "sample_rate", sample_rate)
    if mel_rate != sample_rate:
        raise ValueError(f"sample_rate={sample_rate} differs from the mel's {mel_rate}")
    manifest = read_manifest(manifest_path)
    key = sequences_cache_key(manifest, mel, sample_rate)
    cached = load_cache(cache_path, key, "mel sequences")
    if cached is None:
        entries = list(manifest.items())
        device = next(iter(mel.buffers()), torch.empty(0)).device
        if num_workers is None:
            num_workers = min(8, os.cpu_count() or 1)
        if device.type != "cpu" or len(entries) < 64:
            num_workers = 0
        jobs = [(entry["wav"], utt_id) for utt_id, entry in entries]
        results = _map_features(jobs, mel, sample_rate, device, num_workers)
        items = tqdm(
            zip(entries, results), total=len(entries), desc="mel sequences", disable=not progress
        )
        ids, codes, skipped = [], [], []
        for (utt_id, entry), result in items:
            if isinstance(result, str):
                skipped.append((entry["wav"], result))
                continue
            ids.append(utt_id)
            codes.append(quantize_db(result[0]))  # no augmented copies here
        warn_skipped(skipped, "unreadable audio files")
        if not ids:
            raise ValueError(f"no readable audio in manifest {manifest_path}")
        cached = {"ids": ids, "codes": codes}
        if cache_path is not None:
            save_cache(cache_path, key, cached)
    return {"ids": list(cached["ids"]), "mel_db": [dequantize_db(c) for c in cached["codes"]]}
