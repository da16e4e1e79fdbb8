"""Speech Commands -> SC09 (the spoken digits zero..nine) preparation to SpeechBrain JSON manifests.

Speech Commands layout (v0.01 and v0.02, Warden 2018)::

    data_folder/{word}/{hash}_nohash_{i}.wav   16 kHz mono, at most 1 s; hash = speaker (8 hex)
    data_folder/validation_list.txt            one "{word}/{hash}_nohash_{i}.wav" per line
    data_folder/testing_list.txt               the same for the test split

Files in neither list are training files. Only the folders ``zero`` .. ``nine`` are used (the
other words and ``_background_noise_`` are ignored). The official split is by speaker hash
(``which_set``), so SC09's train/valid/test speakers are disjoint, unlike FSDD's repetition
split; without list files the split is computed with ``which_set``.

Also accepted: the standalone SC09 release (``sc09/{train,valid,test}/{Word}_{hash}_nohash_{i}.wav``
as used by WaveGAN and DiffWave), whose folders give the split.
"""

import glob
import hashlib
import logging
import os
import re

from audiodiff.data.errors import DataFolderError
from audiodiff.data.manifest import (
    is_prepared,
    manifest_paths,
    save_opts,
    scan_audio_files,
    warn_skipped,
    write_manifest,
)

logger = logging.getLogger(__name__)

BUNDLED_SC09_MINI = os.path.abspath(
    os.path.join(
        os.path.dirname(__file__),
        os.pardir,
        os.pardir,
        "bundled_data",
        "sc09_mini",
        "speech_commands_v0.01",
    )
)
"""100 real Speech Commands v0.01 digit clips (22 speakers, the release layout and official
lists) bundled with a source checkout: for tests and listening, far too few to train on."""

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
"""The ten Speech Commands words of SC09, index = digit."""

VALIDATION_LIST = "validation_list.txt"
TESTING_LIST = "testing_list.txt"
MAX_NUM_WAVS_PER_CLASS = 2**27 - 1  # ~134M, as in the dataset's reference input_data.py

_NAME = re.compile(r"^([0-9a-fA-F]+)_nohash_(\d+)$")
_SC09_NAME = re.compile(r"^([A-Za-z]+)_([0-9a-fA-F]+)_nohash_(\d+)$")
_SC09_SPLITS = {"train": "train", "valid": "valid", "test": "test"}


def which_set(filename, validation_percentage=10.0, testing_percentage=10.0):
    """The official Speech Commands split of a file, from the hash of its speaker part.

    The reference rule (``input_data.which_set`` of the dataset's release): everything before
    ``_nohash_`` is hashed with SHA-1, so all files of one speaker land in the same split.

    Arguments
    ---------
    filename : str
        File path or name, ``{hash}_nohash_{i}.wav``.
    validation_percentage, testing_percentage : float
        Split sizes in percent (10 and 10 in the official lists).

    Returns
    -------
    str
        ``"validation"``, ``"testing"`` or ``"training"``.

    Example
    -------
    >>> which_set("zero/0a7c2a8d_nohash_0.wav") == which_set("nine/0a7c2a8d_nohash_3.wav")
    True
    """
    hash_name = re.sub(r"_nohash_.*$", "", os.path.basename(filename))
    hashed = hashlib.sha1(hash_name.encode("utf-8")).hexdigest()
    percentage = (int(hashed, 16) % (MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / MAX_NUM_WAVS_PER_CLASS)
    if percentage < validation_percentage:
        return "validation"
    if percentage < testing_percentage + validation_percentage:
        return "testing"
    return "training"


def _missing_folder_error(data_folder, problem):
    return DataFolderError(
        f"Speech Commands data folder '{data_folder}' {problem}: pass --data_folder PATH "
        "pointing at the folder that holds zero/ .. nine/ with {hash}_nohash_{i}.wav files "
        "(and validation_list.txt, testing_list.txt), or at an SC09 folder with train/ valid/ "
        "test/; tools/make_corpus.py sc09 builds a synthetic copy"
    )


def _read_list(path):
    with open(path, encoding="utf-8") as f:
        return {line.strip().replace("\\", "/") for line in f if line.strip()}


def _speech_commands_files(root):
    """[(path, digit, speaker, rep, split)] from word folders and the official lists."""
    lists = [os.path.join(root, name) for name in (VALIDATION_LIST, TESTING_LIST)]
    if all(os.path.isfile(p) for p in lists):
        valid, test = (_read_list(p) for p in lists)
    else:
        logger.warning(
            "%s has no %s / %s: computing the official split from the speaker hashes",
            root,
            VALIDATION_LIST,
            TESTING_LIST,
        )
        valid = test = None
    files, unparsed = [], []
    for digit, word in enumerate(DIGIT_WORDS):
        for path in sorted(glob.glob(os.path.join(glob.escape(root), word, "*.wav"))):
            match = _NAME.match(os.path.splitext(os.path.basename(path))[0])
            if match is None:
                unparsed.append((path, "name is not {hash}_nohash_{i}.wav"))
                continue
            relative = f"{word}/{os.path.basename(path)}"
            if valid is None:
                split = {"validation": "valid", "testing": "test"}.get(which_set(relative), "train")
            else:
                split = "valid" if relative in valid else "test" if relative in test else "train"
            files.append((path, digit, match[1], int(match[2]), split))
    warn_skipped(unparsed, "files with unexpected names")
    return files


def _sc09_files(root):
    """[(path, digit, speaker, rep, split)] from the SC09 release's train/valid/test folders."""
    files, unparsed = [], []
    for folder, split in _SC09_SPLITS.items():
        for path in sorted(glob.glob(os.path.join(glob.escape(root), folder, "*.wav"))):
            match = _SC09_NAME.match(os.path.splitext(os.path.basename(path))[0])
            if match is None or match[1].lower() not in DIGIT_WORDS:
                unparsed.append((path, "name is not {Word}_{hash}_nohash_{i}.wav"))
                continue
            digit = DIGIT_WORDS.index(match[1].lower())
            files.append((path, digit, match[2], int(match[3]), split))
    warn_skipped(unparsed, "files with unexpected names")
    return files


def find_speech_commands(data_folder):
    """Finds the layout: ``("speech_commands", root)`` or ``("sc09", root)``.

    Arguments
    ---------
    data_folder : str or os.PathLike
        Speech Commands root (holding ``zero/`` .. ``nine/``) or SC09 root (``train/`` ...).

    Returns
    -------
    tuple of (str, str)
        The layout name and the absolute root folder.

    Raises
    ------
    DataFolderError
        If neither layout is found; the message says to pass --data_folder.

    Example
    -------
    >>> try:
    ...     find_speech_commands("/no/such/folder")
    ... except DataFolderError as err:
    ...     print("--data_folder" in str(err))
    True
    """
    root = os.path.abspath(os.fspath(data_folder))
    if any(glob.glob(os.path.join(glob.escape(root), w, "*.wav")) for w in DIGIT_WORDS):
        return "speech_commands", root
    if any(glob.glob(os.path.join(glob.escape(root), f, "*.wav")) for f in _SC09_SPLITS):
        return "sc09", root
    problem = "not found" if not os.path.isdir(root) else "holds no zero/ .. nine/ wav folders"
    raise _missing_folder_error(root, problem)


def prepare_sc09(data_folder, save_folder, skip_prep=False):
    """Writes train/valid/test manifests of the SC09 digits from a Speech Commands folder.

    Entries have the fields of ``prepare_fsdd``:
    ``{utt_id: {"wav", "duration", "digit", "speaker", "rep"}}`` with ``utt_id =
    "{word}_{hash}_nohash_{i}"``, ``speaker`` the hash and ``rep`` the ``i``; the split is the
    official one (list files, speaker-disjoint). ``speakers.json`` maps the sorted speakers of
    all splits to indices. Corrupt or empty wavs and unexpected names are skipped with one
    warning each kind. Skipped when the manifests exist with the same options
    (``prepare_opts.json``) or when ``skip_prep`` is True.

    Arguments
    ---------
    data_folder : str or os.PathLike
        Speech Commands root (``zero/`` .. ``nine/``, list files), or an SC09 release root.
    save_folder : str or os.PathLike
        Where the JSON manifests go.
    skip_prep : bool
        If True, do nothing and return the manifest paths.

    Returns
    -------
    dict
        ``{"train", "valid", "test", "speakers"}`` -> path of the JSON file.

    Raises
    ------
    DataFolderError
        If the folder holds no digit wavs (the message says to pass --data_folder).
    ValueError
        If a split ends up empty.

    Example
    -------
    >>> import tempfile, torch
    >>> from audiodiff.audio.io import write_audio
    >>> root = tempfile.mkdtemp()
    >>> for name in ("aaaa0001", "bbbb0002", "cccc0003"):
    ...     write_audio(f"{root}/seven/{name}_nohash_0.wav", torch.zeros(16000), 16000)
    >>> _ = open(f"{root}/validation_list.txt", "w").write("seven/bbbb0002_nohash_0.wav\\n")
    >>> _ = open(f"{root}/testing_list.txt", "w").write("seven/cccc0003_nohash_0.wav\\n")
    >>> paths = prepare_sc09(root, f"{root}/manifests")
    >>> from audiodiff.data.manifest import read_manifest
    >>> read_manifest(paths["valid"])["seven_bbbb0002_nohash_0"]["digit"]
    7
    """
    paths = manifest_paths(save_folder)
    if skip_prep:
        return paths
    layout, root = find_speech_commands(data_folder)
    list_sizes = [
        os.path.getsize(p) if os.path.isfile(p) else None
        for p in (os.path.join(root, VALIDATION_LIST), os.path.join(root, TESTING_LIST))
    ]
    files = _speech_commands_files(root) if layout == "speech_commands" else _sc09_files(root)
    opts = {
        "dataset": "sc09",
        "layout": layout,
        "data_folder": root,
        "num_wavs": len(files),
        "list_sizes": list_sizes,
    }
    if is_prepared(save_folder, opts, paths):
        logger.info("SC09 manifests in %s are up to date, skipping preparation", save_folder)
        return paths

    info = {path: rest for path, *rest in files}
    ok, _ = scan_audio_files(info)
    splits = {"train": {}, "valid": {}, "test": {}}
    for path, duration in ok:
        digit, speaker, rep, split = info[path]
        utt_id = f"{DIGIT_WORDS[digit]}_{speaker}_nohash_{rep}"
        splits[split][utt_id] = {
            "wav": path,
            "duration": round(duration, 4),
            "digit": digit,
            "speaker": speaker,
            "rep": rep,
        }
    if not any(splits.values()):
        raise _missing_folder_error(root, "holds no readable digit wavs")
    for name, split in splits.items():
        if not split:
            raise ValueError(
                f"the SC09 {name} split of {root} is empty: the official lists (or speaker "
                "hashes) put no digit file there; use a larger copy of the dataset"
            )
        write_manifest(paths[name], dict(sorted(split.items())))
    speakers = sorted({e["speaker"] for split in splits.values() for e in split.values()})
    write_manifest(paths["speakers"], {name: i for i, name in enumerate(speakers)})
    save_opts(save_folder, opts)
    logger.info(
        "wrote SC09 manifests to %s: %s, %d speakers",
        os.path.dirname(paths["train"]),
        ", ".join(f"{k} {len(v)}" for k, v in splits.items()),
        len(speakers),
    )
    return paths
