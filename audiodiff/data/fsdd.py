"""Free Spoken Digit Dataset (FSDD) preparation to SpeechBrain JSON manifests.

FSDD: 8 kHz mono wavs named ``{digit}_{speaker}_{index}.wav`` (6 speakers x 10 digits x 50
repetitions in the bundled copy). A copy ships with the repository in ``bundled_data/fsdd``.
"""

import glob
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
)
from audiodiff.data.splits import write_digit_manifests

logger = logging.getLogger(__name__)

BUNDLED_FSDD = os.path.abspath(
    os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "bundled_data", "fsdd")
)
"""The FSDD copy bundled with a source checkout (editable install) of audiodiff."""

_NAME = re.compile(r"^(\d)_([A-Za-z0-9]+)_(\d+)$")


def find_fsdd_recordings(data_folder):
    """Returns the folder holding the FSDD wavs: ``data_folder/recordings`` or ``data_folder``.

    Arguments
    ---------
    data_folder : str or os.PathLike
        The FSDD root (with ``recordings/`` inside) or the recordings folder itself.

    Returns
    -------
    str
        Absolute path of the folder holding ``{digit}_{speaker}_{index}.wav``.

    Raises
    ------
    DataFolderError
        If neither folder exists or holds wav files; the message says to pass --data_folder.

    Example
    -------
    >>> os.path.basename(find_fsdd_recordings(BUNDLED_FSDD))
    'recordings'
    """
    data_folder = os.path.abspath(os.fspath(data_folder))
    for folder in (os.path.join(data_folder, "recordings"), data_folder):
        if glob.glob(os.path.join(glob.escape(folder), "*.wav")):
            return folder
    problem = "not found" if not os.path.isdir(data_folder) else "holds no .wav files"
    raise DataFolderError(
        f"FSDD data folder '{data_folder}' {problem}: pass --data_folder PATH pointing at the "
        "folder that holds {digit}_{speaker}_{index}.wav (or its parent with recordings/); "
        "the bundled copy bundled_data/fsdd exists only in a source checkout of audiodiff"
    )


def parse_fsdd_name(path):
    """Parses ``{digit}_{speaker}_{index}.wav``.

    Arguments
    ---------
    path : str
        File path or name.

    Returns
    -------
    tuple or None
        ``(digit: int, speaker: str, rep: int)``, or None if the name does not match.

    Example
    -------
    >>> parse_fsdd_name("/data/7_jackson_32.wav")
    (7, 'jackson', 32)
    >>> parse_fsdd_name("notes.wav") is None
    True
    """
    match = _NAME.match(os.path.splitext(os.path.basename(path))[0])
    if match is None:
        return None
    return int(match.group(1)), match.group(2), int(match.group(3))


def prepare_fsdd(
    data_folder,
    save_folder,
    valid_reps=range(5, 10),
    test_reps=range(0, 5),
    skip_prep=False,
):
    """Writes speaker-stratified train/valid/test manifests for FSDD.

    Splits by repetition index: test = repetitions 0-4 (FSDD's official test split), valid =
    5-9, train = the rest, so every speaker appears in every split (checked: a speaker missing
    from a split is logged as a warning; an empty split raises ``ValueError``). Entries:
    ``{utt_id: {"wav", "duration", "digit", "speaker", "rep"}}``; ``speakers.json`` maps sorted
    speaker names to indices. Corrupt or empty wavs, and files whose names do not match
    ``{digit}_{speaker}_{index}.wav``, are skipped with one warning each kind.

    Preparation is skipped when the manifests exist and ``prepare_opts.json`` records the same
    options (data folder, splits, number of wav files), or when ``skip_prep`` is True.

    Arguments
    ---------
    data_folder : str or os.PathLike
        FSDD root (holding ``recordings/``) or the recordings folder; e.g. ``BUNDLED_FSDD``.
    save_folder : str or os.PathLike
        Where the JSON manifests go.
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
        If the data folder is missing or holds no wavs (the message says to pass --data_folder).

    Example
    -------
    >>> import tempfile
    >>> paths = prepare_fsdd(BUNDLED_FSDD, tempfile.mkdtemp())
    >>> from audiodiff.data.manifest import read_manifest
    >>> len(read_manifest(paths["test"]))
    300
    """
    paths = manifest_paths(save_folder)
    if skip_prep:
        return paths
    recordings = find_fsdd_recordings(data_folder)
    wavs = sorted(glob.glob(os.path.join(glob.escape(recordings), "*.wav")))
    opts = {
        "dataset": "fsdd",
        "data_folder": recordings,
        "valid_reps": sorted(valid_reps),
        "test_reps": sorted(test_reps),
        "num_wavs": len(wavs),
    }
    if is_prepared(save_folder, opts, paths):
        logger.info("FSDD manifests in %s are up to date, skipping preparation", save_folder)
        return paths

    ok, _ = scan_audio_files(wavs)
    entries, unparsed = {}, []
    for path, duration in ok:
        parsed = parse_fsdd_name(path)
        if parsed is None:
            unparsed.append((path, "name is not {digit}_{speaker}_{index}.wav"))
            continue
        digit, speaker, rep = parsed
        utt_id = os.path.splitext(os.path.basename(path))[0]
        entries[utt_id] = {
            "wav": path,
            "duration": round(duration, 4),
            "digit": digit,
            "speaker": speaker,
            "rep": rep,
        }
    warn_skipped(unparsed, "files with unexpected names")
    if not entries:
        raise DataFolderError(
            f"FSDD data folder '{recordings}' holds no readable "
            "{digit}_{speaker}_{index}.wav files: pass --data_folder PATH"
        )
    write_digit_manifests(entries, save_folder, valid_reps, test_reps)
    save_opts(save_folder, opts)
    return paths
