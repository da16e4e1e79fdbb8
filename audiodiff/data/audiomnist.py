"""AudioMNIST preparation to SpeechBrain JSON manifests (local folder, or download on request).

Local layout (the original release, github.com/soerenab/AudioMNIST)::

    data_folder/data/NN/{digit}_{NN}_{rep}.wav     48 kHz mono, NN = "01".."60", rep 0..49
    data_folder/data/audioMNIST_meta.txt           JSON {"01": {"accent", "age", "gender", ...}}

(the meta file is also accepted at ``data_folder/audioMNIST_meta.txt``, and ``data_folder`` may
be the ``data`` folder itself).

Download (only with ``download=True``) uses the Hugging Face dataset ``flexthink/audiomnist``
through ``datasets.load_dataset``; its rows are written as wavs into the layout above, then the
local preparation runs. Assumed row schema (the dataset is built by SpeechBrain's AudioMNIST
preparation script; columns are looked up by name, common variants accepted):

- audio: ``audio`` (or ``wav``/``speech``): ``{"array", "sampling_rate"}`` when decoded, or
  ``{"bytes", "path"}`` (Audio columns are read with ``decode=False`` and decoded with
  soundfile, so torchcodec is not needed);
- a file name ``{digit}_{NN}_{rep}.wav`` in ``file_name``/``filename``/``file``/``path``/
  ``id`` or in the audio ``path``: digit, speaker and repetition are taken from it when present;
- otherwise ``digit`` (or ``label``) and ``speaker_id`` (or ``speaker``); repetitions are then
  numbered in row order per (speaker, digit);
- optional speaker metadata columns ``gender``, ``accent``, ``age``, ``native_speaker``,
  ``origin``, written to ``audioMNIST_meta.txt`` when the folder has none.

The Hub repository holds a loading script, which ``datasets`` 4+ refuses; the loader then falls
back to the Hub's automatic Parquet export (``revision="refs/convert/parquet"``). All splits of
the Hub dataset are merged: the splits here are by repetition, like FSDD's.
"""

import glob
import io
import json
import logging
import os
import re

import numpy as np
import soundfile

from audiodiff.audio.io import write_audio
from audiodiff.data.errors import DataFolderError
from audiodiff.data.manifest import (
    is_prepared,
    manifest_paths,
    save_opts,
    scan_audio_files,
    warn_skipped,
)
from audiodiff.data.splits import write_digit_manifests

logger = logging.getLogger(__name__)

HF_DATASET = "flexthink/audiomnist"
META_FILE = "audioMNIST_meta.txt"

_NAME = re.compile(r"(\d)_(\d+)_(\d+)")
_AUDIO_COLUMNS = ("audio", "wav", "speech")
_NAME_COLUMNS = ("file_name", "filename", "file", "path", "id", "utt_id")
_DIGIT_COLUMNS = ("digit", "label", "labels")
_SPEAKER_COLUMNS = ("speaker_id", "speaker", "speaker_name")
_META_COLUMNS = ("gender", "accent", "age", "native_speaker", "origin")
_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _missing_folder_error(data_folder, problem):
    return DataFolderError(
        f"AudioMNIST data folder '{data_folder}' {problem}: pass --data_folder PATH pointing at "
        "the folder that holds data/NN/*.wav, or --download true to fetch "
        f"{HF_DATASET}, or use --dataset fsdd for the bundled data"
    )


def _wavs_under(folder):
    return sorted(glob.glob(os.path.join(glob.escape(folder), "*", "*.wav")))


def find_audiomnist_data(data_folder):
    """Returns the folder holding the speaker folders ``NN/`` (``data_folder/data`` or itself).

    Arguments
    ---------
    data_folder : str or os.PathLike
        AudioMNIST root (holding ``data/``) or its ``data`` folder.

    Returns
    -------
    str
        Absolute path of the folder whose subfolders hold the wavs.

    Raises
    ------
    DataFolderError
        If no such folder exists; the message says to pass --data_folder or --download true.

    Example
    -------
    >>> try:
    ...     find_audiomnist_data("/no/such/folder")
    ... except DataFolderError as err:
    ...     print("--data_folder" in str(err))
    True
    """
    data_folder = os.path.abspath(os.fspath(data_folder))
    for folder in (os.path.join(data_folder, "data"), data_folder):
        if _wavs_under(folder):
            return folder
    problem = "not found" if not os.path.isdir(data_folder) else "holds no data/NN/*.wav files"
    raise _missing_folder_error(data_folder, problem)


def _read_meta(data_folder, data_dir):
    for path in (os.path.join(data_dir, META_FILE), os.path.join(data_folder, META_FILE)):
        if os.path.isfile(path):
            try:
                with open(path, encoding="utf-8") as f:
                    return json.load(f)
            except (OSError, ValueError) as err:
                logger.warning("ignoring unreadable AudioMNIST meta file %s (%s)", path, err)
    return {}


def _pick(columns, candidates):
    return next((c for c in candidates if c in columns), None)


def _digit_value(value):
    if isinstance(value, str):
        value = value.strip().lower()
        return _DIGIT_WORDS.index(value) if value in _DIGIT_WORDS else int(value)
    return int(value)


def _speaker_value(value):
    value = str(value).strip()
    return value.zfill(2) if value.isdigit() else value


def _decode_audio(value):
    """Row audio value -> (float32 array [samples], sample_rate)."""
    if isinstance(value, dict) and value.get("array") is not None:
        array = np.asarray(value["array"], dtype=np.float32)
        return (array.mean(axis=-1) if array.ndim == 2 else array), int(value["sampling_rate"])
    if isinstance(value, dict) and value.get("bytes"):
        data, rate = soundfile.read(io.BytesIO(value["bytes"]), dtype="float32", always_2d=True)
        return data.mean(axis=1), rate
    if isinstance(value, dict) and value.get("path") and os.path.isfile(value["path"]):
        data, rate = soundfile.read(value["path"], dtype="float32", always_2d=True)
        return data.mean(axis=1), rate
    raise ValueError("audio value has neither array, bytes nor a readable path")


def _without_decoding(dataset):
    """Casts ``datasets.Audio`` columns to ``decode=False`` (raw bytes, no torchcodec)."""
    import datasets

    for name, feature in (dataset.features or {}).items():
        if isinstance(feature, datasets.Audio) and feature.decode:
            dataset = dataset.cast_column(name, datasets.Audio(decode=False))
    return dataset


def _load_hub_dataset(name=HF_DATASET):
    import datasets

    logger.info("downloading %s with datasets.load_dataset", name)
    try:
        return datasets.load_dataset(name)
    except RuntimeError as err:
        if "scripts are no longer supported" not in str(err):
            raise
        logger.info("%s has a loading script; using its Parquet export instead", name)
        return datasets.load_dataset(name, revision="refs/convert/parquet")


def write_hf_dataset(dataset, data_folder):
    """Writes the rows of a Hugging Face AudioMNIST dataset into the original folder layout.

    See the module docstring for the assumed schema. Rows whose audio cannot be decoded or
    whose digit/speaker cannot be found are skipped with one warning.

    Arguments
    ---------
    dataset : datasets.Dataset or datasets.DatasetDict
        Rows with an audio column and digit/speaker information (all splits are written).
    data_folder : str or os.PathLike
        AudioMNIST root; wavs go to ``data_folder/data/NN/{digit}_{NN}_{rep}.wav``.

    Returns
    -------
    int
        Number of wavs written.

    Example
    -------
    >>> import datasets, numpy as np, tempfile
    >>> rows = {"audio": [{"array": np.zeros(480), "sampling_rate": 48000}] * 2,
    ...         "digit": [3, 3], "speaker_id": ["7", "7"]}
    >>> write_hf_dataset(datasets.Dataset.from_dict(rows), tempfile.mkdtemp())
    2
    """
    splits = list(dataset.values()) if hasattr(dataset, "keys") else [dataset]
    data_dir = os.path.join(os.path.abspath(os.fspath(data_folder)), "data")
    written, skipped, meta, counters = 0, [], {}, {}
    for split in splits:
        split = _without_decoding(split)
        columns = list(split.column_names)
        audio_col = _pick(columns, _AUDIO_COLUMNS)
        if audio_col is None:
            raise ValueError(f"no audio column among {columns} (expected one of {_AUDIO_COLUMNS})")
        name_col = _pick(columns, _NAME_COLUMNS)
        digit_col = _pick(columns, _DIGIT_COLUMNS)
        speaker_col = _pick(columns, _SPEAKER_COLUMNS)
        for index, row in enumerate(split):
            audio = row[audio_col]
            name = row[name_col] if name_col else None
            if not name and isinstance(audio, dict):
                name = audio.get("path")
            match = _NAME.search(os.path.basename(str(name))) if name else None
            try:
                if match:
                    digit, speaker, rep = int(match[1]), _speaker_value(match[2]), int(match[3])
                else:
                    digit = _digit_value(row[digit_col])
                    speaker = _speaker_value(row[speaker_col])
                    rep = counters.get((speaker, digit), 0)
                counters[(speaker, digit)] = max(counters.get((speaker, digit), 0), rep + 1)
                wav, sample_rate = _decode_audio(audio)
            except Exception as err:  # bad row: count it, keep going
                skipped.append((f"row {index}", str(err)))
                continue
            if wav.size == 0:
                skipped.append((f"row {index}", "empty audio"))
                continue
            path = os.path.join(data_dir, speaker, f"{digit}_{speaker}_{rep}.wav")
            write_audio(path, wav, sample_rate)
            written += 1
            extra = {c: row[c] for c in _META_COLUMNS if c in columns and row[c] is not None}
            if extra:
                meta.setdefault(speaker, extra)
    warn_skipped(skipped, "dataset rows")
    meta_path = os.path.join(data_dir, META_FILE)
    if meta and not os.path.isfile(meta_path):
        with open(meta_path, "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=2, default=str)
    logger.info("wrote %d AudioMNIST wavs under %s", written, data_dir)
    return written


def prepare_audiomnist(
    data_folder,
    save_folder,
    download=False,
    hf_dataset=None,
    valid_reps=range(5, 10),
    test_reps=range(0, 5),
    skip_prep=False,
):
    """Writes speaker-stratified train/valid/test manifests for AudioMNIST.

    Same manifests as ``prepare_fsdd`` (speaker = ``"NN"``), split by repetition index (test =
    0-4, valid = 5-9, train = the rest, so every speaker appears in every split), plus
    ``gender`` and ``accent`` when the meta file lists the speaker. Corrupt or empty wavs are
    skipped, counted and warned about. Skipped when the manifests exist with the same options
    (``prepare_opts.json``) or when ``skip_prep`` is True.

    Arguments
    ---------
    data_folder : str or os.PathLike
        AudioMNIST root holding ``data/NN/*.wav`` (see the module docstring).
    save_folder : str or os.PathLike
        Where the JSON manifests go.
    download : bool
        If True and ``data_folder`` holds no wavs, fetch ``flexthink/audiomnist`` with
        ``datasets.load_dataset`` (the only network access) and write it into ``data_folder``.
    hf_dataset : datasets.Dataset or datasets.DatasetDict, optional
        Rows to write into ``data_folder`` instead of downloading (e.g. a local copy).
    valid_reps, test_reps : iterable of int
        Repetition indices of the valid and test splits.
    skip_prep : bool
        If True, do nothing and return the manifest paths.

    Returns
    -------
    dict
        ``{"train", "valid", "test", "speakers"}`` -> path of the JSON file.

    Raises
    ------
    DataFolderError
        If the data folder holds no AudioMNIST wavs and nothing is to be downloaded.

    Example
    -------
    >>> import tempfile, torch
    >>> root = tempfile.mkdtemp()
    >>> for rep in range(12):
    ...     write_audio(f"{root}/data/01/3_01_{rep}.wav", torch.zeros(480), 48000)
    >>> paths = prepare_audiomnist(root, f"{root}/manifests")
    >>> from audiodiff.data.manifest import read_manifest
    >>> read_manifest(paths["test"])["3_01_0"]["speaker"]
    '01'
    """
    paths = manifest_paths(save_folder)
    if skip_prep:
        return paths
    data_folder = os.path.abspath(os.fspath(data_folder))
    if hf_dataset is not None:
        write_hf_dataset(hf_dataset, data_folder)
    elif download:
        try:
            find_audiomnist_data(data_folder)
        except DataFolderError:
            write_hf_dataset(_load_hub_dataset(), data_folder)
    data_dir = find_audiomnist_data(data_folder)
    wavs = _wavs_under(data_dir)
    opts = {
        "dataset": "audiomnist",
        "data_folder": data_dir,
        "valid_reps": sorted(valid_reps),
        "test_reps": sorted(test_reps),
        "num_wavs": len(wavs),
    }
    if is_prepared(save_folder, opts, paths):
        logger.info("AudioMNIST manifests in %s are up to date, skipping preparation", save_folder)
        return paths

    meta = _read_meta(data_folder, data_dir)
    ok, _ = scan_audio_files(wavs)
    entries, unparsed = {}, []
    for path, duration in ok:
        stem = os.path.splitext(os.path.basename(path))[0]
        match = _NAME.fullmatch(stem)
        if match is None:
            unparsed.append((path, "name is not {digit}_{NN}_{rep}.wav"))
            continue
        speaker = _speaker_value(match[2])
        entry = {
            "wav": path,
            "duration": round(duration, 4),
            "digit": int(match[1]),
            "speaker": speaker,
            "rep": int(match[3]),
        }
        speaker_meta = meta.get(speaker, {})
        for field in ("gender", "accent"):
            if field in speaker_meta:
                entry[field] = speaker_meta[field]
        entries[stem] = entry
    warn_skipped(unparsed, "files with unexpected names")
    if not entries:
        raise _missing_folder_error(data_folder, "holds no readable data/NN/*.wav files")
    write_digit_manifests(entries, save_folder, valid_reps, test_reps)
    save_opts(save_folder, opts)
    return paths
