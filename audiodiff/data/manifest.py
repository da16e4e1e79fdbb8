"""SpeechBrain JSON manifests: writing, reading, scanning audio files, skip-if-prepared checks.

A manifest maps utterance ids to fields; for the spoken-digit datasets::

    {"7_jackson_32": {"wav": "/abs/path/7_jackson_32.wav", "duration": 0.41,
                      "digit": 7, "speaker": "jackson", "rep": 32}}
"""

import json
import logging
import os

from audiodiff.audio.io import AudioReadError, audio_info

logger = logging.getLogger(__name__)

OPTS_FILE = "prepare_opts.json"
_SHOW_SKIPPED = 5


def write_manifest(path, entries):
    """Writes a manifest (``{utt_id: {field: value}}``) as indented JSON, creating folders.

    Arguments
    ---------
    path : str or os.PathLike
        Output ``.json`` file.
    entries : dict
        Utterance id -> dict of JSON-serialisable fields.

    Example
    -------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "m.json")
    >>> write_manifest(path, {"a": {"wav": "/x/a.wav", "duration": 1.0}})
    >>> read_manifest(path)["a"]["duration"]
    1.0
    """
    path = os.fspath(path)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(entries, f, indent=2)
    os.replace(tmp, path)  # never leave a half-written manifest behind


def read_manifest(path):
    """Reads a JSON manifest.

    Arguments
    ---------
    path : str or os.PathLike
        Manifest file.

    Returns
    -------
    dict
        Utterance id -> fields.

    Example
    -------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "m.json")
    >>> write_manifest(path, {"a": {"digit": 3}})
    >>> read_manifest(path)
    {'a': {'digit': 3}}
    """
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def scan_audio_files(paths):
    """Checks audio files cheaply (header only) and returns their durations.

    Corrupt, unreadable and empty (0-sample) files are skipped, counted, and reported in one
    ``logger.warning`` naming the count and the first few files; no exception escapes.

    Arguments
    ---------
    paths : iterable of str
        Audio files.

    Returns
    -------
    ok : list of (str, float)
        (absolute path, duration in seconds) of the readable files, in input order.
    skipped : list of (str, str)
        (path, reason) of the files left out.

    Example
    -------
    >>> import tempfile, os, torch
    >>> from audiodiff.audio.io import write_audio
    >>> folder = tempfile.mkdtemp()
    >>> write_audio(os.path.join(folder, "a.wav"), torch.zeros(800), 8000)
    >>> ok, skipped = scan_audio_files([os.path.join(folder, "a.wav")])
    >>> [round(d, 2) for _, d in ok], skipped
    ([0.1], [])
    """
    ok, skipped = [], []
    for path in paths:
        path = os.path.abspath(os.fspath(path))
        try:
            frames, sample_rate = audio_info(path)
        except AudioReadError as err:
            skipped.append((path, str(err)))
            continue
        ok.append((path, frames / sample_rate))
    warn_skipped(skipped, "unreadable or empty audio files")
    return ok, skipped


def warn_skipped(skipped, what):
    """Logs one warning for a list of skipped items: the count and the first few names.

    Arguments
    ---------
    skipped : list of (str, str)
        (path or id, reason) pairs; nothing is logged when empty.
    what : str
        What the items are, e.g. ``"unreadable or empty audio files"``.

    Example
    -------
    >>> warn_skipped([], "files")
    """
    if not skipped:
        return
    names = ", ".join(os.path.basename(p) for p, _ in skipped[:_SHOW_SKIPPED])
    more = ", ..." if len(skipped) > _SHOW_SKIPPED else ""
    logger.warning(
        "skipped %d %s (%s%s); first reason: %s",
        len(skipped),
        what,
        names,
        more,
        skipped[0][1],
    )


def manifest_paths(save_folder, names=("train", "valid", "test", "speakers")):
    """Returns ``{name: save_folder/name.json}``.

    Arguments
    ---------
    save_folder : str or os.PathLike
        Folder of the manifests.
    names : tuple of str
        Manifest names.

    Returns
    -------
    dict
        Name -> absolute path.

    Example
    -------
    >>> sorted(manifest_paths("/tmp/x"))
    ['speakers', 'test', 'train', 'valid']
    """
    save_folder = os.path.abspath(os.fspath(save_folder))
    return {name: os.path.join(save_folder, f"{name}.json") for name in names}


def is_prepared(save_folder, opts, paths):
    """Whether every manifest exists and was written with the same options.

    Arguments
    ---------
    save_folder : str or os.PathLike
        Folder holding ``prepare_opts.json``.
    opts : dict
        Options of this run (JSON-serialisable).
    paths : dict
        Manifest name -> path (all must exist).

    Returns
    -------
    bool
        True when preparation can be skipped.

    Example
    -------
    >>> import tempfile
    >>> is_prepared(tempfile.mkdtemp(), {"a": 1}, {})
    False
    """
    opts_path = os.path.join(os.fspath(save_folder), OPTS_FILE)
    if not all(os.path.isfile(p) for p in paths.values()) or not os.path.isfile(opts_path):
        return False
    try:
        saved = read_manifest(opts_path)
    except (OSError, ValueError):
        return False
    return saved == json.loads(json.dumps(opts))


def save_opts(save_folder, opts):
    """Writes ``prepare_opts.json`` (read back by ``is_prepared``).

    Arguments
    ---------
    save_folder : str or os.PathLike
        Output folder.
    opts : dict
        Options of this run (JSON-serialisable).

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> save_opts(folder, {"a": 1})
    >>> is_prepared(folder, {"a": 1}, {}), is_prepared(folder, {"a": 2}, {})
    (True, False)
    """
    write_manifest(os.path.join(os.fspath(save_folder), OPTS_FILE), opts)
