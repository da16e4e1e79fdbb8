"""speechocean762 preparation to SpeechBrain JSON manifests (text, ARPAbet phones per word).

speechocean762 (Zhang et al., Interspeech 2021; CC BY 4.0): read English from non-native
speakers (Mandarin L1, adults and children), 16 kHz. Layout (Kaldi-style)::

    data_folder/WAVE/SPEAKER0001/000010011.WAV
    data_folder/{train,test}/{wav.scp,text,utt2spk,spk2gender,spk2age}
    data_folder/resource/text-phone      "000010011.0 W_B IY0_E" (utterance.word index)
    data_folder/resource/lexicon.txt     "WORD PH1 PH2 ..." (several lines per word allowed)

The Kaldi ``train``/``test`` folders split by speaker; here both are pooled and re-split for
speaker-dependent work: the ``held_out_speakers`` (by default five adults, the project's
zero-shot speakers) go, all their utterances, into ``held_out.json`` and nowhere else; every
other speaker gives ``valid_per_speaker`` utterances to valid, ``test_per_speaker`` to test and
the rest to train, so every training speaker is in every split. ``wavs`` listed in
``wav.scp`` are read as ``.WAV`` or, where that is absent, as a ``.flac`` copy with the same
stem (the bundled ``bundled_data/speechocean762_mini`` is stored that way).
"""

import logging
import os
import random
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

BUNDLED_SPEECHOCEAN762 = os.path.abspath(
    os.path.join(
        os.path.dirname(__file__), os.pardir, os.pardir, "bundled_data", "speechocean762_mini"
    )
)
"""Five speakers x three real utterances of speechocean762 (FLAC), in the corpus layout."""

SPEECHOCEAN762_HELD_OUT = ("1099", "1186", "1228", "2112", "2327")
"""Adult speakers (three men, two women) never trained on: the zero-shot evaluation speakers."""

KALDI_SETS = ("train", "test")
SPLITS = ("train", "valid", "test", "held_out")
_POSITION = re.compile(r"_[BIES]$")


def find_speechocean762(data_folder):
    """Returns the corpus root: the folder holding ``train/``, ``test/`` and ``resource/``.

    Arguments
    ---------
    data_folder : str or os.PathLike
        The root itself or its parent (holding ``speechocean762/``).

    Returns
    -------
    str
        Absolute path of the root.

    Raises
    ------
    DataFolderError
        If no ``train/wav.scp`` or ``test/wav.scp`` is found; the message says to pass
        --data_folder.

    Example
    -------
    >>> os.path.basename(find_speechocean762(BUNDLED_SPEECHOCEAN762))
    'speechocean762_mini'
    """
    folder = os.path.abspath(os.fspath(data_folder))
    for root in (folder, os.path.join(folder, "speechocean762")):
        if any(os.path.isfile(os.path.join(root, s, "wav.scp")) for s in KALDI_SETS):
            return root
    problem = "not found" if not os.path.isdir(folder) else "holds no train/wav.scp or test/wav.scp"
    raise DataFolderError(
        f"speechocean762 data folder '{folder}' {problem}: pass --data_folder PATH pointing at "
        "the corpus root (WAVE/, train/, test/, resource/), e.g. bundled_data/speechocean762_mini "
        "in a source checkout"
    )


def read_kaldi_table(path):
    """Reads a Kaldi table (``key value...`` per line) as ``{key: "value..."}``.

    Arguments
    ---------
    path : str
        File; a missing file reads as empty.

    Returns
    -------
    dict
        Key -> the rest of the line, stripped (may hold spaces).

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "text")
    >>> _ = open(path, "w").write("u1\\tWE CALL IT BEAR\\nu2 ONE\\n\\n")
    >>> read_kaldi_table(path)
    {'u1': 'WE CALL IT BEAR', 'u2': 'ONE'}
    """
    table = {}
    if not os.path.isfile(path):
        return table
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.strip().split(maxsplit=1)
            if fields:
                table[fields[0]] = fields[1].strip() if len(fields) > 1 else ""
    return table


def read_lexicon(path):
    """Reads ``lexicon.txt``: ``{WORD: [pronunciation, ...]}`` in file order.

    Arguments
    ---------
    path : str
        ``WORD PH1 PH2 ...`` lines.

    Returns
    -------
    dict
        Word -> list of pronunciations (lists of ARPAbet phones with stress digits).

    Example
    -------
    >>> lexicon = read_lexicon(os.path.join(BUNDLED_SPEECHOCEAN762, "resource", "lexicon.txt"))
    >>> lexicon["GOOD"]
    [['G', 'UH0', 'D']]
    """
    lexicon = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 2:
                lexicon.setdefault(fields[0], []).append(fields[1:])
    return lexicon


def read_text_phone(path):
    """Reads ``text-phone``: ``{utt_id: {word_index: [phones]}}``, position marks stripped.

    Kaldi word-position suffixes (``_B``, ``_I``, ``_E``, ``_S``) are removed: ``W_B IY0_E`` is
    ``["W", "IY0"]``.

    Arguments
    ---------
    path : str
        ``UTT.WORD_INDEX PH1_B PH2_E ...`` lines.

    Returns
    -------
    dict
        Utterance id -> word index -> phones.

    Example
    -------
    >>> phones = read_text_phone(os.path.join(BUNDLED_SPEECHOCEAN762, "resource", "text-phone"))
    >>> phones["000240010"][1]
    ['W', 'AH0', 'Z']
    """
    phones = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if len(fields) < 2 or "." not in fields[0]:
                continue
            utt_id, index = fields[0].rsplit(".", 1)
            if index.isdigit():
                phones.setdefault(utt_id, {})[int(index)] = [
                    _POSITION.sub("", p) for p in fields[1:]
                ]
    return phones


def word_phones(utt_id, words, text_phone, lexicon):
    """ARPAbet phones of each word: the utterance's ``text-phone`` entry, else the lexicon's
    first pronunciation.

    Arguments
    ---------
    utt_id : str
        Utterance id.
    words : list of str
        The transcript's words.
    text_phone : dict
        From :func:`read_text_phone`.
    lexicon : dict
        From :func:`read_lexicon`.

    Returns
    -------
    list of list of str, or None
        One phone list per word; None when a word has neither.

    Example
    -------
    >>> word_phones("u", ["A", "CAT"], {"u": {1: ["K", "AE1", "T"]}}, {"A": [["AH0"], ["EY0"]]})
    [['AH0'], ['K', 'AE1', 'T']]
    >>> word_phones("u", ["DOG"], {}, {}) is None
    True
    """
    known = text_phone.get(utt_id, {})
    out = []
    for index, word in enumerate(words):
        phones = known.get(index) or (lexicon.get(word) or [None])[0]
        if not phones:
            return None
        out.append(list(phones))
    return out


def speaker_name(speaker):
    """A speaker id as the corpus writes it: four digits (``1099``, ``"0001"``).

    Example
    -------
    >>> speaker_name(5), speaker_name("1099")
    ('0005', '1099')
    """
    text = str(speaker).strip()
    return f"{int(text):04d}" if text.isdigit() else text


def audio_path(root, relative):
    """The audio file of a ``wav.scp`` entry: as listed, or a ``.flac`` with the same stem.

    Example
    -------
    >>> os.path.basename(audio_path(BUNDLED_SPEECHOCEAN762, "WAVE/SPEAKER0024/000240010.WAV"))
    '000240010.flac'
    """
    path = os.path.join(root, relative)
    flac = os.path.splitext(path)[0] + ".flac"
    return flac if not os.path.exists(path) and os.path.exists(flac) else path


def _split_speaker(ids, speaker, n_valid, n_test, seed):
    """Seeded per-speaker split; train always keeps at least one utterance."""
    ids = sorted(ids)
    random.Random(f"{seed}:{speaker}").shuffle(ids)
    n_test = min(n_test, max(0, len(ids) - 1))
    n_valid = min(n_valid, max(0, len(ids) - 1 - n_test))
    return {
        "test": ids[:n_test],
        "valid": ids[n_test : n_test + n_valid],
        "train": ids[n_test + n_valid :],
    }


def prepare_speechocean762(
    data_folder,
    save_folder,
    held_out_speakers=SPEECHOCEAN762_HELD_OUT,
    valid_per_speaker=1,
    test_per_speaker=1,
    seed=0,
    skip_prep=False,
):
    """Writes train/valid/test/held_out manifests and ``speakers.json`` for speechocean762.

    Entries::

        {"000010011": {"wav": "/abs/WAVE/SPEAKER0001/000010011.WAV", "duration": 2.58,
                       "speaker": "0001", "text": "WE CALL IT BEAR",
                       "words": ["WE", "CALL", "IT", "BEAR"],
                       "phones": [["W", "IY0"], ["K", "AO0", "L"], ["IH0", "T"], ["B", "EH0", "R"]],
                       "gender": "m", "age": 6, "kaldi_set": "train"}}

    ``phones`` are ARPAbet with stress digits, one list per word, from ``resource/text-phone``
    (the lexicon's first pronunciation where an utterance has none). ``speakers.json`` maps
    the sorted training speakers (everyone but the held-out ones) to 0..n-1. Utterances whose
    audio is missing, corrupt or empty, or whose words have no phones, are skipped with one
    warning each kind; a held-out speaker absent from the data is warned about. Skipped when
    the manifests exist with the same options (``prepare_opts.json``) or when ``skip_prep``.

    Arguments
    ---------
    data_folder : str or os.PathLike
        Corpus root (or its parent), e.g. ``BUNDLED_SPEECHOCEAN762``.
    save_folder : str or os.PathLike
        Where the JSON manifests go.
    held_out_speakers : iterable of str or int
        Speakers whose every utterance goes to ``held_out`` (default
        ``SPEECHOCEAN762_HELD_OUT``); ``()`` holds out nobody.
    valid_per_speaker, test_per_speaker : int
        Utterances of each training speaker in valid and test (a seeded draw; train keeps at
        least one).
    seed : int
        Seed of the draws.
    skip_prep : bool
        If True, do nothing and return the manifest paths.

    Returns
    -------
    dict
        ``{"train", "valid", "test", "held_out", "speakers"}`` -> path of the JSON file.

    Raises
    ------
    DataFolderError
        If the folder is not a speechocean762 root, misses ``resource/`` files, or holds no
        readable audio.

    Example
    -------
    >>> import tempfile
    >>> paths = prepare_speechocean762(BUNDLED_SPEECHOCEAN762, tempfile.mkdtemp())
    >>> from audiodiff.data.manifest import read_manifest
    >>> {k: len(read_manifest(p)) for k, p in paths.items()}
    {'train': 3, 'valid': 3, 'test': 3, 'held_out': 6, 'speakers': 3}
    """
    paths = manifest_paths(save_folder, names=(*SPLITS, "speakers"))
    if skip_prep:
        return paths
    root = find_speechocean762(data_folder)
    held_out = sorted({speaker_name(s) for s in held_out_speakers})
    resource = {n: os.path.join(root, "resource", n) for n in ("text-phone", "lexicon.txt")}
    for path in resource.values():
        if not os.path.isfile(path):
            raise DataFolderError(
                f"speechocean762 data folder '{root}' has no {os.path.relpath(path, root)}: pass "
                "--data_folder PATH pointing at the full corpus (with resource/)"
            )
    opts = {
        "dataset": "speechocean762",
        "data_folder": root,
        "held_out_speakers": held_out,
        "valid_per_speaker": valid_per_speaker,
        "test_per_speaker": test_per_speaker,
        "seed": seed,
        "tables": {
            s: os.path.getsize(os.path.join(root, s, "wav.scp"))
            for s in KALDI_SETS
            if os.path.isfile(os.path.join(root, s, "wav.scp"))
        },
    }
    if is_prepared(save_folder, opts, paths):
        logger.info("speechocean762 manifests in %s are up to date, skipping", save_folder)
        return paths

    entries = _read_entries(root, resource)
    speakers = sorted({e["speaker"] for e in entries.values()})
    missing = sorted(set(held_out) - set(speakers))
    if missing:  # expected for the bundled mini copy, which holds two of them
        log = logger.info if root == BUNDLED_SPEECHOCEAN762 else logger.warning
        log("held-out speakers not in %s: %s", root, ", ".join(missing))
    by_speaker = {}
    for utt_id, entry in entries.items():
        by_speaker.setdefault(entry["speaker"], []).append(utt_id)
    splits = {name: [] for name in SPLITS}
    for speaker, ids in sorted(by_speaker.items()):
        if speaker in held_out:
            splits["held_out"].extend(ids)
            continue
        for name, part in _split_speaker(
            ids, speaker, valid_per_speaker, test_per_speaker, seed
        ).items():
            splits[name].extend(part)
    for name in SPLITS:
        write_manifest(paths[name], {u: entries[u] for u in sorted(splits[name])})
    training = [s for s in speakers if s not in held_out]
    write_manifest(paths["speakers"], {s: i for i, s in enumerate(training)})
    save_opts(save_folder, opts)
    logger.info(
        "wrote speechocean762 manifests to %s: %s; %d training speakers, %d held out",
        os.path.dirname(paths["train"]),
        ", ".join(f"{k} {len(v)}" for k, v in splits.items()),
        len(training),
        len(speakers) - len(training),
    )
    return paths


def _read_entries(root, resource):
    """Every readable utterance of both Kaldi sets, with text, phones, gender and age."""
    text_phone = read_text_phone(resource["text-phone"])
    lexicon = read_lexicon(resource["lexicon.txt"])
    rows = {}
    for kaldi_set in KALDI_SETS:
        folder = os.path.join(root, kaldi_set)
        scp = read_kaldi_table(os.path.join(folder, "wav.scp"))
        text = read_kaldi_table(os.path.join(folder, "text"))
        utt2spk = read_kaldi_table(os.path.join(folder, "utt2spk"))
        gender = read_kaldi_table(os.path.join(folder, "spk2gender"))
        age = read_kaldi_table(os.path.join(folder, "spk2age"))
        for utt_id, relative in scp.items():
            speaker = speaker_name(utt2spk.get(utt_id, ""))
            raw_speaker = utt2spk.get(utt_id, "")
            rows[audio_path(root, relative)] = (
                utt_id,
                kaldi_set,
                speaker,
                {
                    "text": text.get(utt_id, ""),
                    "gender": gender.get(raw_speaker),
                    "age": int(age[raw_speaker]) if age.get(raw_speaker, "").isdigit() else None,
                },
            )
    ok, _ = scan_audio_files(rows)
    entries, unusable = {}, []
    for path, duration in ok:
        utt_id, kaldi_set, speaker, info = rows[path]
        words = info["text"].split()
        phones = word_phones(utt_id, words, text_phone, lexicon) if words else None
        if not speaker or phones is None:
            reason = "no speaker in utt2spk" if not speaker else "no transcript or phones"
            unusable.append((utt_id, reason))
            continue
        entries[utt_id] = {
            "wav": path,
            "duration": round(duration, 4),
            "speaker": speaker,
            "text": info["text"],
            "words": words,
            "phones": phones,
            "gender": info["gender"],
            "age": info["age"],
            "kaldi_set": kaldi_set,
        }
    warn_skipped(unusable, "utterances without a speaker, transcript or phones")
    if not entries:
        raise DataFolderError(
            f"speechocean762 data folder '{root}' has no readable audio listed in "
            "train/wav.scp or test/wav.scp: pass --data_folder PATH"
        )
    return entries
