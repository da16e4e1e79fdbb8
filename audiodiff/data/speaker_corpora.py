"""Every real speaker the project has, as one feature bank: speechocean762, FSDD, LJSpeech.

``prepare_speaker_corpora`` runs each corpus's prepare function (speechocean762 with its five
held-out speakers, FSDD by repetition, LJSpeech with its last ids held out);
``build_speaker_bank`` keeps at most N utterances per speaker and split (seeded), computes
their trimmed dB mels and joins them in one :class:`FeatureBank` whose speakers carry a corpus
prefix (``so762_0001``, ``fsdd_george``, ``lj_LJ``) and whose ``meta`` has ``corpus`` and
``split``. The speaker-encoder recipe trains on it; ``tools/build_speaker_features.py`` saves
a small subset of it for a GPU machine.
"""

import hashlib
import json
import logging
import os
import random

from audiodiff.data.cache import load_cache, save_cache
from audiodiff.data.feature_bank import FeatureBank, build_feature_bank, feature_settings
from audiodiff.data.fsdd import BUNDLED_FSDD, prepare_fsdd
from audiodiff.data.ljspeech import BUNDLED_LJSPEECH, prepare_ljspeech
from audiodiff.data.manifest import read_manifest, write_manifest
from audiodiff.data.speechocean762 import (
    BUNDLED_SPEECHOCEAN762,
    SPEECHOCEAN762_HELD_OUT,
    prepare_speechocean762,
)

logger = logging.getLogger(__name__)

SPEAKER_PREFIX = {"speechocean762": "so762_", "fsdd": "fsdd_", "ljspeech": "lj_"}
BUNDLED = {
    "speechocean762": BUNDLED_SPEECHOCEAN762,
    "fsdd": BUNDLED_FSDD,
    "ljspeech": BUNDLED_LJSPEECH,
}


def prepare_speaker_corpora(
    corpora,
    folders,
    save_folder,
    held_out_speakers=SPEECHOCEAN762_HELD_OUT,
    ljspeech_held_out_last=20,
    skip_prep=False,
):
    """Runs the prepare function of each corpus; returns their manifest paths.

    Arguments
    ---------
    corpora : iterable of str
        Any of ``speechocean762``, ``fsdd``, ``ljspeech``.
    folders : dict
        Corpus -> data folder; a missing or None entry means the bundled copy.
    save_folder : str
        Manifests go to ``save_folder/<corpus>/``.
    held_out_speakers : iterable
        speechocean762 speakers never trained on (its ``held_out`` split).
    ljspeech_held_out_last : int
        LJSpeech's last ids kept as its test split (the TTS recipes' held-out text).
    skip_prep : bool
        Passed to every prepare function.

    Returns
    -------
    dict
        Corpus -> ``{split: manifest path}`` (``speakers`` left out).

    Raises
    ------
    DataFolderError
        From the prepare functions (a wrong folder), or for an unknown corpus.

    Example
    -------
    >>> import tempfile
    >>> paths = prepare_speaker_corpora(["fsdd"], {}, tempfile.mkdtemp())
    >>> sorted(paths["fsdd"])
    ['test', 'train', 'valid']
    """
    from audiodiff.data.errors import DataFolderError

    out = {}
    for corpus in corpora:
        folder = folders.get(corpus) or BUNDLED.get(corpus)
        target = os.path.join(save_folder, corpus)
        if corpus == "speechocean762":
            paths = prepare_speechocean762(
                folder, target, held_out_speakers=held_out_speakers, skip_prep=skip_prep
            )
        elif corpus == "fsdd":
            paths = prepare_fsdd(folder, target, skip_prep=skip_prep)
        elif corpus == "ljspeech":
            paths = prepare_ljspeech(
                folder,
                target,
                phonemes=False,
                held_out_last=ljspeech_held_out_last,
                skip_prep=skip_prep,
            )
        else:
            raise DataFolderError(
                f"unknown corpus {corpus!r}: the speaker corpora are speechocean762, fsdd, ljspeech"
            )
        out[corpus] = {k: v for k, v in paths.items() if k != "speakers"}
    return out


def select_per_speaker(manifest_path, out_path, per_speaker, seed=0):
    """Writes a manifest with at most ``per_speaker`` utterances of each speaker (seeded).

    Arguments
    ---------
    manifest_path : str
        Source manifest (entries with ``speaker``).
    out_path : str
        Where the subset goes.
    per_speaker : int or None
        Utterances kept per speaker (None: all).
    seed : int
        Seed of the choice (per speaker, independent of the other speakers).

    Returns
    -------
    str
        ``out_path``.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> write_manifest(f"{folder}/m.json", {f"u{i}": {"speaker": "ab"[i % 2]} for i in range(9)})
    >>> sub = read_manifest(select_per_speaker(f"{folder}/m.json", f"{folder}/s.json", 2))
    >>> sorted(e["speaker"] for e in sub.values())
    ['a', 'a', 'b', 'b']
    """
    entries = read_manifest(manifest_path)
    if per_speaker is not None:
        by_speaker = {}
        for utt_id in sorted(entries):
            by_speaker.setdefault(str(entries[utt_id]["speaker"]), []).append(utt_id)
        keep = []
        for speaker, ids in by_speaker.items():
            random.Random(f"{seed}:{speaker}").shuffle(ids)
            keep.extend(ids[:per_speaker])
        entries = {u: entries[u] for u in sorted(keep)}
    write_manifest(out_path, entries)
    return out_path


def build_speaker_bank(
    manifests,
    utterances_per_speaker,
    mel,
    *,
    sample_rate,
    work_folder,
    trim_db=40.0,
    max_seconds=None,
    seed=0,
    progress=True,
):
    """One :class:`FeatureBank` of the chosen splits of several corpora (cached per split).

    Arguments
    ---------
    manifests : dict
        Corpus -> ``{split: manifest}`` (from :func:`prepare_speaker_corpora`).
    utterances_per_speaker : dict
        Corpus -> ``{split: N or None}``: the splits used and how many utterances of each
        speaker they keep (None: all). Corpora or splits not named are left out.
    mel : torch.nn.Module
        Mel front-end (``MelSpectrogram``).
    sample_rate : int
        The mel's rate.
    work_folder : str
        Subset manifests and cached banks go here.
    trim_db, max_seconds
        As in :func:`audiodiff.data.build_feature_bank`.
    seed : int
        Seed of the per-speaker choices.
    progress : bool
        Progress bars.

    Returns
    -------
    FeatureBank
        ``meta``: ``id``, ``speaker`` (corpus-prefixed), ``split``, ``corpus``.

    Example
    -------
    >>> import tempfile
    >>> from audiodiff.audio import MelSpectrogram
    >>> work = tempfile.mkdtemp()
    >>> paths = prepare_speaker_corpora(["fsdd"], {}, work)
    >>> bank = build_speaker_bank(paths, {"fsdd": {"test": 1}}, MelSpectrogram(n_mels=40),
    ...                           sample_rate=16000, work_folder=work, progress=False)
    >>> len(bank), min(bank.meta["speaker"]), bank.meta["corpus"][0], bank.n_mels
    (6, 'fsdd_george', 'fsdd', 40)
    """
    banks = []
    for corpus, splits in utterances_per_speaker.items():
        if corpus not in manifests:
            raise ValueError(f"no manifests for corpus {corpus!r} (prepare it first)")
        for split, per_speaker in splits.items():
            if split not in manifests[corpus]:
                raise ValueError(f"corpus {corpus!r} has no split {split!r}")
            subset = select_per_speaker(
                manifests[corpus][split],
                os.path.join(work_folder, corpus, f"subset_{split}.json"),
                per_speaker,
                seed,
            )
            banks.append(
                _cached_bank(
                    corpus,
                    split,
                    subset,
                    mel,
                    sample_rate,
                    work_folder,
                    trim_db,
                    max_seconds,
                    progress,
                )
            )
    if not banks:
        raise ValueError("utterances_per_speaker names no corpus split to use")
    return FeatureBank.concat(banks)


def _cached_bank(corpus, split, manifest, mel, sample_rate, work, trim_db, max_seconds, progress):
    with open(manifest, "rb") as f:
        content = hashlib.sha256(f.read()).hexdigest()
    settings = feature_settings(mel, trim_db)
    key_data = {"manifest": content, "settings": settings, "max_seconds": max_seconds, "v": 1}
    key = hashlib.sha256(json.dumps(key_data, sort_keys=True).encode()).hexdigest()
    cache_path = os.path.join(work, corpus, f"bank_{split}.pt")
    cached = load_cache(cache_path, key, "speaker features")
    if cached is not None:
        return FeatureBank(**cached)
    bank = build_feature_bank(
        {split: manifest},
        mel,
        sample_rate=sample_rate,
        speaker_prefix=SPEAKER_PREFIX.get(corpus, f"{corpus}_"),
        trim_db=trim_db,
        max_seconds=max_seconds,
        progress=progress,
    )
    bank.meta["corpus"] = [corpus] * len(bank)
    state = {
        "features": bank.features,
        "offsets": bank.offsets,
        "meta": bank.meta,
        "settings": bank.settings,
    }
    save_cache(cache_path, key, state)
    return bank
