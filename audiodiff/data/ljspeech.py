"""LJSpeech-1.1 preparation to SpeechBrain JSON manifests (text, normalized text, phonemes).

Layout (Ito and Johnson 2017; the bundled ``bundled_data/ljspeech_mini`` has the same one)::

    data_folder/wavs/LJ001-0001.wav   22,050 Hz mono 16-bit
    data_folder/metadata.csv          "id|text|normalized text", pipe-separated, no header

``data_folder`` may also be the parent of ``LJSpeech-1.1/``. LJSpeech has no official split:
a seeded shuffle puts ``valid_fraction`` and ``test_fraction`` of the utterances in valid and
test. Phonemes (IPA of the normalized text, eSpeak NG ``en-us``) are added when the optional
``audiodiff[synth]`` extra is installed.
"""

import logging
import os
import random

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

BUNDLED_LJSPEECH = os.path.abspath(
    os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "bundled_data", "ljspeech_mini")
)
"""The 32 real LJSpeech utterances bundled with a source checkout of audiodiff."""

METADATA = "metadata.csv"
SPEAKER = "LJ"


def split_by_fraction(ids, valid_fraction=0.05, test_fraction=0.05, seed=0):
    """Splits ids into train/valid/test by a seeded shuffle.

    Valid and test get ``round(fraction * n)`` ids each, at least one when there are three or
    more ids and the fraction is above zero; train gets the rest.

    Arguments
    ---------
    ids : iterable of str
        Utterance ids (sorted first, so the input order does not matter).
    valid_fraction, test_fraction : float
        Fractions in [0, 1).
    seed : int
        Shuffle seed.

    Returns
    -------
    dict
        ``{"train", "valid", "test"}`` -> sorted list of ids.

    Example
    -------
    >>> {k: len(v) for k, v in split_by_fraction([f"u{i}" for i in range(40)]).items()}
    {'train': 36, 'valid': 2, 'test': 2}
    """
    if valid_fraction < 0 or test_fraction < 0 or valid_fraction + test_fraction >= 1:
        raise ValueError("valid_fraction and test_fraction must be >= 0 with a sum below 1")
    ids = sorted(ids)
    random.Random(seed).shuffle(ids)
    counts = []
    for fraction in (valid_fraction, test_fraction):
        count = round(len(ids) * fraction)
        counts.append(max(1, count) if len(ids) >= 3 and fraction > 0 else count)
    n_valid, n_test = counts
    return {
        "train": sorted(ids[n_valid + n_test :]),
        "valid": sorted(ids[:n_valid]),
        "test": sorted(ids[n_valid : n_valid + n_test]),
    }


def find_ljspeech(data_folder):
    """Returns the LJSpeech root: the folder holding ``metadata.csv`` and ``wavs/``.

    Arguments
    ---------
    data_folder : str or os.PathLike
        The root itself or its parent (holding ``LJSpeech-1.1/``).

    Returns
    -------
    str
        Absolute path of the root.

    Raises
    ------
    DataFolderError
        If no ``metadata.csv`` is found; the message says to pass --data_folder.

    Example
    -------
    >>> os.path.basename(find_ljspeech(BUNDLED_LJSPEECH))
    'ljspeech_mini'
    """
    folder = os.path.abspath(os.fspath(data_folder))
    for root in (folder, os.path.join(folder, "LJSpeech-1.1")):
        if os.path.isfile(os.path.join(root, METADATA)):
            return root
    problem = "not found" if not os.path.isdir(folder) else f"holds no {METADATA}"
    raise DataFolderError(
        f"LJSpeech data folder '{folder}' {problem}: pass --data_folder PATH pointing at "
        "LJSpeech-1.1 (metadata.csv and wavs/), e.g. bundled_data/ljspeech_mini in a source "
        "checkout, or build a synthetic copy with tools/make_corpus.py ljspeech"
    )


def audio_path(root, utt_id):
    """``root/wavs/ID.wav``, or ``root/wavs/ID.flac`` when only a FLAC copy exists.

    Example
    -------
    >>> os.path.basename(audio_path(BUNDLED_LJSPEECH, "LJ001-0001"))
    'LJ001-0001.wav'
    """
    wav = os.path.join(root, "wavs", f"{utt_id}.wav")
    flac = os.path.join(root, "wavs", f"{utt_id}.flac")
    return flac if not os.path.exists(wav) and os.path.exists(flac) else wav


def read_metadata(path):
    """Reads ``metadata.csv``: ``{id: (text, normalized_text)}`` and the malformed lines.

    Arguments
    ---------
    path : str
        The ``id|text|normalized text`` file (a missing third field means "same as text").

    Returns
    -------
    rows : dict
        Id -> (text, normalized text).
    bad : list of (str, str)
        (line number, reason) of the lines left out.

    Example
    -------
    >>> rows, bad = read_metadata(os.path.join(BUNDLED_LJSPEECH, METADATA))
    >>> len(rows), bad
    (32, [])
    """
    rows, bad = {}, []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("|")
            if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
                bad.append((f"{METADATA} line {number}", "expected id|text|normalized text"))
                continue
            text = fields[1].strip()
            normalized = fields[2].strip() if len(fields) > 2 and fields[2].strip() else text
            rows[fields[0].strip()] = (text, normalized)
    return rows, bad


def prepare_ljspeech(
    data_folder,
    save_folder,
    valid_fraction=0.05,
    test_fraction=0.05,
    seed=0,
    phonemes="auto",
    phoneme_accent="en-us",
    held_out_last=0,
    skip_prep=False,
):
    """Writes train/valid/test manifests for LJSpeech-1.1 (or a copy in its layout).

    Entries: ``{utt_id: {"wav", "duration", "text", "normalized_text", "speaker",
    "phonemes"}}`` (``speaker`` is ``"LJ"``; ``phonemes`` only when phonemized); audio is
    ``wavs/ID.wav``, or ``wavs/ID.flac`` where no wav exists. ``speakers.json`` maps ``"LJ"``
    to 0, as for the multi-speaker datasets. Rows whose wav is missing, corrupt or empty, and
    malformed lines, are skipped with one warning each kind. Skipped when the manifests exist
    with the same options (``prepare_opts.json``) or when ``skip_prep`` is True.

    Arguments
    ---------
    data_folder : str or os.PathLike
        LJSpeech-1.1 root (or its parent), e.g. ``BUNDLED_LJSPEECH``.
    save_folder : str or os.PathLike
        Where the JSON manifests go.
    valid_fraction, test_fraction : float
        Split sizes (see ``split_by_fraction``).
    seed : int
        Split seed.
    phonemes : bool or str
        ``"auto"``: IPA when eSpeak NG (``audiodiff[synth]``) is installed; True: required;
        False: never.
    phoneme_accent : str
        eSpeak NG accent for the IPA (LJSpeech's reader is American).
    held_out_last : int
        When above 0, the test split is the last ``held_out_last`` utterances in id order
        (e.g. 20: LJ002-0121 .. LJ002-0140 of the 325-clip snapshot), never trained on, and
        ``valid_fraction`` of the others form valid; ``test_fraction`` is then unused.
    skip_prep : bool
        If True, do nothing and return the manifest paths.

    Returns
    -------
    dict
        ``{"train", "valid", "test", "speakers"}`` -> path of the JSON file.

    Raises
    ------
    DataFolderError
        If there is no ``metadata.csv`` or no readable wav listed in it.
    SynthUnavailableError
        If ``phonemes=True`` and eSpeak NG is not installed.

    Example
    -------
    >>> import tempfile
    >>> paths = prepare_ljspeech(BUNDLED_LJSPEECH, tempfile.mkdtemp(), phonemes=False)
    >>> from audiodiff.data.manifest import read_manifest
    >>> len(read_manifest(paths["train"])), read_manifest(paths["speakers"])
    (28, {'LJ': 0})
    """
    from audiodiff.data.synth.phonemize import phonemize_texts, resolve_phonemes

    paths = manifest_paths(save_folder)
    if skip_prep:
        return paths
    root = find_ljspeech(data_folder)
    metadata = os.path.join(root, METADATA)
    with_phonemes = resolve_phonemes(phonemes)
    opts = {
        "dataset": "ljspeech",
        "data_folder": root,
        "metadata_size": os.path.getsize(metadata),
        "valid_fraction": valid_fraction,
        "test_fraction": test_fraction,
        "seed": seed,
        "phonemes": with_phonemes,
        "phoneme_accent": phoneme_accent,
        "held_out_last": held_out_last,
    }
    if is_prepared(save_folder, opts, paths):
        logger.info("LJSpeech manifests in %s are up to date, skipping preparation", save_folder)
        return paths

    rows, bad = read_metadata(metadata)
    warn_skipped(bad, "malformed metadata lines")
    wavs = {audio_path(root, utt_id): utt_id for utt_id in rows}
    ok, _ = scan_audio_files(wavs)
    entries = {}
    for path, duration in ok:
        utt_id = wavs[path]
        text, normalized = rows[utt_id]
        entries[utt_id] = {
            "wav": path,
            "duration": round(duration, 4),
            "text": text,
            "normalized_text": normalized,
            "speaker": SPEAKER,
        }
    if not entries:
        raise DataFolderError(
            f"LJSpeech data folder '{root}' has no readable wavs/ID.wav for the ids in "
            f"{METADATA}: pass --data_folder PATH"
        )
    if with_phonemes:
        ids = sorted(entries)
        ipa = phonemize_texts([entries[i]["normalized_text"] for i in ids], phoneme_accent)
        for utt_id, value in zip(ids, ipa):
            entries[utt_id]["phonemes"] = value
    if held_out_last > 0:
        ids = sorted(entries)
        if held_out_last >= len(ids):
            raise DataFolderError(
                f"held_out_last={held_out_last} leaves nothing to train on: '{root}' has "
                f"{len(ids)} readable utterances"
            )
        splits = split_by_fraction(ids[:-held_out_last], valid_fraction, 0.0, seed)
        splits["test"] = ids[-held_out_last:]
    else:
        splits = split_by_fraction(entries, valid_fraction, test_fraction, seed)
    for name, ids in splits.items():
        write_manifest(paths[name], {utt_id: entries[utt_id] for utt_id in ids})
    write_manifest(paths["speakers"], {SPEAKER: 0})
    save_opts(save_folder, opts)
    logger.info(
        "wrote LJSpeech manifests to %s: %s",
        os.path.dirname(paths["train"]),
        ", ".join(f"{k} {len(v)}" for k, v in splits.items()),
    )
    return paths
