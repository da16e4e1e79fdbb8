"""Speaker-stratified splits by repetition index, shared by the spoken-digit datasets.

FSDD and AudioMNIST have the same structure: every speaker says every digit many times
(repetition index ``rep``). Splitting by repetition index puts every speaker and every digit in
every split, which speaker- and digit-conditioned models need (an unseen speaker has no
embedding). Default: test = repetitions 0-4 (FSDD's official test split), valid = 5-9,
train = the rest.
"""

import logging
import os

from audiodiff.data.errors import EmptySplitError
from audiodiff.data.manifest import manifest_paths, write_manifest

logger = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")


def split_by_repetition(entries, valid_reps=range(5, 10), test_reps=range(0, 5)):
    """Splits manifest entries by their ``rep`` field and checks speaker stratification.

    Arguments
    ---------
    entries : dict
        Utterance id -> fields with at least ``speaker`` and ``rep``.
    valid_reps, test_reps : iterable of int
        Repetition indices of the valid and test splits (disjoint); the rest is train.

    Returns
    -------
    dict
        ``{"train": entries, "valid": entries, "test": entries}``.

    Raises
    ------
    ValueError
        If the two repetition sets overlap.
    EmptySplitError
        If a split ends up empty (a ``DataFolderError`` and a ``ValueError``); the message
        names the repetition indices found and those each split needs.

    Example
    -------
    >>> entries = {f"0_a_{r}": {"speaker": "a", "rep": r} for r in range(12)}
    >>> {k: len(v) for k, v in split_by_repetition(entries).items()}
    {'train': 2, 'valid': 5, 'test': 5}
    """
    valid_reps, test_reps = set(valid_reps), set(test_reps)
    if valid_reps & test_reps:
        raise ValueError(f"valid_reps and test_reps overlap: {sorted(valid_reps & test_reps)}")
    splits = {name: {} for name in SPLITS}
    for utt_id, entry in entries.items():
        rep = entry["rep"]
        name = "test" if rep in test_reps else "valid" if rep in valid_reps else "train"
        splits[name][utt_id] = entry
    speakers = {e["speaker"] for e in entries.values()}
    found = sorted({e["rep"] for e in entries.values()})
    for name, split in splits.items():
        if not split:
            raise EmptySplitError(
                f"the {name} split is empty: the data's repetition indices are "
                f"{_ranges(found) or 'none'}, and the splits are by repetition (test "
                f"{_ranges(sorted(test_reps))}, valid {_ranges(sorted(valid_reps))}, train the "
                "rest): the data folder needs recordings of each split's repetitions"
            )
        missing = speakers - {e["speaker"] for e in split.values()}
        if missing:
            logger.warning(
                "split %s lacks %d speaker(s): %s", name, len(missing), ", ".join(sorted(missing))
            )
    return splits


def _ranges(values):
    """``[0, 1, 2, 5]`` -> ``'0-2, 5'`` (sorted ints as short ranges).

    Example
    -------
    >>> _ranges([0, 1, 2, 5, 7, 8])
    '0-2, 5, 7-8'
    """
    runs = []
    for v in values:
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def write_digit_manifests(entries, save_folder, valid_reps=range(5, 10), test_reps=range(0, 5)):
    """Splits entries by repetition and writes train/valid/test/speakers JSON files.

    ``speakers.json`` maps the sorted speaker names to indices 0..n-1 (the speaker-embedding
    table order).

    Arguments
    ---------
    entries : dict
        Utterance id -> fields (``wav``, ``duration``, ``digit``, ``speaker``, ``rep``, ...).
    save_folder : str or os.PathLike
        Output folder.
    valid_reps, test_reps : iterable of int
        As in ``split_by_repetition``.

    Returns
    -------
    dict
        ``{"train", "valid", "test", "speakers"}`` -> path.

    Example
    -------
    >>> import tempfile
    >>> entries = {f"0_a_{r}": {"speaker": "a", "rep": r} for r in range(12)}
    >>> sorted(write_digit_manifests(entries, tempfile.mkdtemp()))
    ['speakers', 'test', 'train', 'valid']
    """
    paths = manifest_paths(save_folder)
    splits = split_by_repetition(entries, valid_reps, test_reps)
    for name, split in splits.items():
        write_manifest(paths[name], dict(sorted(split.items())))
    speakers = sorted({e["speaker"] for e in entries.values()})
    write_manifest(paths["speakers"], {name: i for i, name in enumerate(speakers)})
    logger.info(
        "wrote manifests to %s: %s, %d speakers",
        os.path.dirname(paths["train"]),
        ", ".join(f"{k} {len(v)}" for k, v in splits.items()),
        len(speakers),
    )
    return paths
