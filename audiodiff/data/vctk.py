"""VCTK preparation to SpeechBrain JSON manifests (speaker, text, alignment, phonemes).

Layouts (Yamagishi et al.; ``data_folder`` may also be the parent of ``VCTK-Corpus-0.92/``)::

    data_folder/wav48_silence_trimmed/pNNN/pNNN_MMM_mic1.flac   VCTK-0.92 (mic1 and mic2)
    data_folder/wav48/pNNN/pNNN_MMM.wav                         VCTK-Corpus 0.80
    data_folder/txt/pNNN/pNNN_MMM.txt                           transcript
    data_folder/speaker-info.txt                                "ID  AGE  GENDER  ACCENTS ..."
    data_folder/alignments/pNNN/pNNN_MMM.json                   optional (synthetic corpora)

Utterances without a transcript (speaker p315, a few others) are skipped with one warning. The
split is speaker-stratified: every speaker's utterances are split by a seeded shuffle, so each
speaker with three or more utterances is in train, valid and test.
"""

import glob
import logging
import os
import re

from audiodiff.data.errors import DataFolderError
from audiodiff.data.ljspeech import split_by_fraction
from audiodiff.data.manifest import (
    is_prepared,
    manifest_paths,
    save_opts,
    scan_audio_files,
    warn_skipped,
    write_manifest,
)

logger = logging.getLogger(__name__)

AUDIO_FOLDERS = ("wav48_silence_trimmed", "wav48")
SPEAKER_INFO = "speaker-info.txt"
_NAME = re.compile(r"^([a-z]\d+)_(\d+)(?:_(mic\d))?$")


def find_vctk(data_folder):
    """Returns ``(root, audio folder name)`` of a VCTK copy.

    Arguments
    ---------
    data_folder : str or os.PathLike
        VCTK root (holding ``wav48_silence_trimmed/`` or ``wav48/`` and ``txt/``) or its parent.

    Returns
    -------
    tuple of (str, str)
        Absolute root and the audio folder's name.

    Raises
    ------
    DataFolderError
        If no audio folder with speaker folders is found; the message says to pass --data_folder.

    Example
    -------
    >>> try:
    ...     find_vctk("/no/such/folder")
    ... except DataFolderError as err:
    ...     print("--data_folder" in str(err))
    True
    """
    folder = os.path.abspath(os.fspath(data_folder))
    for root in (folder, os.path.join(folder, "VCTK-Corpus-0.92"), os.path.join(folder, "VCTK")):
        for audio in AUDIO_FOLDERS:
            if glob.glob(os.path.join(glob.escape(os.path.join(root, audio)), "*", "*.*")):
                return root, audio
    problem = "not found" if not os.path.isdir(folder) else "holds no wav48_silence_trimmed/"
    raise DataFolderError(
        f"VCTK data folder '{folder}' {problem}: pass --data_folder PATH pointing at "
        "VCTK-Corpus-0.92 (wav48_silence_trimmed/pNNN/*.flac, txt/pNNN/*.txt), or build a "
        "synthetic copy with tools/make_corpus.py vctk"
    )


def read_speaker_info(path):
    """Reads ``speaker-info.txt``: ``{speaker: {"age", "gender", "accent", "region"}}``.

    Arguments
    ---------
    path : str
        The file (whitespace-separated columns ID AGE GENDER ACCENTS REGION; a missing file
        gives an empty dict).

    Returns
    -------
    dict
        Speaker id -> fields (strings; ``region`` may be empty).

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "speaker-info.txt")
    >>> _ = open(path, "w").write("ID  AGE  GENDER  ACCENTS  REGION\\np225  23  F  English  S\\n")
    >>> read_speaker_info(path)["p225"]["gender"]
    'F'
    """
    info = {}
    if not os.path.isfile(path):
        return info
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            fields = line.split()
            if len(fields) < 3 or fields[0].upper() == "ID":
                continue
            speaker = fields[0] if fields[0][0].isalpha() else f"p{fields[0]}"
            info[speaker] = {
                "age": fields[1],
                "gender": fields[2],
                "accent": fields[3] if len(fields) > 3 else "",
                "region": " ".join(fields[4:]),
            }
    return info


def _audio_files(root, audio, mic):
    """{path: (speaker, utt_id)} of the chosen microphone (or of unsuffixed files)."""
    files, unparsed = {}, []
    pattern = os.path.join(glob.escape(os.path.join(root, audio)), "*", "*.*")
    for path in sorted(glob.glob(pattern)):
        stem, ext = os.path.splitext(os.path.basename(path))
        if ext.lower() not in (".flac", ".wav"):
            continue
        match = _NAME.match(stem)
        if match is None:
            unparsed.append((path, "name is not pNNN_MMM[_micN].flac/.wav"))
        elif match[3] in (None, mic):
            files[path] = (match[1], f"{match[1]}_{match[2]}")
    warn_skipped(unparsed, "files with unexpected names")
    return files


def prepare_vctk(
    data_folder,
    save_folder,
    mic="mic1",
    valid_fraction=0.05,
    test_fraction=0.05,
    seed=0,
    phonemes="auto",
    phoneme_accent="en",
    skip_prep=False,
):
    """Writes speaker-stratified train/valid/test manifests for VCTK (or a copy in its layout).

    Entries: ``{utt_id: {"wav", "duration", "speaker", "text", "gender", "accent",
    "alignment", "phonemes"}}``; ``gender``/``accent`` when ``speaker-info.txt`` lists the
    speaker, ``alignment`` (path of the JSON file) when ``alignments/`` has one, ``phonemes``
    (IPA, eSpeak NG) when phonemized. ``speakers.json`` maps the sorted speakers to indices.
    Skipped when the manifests exist with the same options or when ``skip_prep`` is True.

    Arguments
    ---------
    data_folder : str or os.PathLike
        VCTK root (or its parent).
    save_folder : str or os.PathLike
        Where the JSON manifests go.
    mic : str
        ``"mic1"`` or ``"mic2"`` (VCTK-0.92 has both; unsuffixed files are always used).
    valid_fraction, test_fraction : float
        Per-speaker split sizes (see ``split_by_fraction``).
    seed : int
        Split seed.
    phonemes : bool or str
        ``"auto"``: IPA when eSpeak NG (``audiodiff[synth]``) is installed; True: required;
        False: never.
    phoneme_accent : str
        eSpeak NG accent for the IPA (``"en"``: British English).
    skip_prep : bool
        If True, do nothing and return the manifest paths.

    Returns
    -------
    dict
        ``{"train", "valid", "test", "speakers"}`` -> path of the JSON file.

    Raises
    ------
    DataFolderError
        If the folder holds no VCTK audio with transcripts.

    Example
    -------
    >>> import tempfile, torch
    >>> from audiodiff.audio.io import write_audio
    >>> root = tempfile.mkdtemp()
    >>> for m in range(1, 4):
    ...     write_audio(f"{root}/wav48/p225/p225_00{m}.wav", torch.zeros(4800), 48000)
    ...     os.makedirs(f"{root}/txt/p225", exist_ok=True)
    ...     _ = open(f"{root}/txt/p225/p225_00{m}.txt", "w").write("Hello.\\n")
    >>> paths = prepare_vctk(root, f"{root}/manifests", phonemes=False)
    >>> from audiodiff.data.manifest import read_manifest
    >>> [len(read_manifest(paths[s])) for s in ("train", "valid", "test")]
    [1, 1, 1]
    >>> read_manifest(paths["train"]).popitem()[1]["text"], read_manifest(paths["speakers"])
    ('Hello.', {'p225': 0})
    """
    from audiodiff.data.synth.phonemize import phonemize_texts, resolve_phonemes

    paths = manifest_paths(save_folder)
    if skip_prep:
        return paths
    root, audio = find_vctk(data_folder)
    files = _audio_files(root, audio, mic)
    with_phonemes = resolve_phonemes(phonemes)
    opts = {
        "dataset": "vctk",
        "data_folder": root,
        "audio_folder": audio,
        "mic": mic,
        "num_files": len(files),
        "valid_fraction": valid_fraction,
        "test_fraction": test_fraction,
        "seed": seed,
        "phonemes": with_phonemes,
        "phoneme_accent": phoneme_accent,
    }
    if is_prepared(save_folder, opts, paths):
        logger.info("VCTK manifests in %s are up to date, skipping preparation", save_folder)
        return paths

    speaker_info = read_speaker_info(os.path.join(root, SPEAKER_INFO))
    ok, _ = scan_audio_files(files)
    entries, no_text = {}, []
    for path, duration in ok:
        speaker, utt_id = files[path]
        txt = os.path.join(root, "txt", speaker, f"{utt_id}.txt")
        if not os.path.isfile(txt):
            no_text.append((path, f"no transcript {os.path.relpath(txt, root)}"))
            continue
        with open(txt, encoding="utf-8", errors="replace") as f:
            text = " ".join(f.read().split())
        entry = {"wav": path, "duration": round(duration, 4), "speaker": speaker, "text": text}
        for field in ("gender", "accent"):
            if speaker_info.get(speaker, {}).get(field):
                entry[field] = speaker_info[speaker][field]
        alignment = os.path.join(root, "alignments", speaker, f"{utt_id}.json")
        if os.path.isfile(alignment):
            entry["alignment"] = alignment
        entries[utt_id] = entry
    warn_skipped(no_text, "utterances without a transcript")
    if not entries:
        raise DataFolderError(
            f"VCTK data folder '{root}' holds no readable {audio}/pNNN/*.flac with a "
            "transcript in txt/: pass --data_folder PATH"
        )
    if with_phonemes:
        ids = sorted(entries)
        ipa = phonemize_texts([entries[i]["text"] for i in ids], phoneme_accent)
        for utt_id, value in zip(ids, ipa):
            entries[utt_id]["phonemes"] = value

    by_speaker = {}
    for utt_id, entry in entries.items():
        by_speaker.setdefault(entry["speaker"], []).append(utt_id)
    splits = {"train": {}, "valid": {}, "test": {}}
    for ids in by_speaker.values():
        for name, chosen in split_by_fraction(ids, valid_fraction, test_fraction, seed).items():
            splits[name].update((u, entries[u]) for u in chosen)
    speakers = sorted(by_speaker)
    for name, split in splits.items():
        write_manifest(paths[name], dict(sorted(split.items())))
    write_manifest(paths["speakers"], {name: i for i, name in enumerate(speakers)})
    save_opts(save_folder, opts)
    logger.info(
        "wrote VCTK manifests to %s: %s, %d speakers",
        os.path.dirname(paths["train"]),
        ", ".join(f"{k} {len(v)}" for k, v in splits.items()),
        len(speakers),
    )
    return paths
