"""A synthetic single-speaker corpus in the LJSpeech-1.1 layout.

Writes, like LJSpeech-1.1 (Ito and Johnson 2017)::

    out/wavs/LJ001-0001.wav     22,050 Hz mono 16-bit (eSpeak NG's own rate: no resampling)
    out/metadata.csv            "id|text|normalized text", pipe-separated, no header, UTF-8
    out/synth_corpus.json       provenance; not in the real data

One voice reads the bundled public-domain sentences (``SENTENCES_FILE``) in order, cycling when
more utterances are asked for than there are sentences; each utterance moves pitch and rate a
little and draws its loudness and silences. Ids are ``LJ{chapter:03d}-{n:04d}`` with 100
utterances per chapter. The bundled sentences spell out numbers, so the normalized text equals
the text.
"""

import os
import time

from audiodiff.data.synth.corpus import (
    SENTENCES_FILE,
    build,
    check_out_folder,
    espeak_version_info,
    finish,
    jitter_voice,
    load_sentences,
    rng_for,
)
from audiodiff.data.synth.espeak import SAMPLE_RATE
from audiodiff.data.synth.voices import Voice, check_voice

DEFAULT_VOICE = Voice("en-us", "f2", pitch=55, rate=165)
"""A female American English voice, as LJSpeech's reader."""

PER_CHAPTER = 100
SHARD_SIZE = 25


def lj_id(index):
    """The LJSpeech-style id of utterance ``index`` (0-based).

    Example
    -------
    >>> lj_id(0), lj_id(100)
    ('LJ001-0001', 'LJ002-0001')
    """
    return f"LJ{index // PER_CHAPTER + 1:03d}-{index % PER_CHAPTER + 1:04d}"


def make_ljspeech(
    out,
    utterances=None,
    seed=0,
    workers=1,
    progress=True,
    voice=DEFAULT_VOICE,
    sentences_file=SENTENCES_FILE,
    overwrite=False,
):
    """Builds an LJSpeech-1.1-layout corpus read by one voice.

    Arguments
    ---------
    out : str
        Corpus root (``wavs/`` and ``metadata.csv`` go inside), e.g. ``.../LJSpeech-1.1``.
    utterances : int, optional
        How many; default one per sentence of ``sentences_file``.
    seed : int
        Seed of the per-utterance jitter; the same seed gives byte-identical files.
    workers : int
        Worker processes (one fresh process per 25 utterances).
    progress : bool
        Show a progress bar.
    voice : Voice
        The reader (``UnknownVoiceError`` for an unknown accent or variant).
    sentences_file : str
        One sentence per line (``#`` comments skipped).
    overwrite : bool
        Allow a non-empty ``out``.

    Returns
    -------
    CorpusSummary
        Files, hours, size, time.

    Example
    -------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> make_ljspeech(out, utterances=1, progress=False, overwrite=True).files
    1
    >>> open(os.path.join(out, "metadata.csv")).read().split("|")[0]
    'LJ001-0001'
    """
    start = time.perf_counter()
    check_voice(voice)
    sentences = load_sentences(sentences_file)
    if not sentences:
        raise ValueError(f"no sentences in {sentences_file}")
    count = len(sentences) if utterances is None else int(utterances)
    check_out_folder(out, overwrite)
    rows, items = [], []
    for index in range(count):
        utt_id, text = lj_id(index), sentences[index % len(sentences)]
        rng = rng_for(seed, index)
        rows.append(f"{utt_id}|{text}|{text}\n")
        items.append(
            {
                "id": utt_id,
                "text": text,
                "voice": jitter_voice(voice, rng, pitch=3, rate=0.05).to_dict(),
                "out": os.path.join(out, "wavs", f"{utt_id}.wav"),
                "sample_rate": SAMPLE_RATE,
                "peak": float(rng.uniform(0.6, 0.95)),
                "lead": float(rng.uniform(0.05, 0.25)),
                "tail": float(rng.uniform(0.05, 0.25)),
                "seed": int(rng.integers(2**31)),
            }
        )
    with open(os.path.join(out, "metadata.csv"), "w", encoding="utf-8", newline="") as f:
        f.writelines(rows)
    shards = [
        {"name": f"{i // SHARD_SIZE}", "items": items[i : i + SHARD_SIZE]}
        for i in range(0, len(items), SHARD_SIZE)
    ]
    _, summary = build(shards, out, workers, progress, desc="ljspeech")
    info = {
        "layout": "LJSpeech-1.1",
        "options": {"utterances": count, "seed": seed},
        "sample_rate": SAMPLE_RATE,
        "voices": {"LJ": voice.to_dict()},
        "sentences": os.path.basename(sentences_file),
        "synthesizer": espeak_version_info(),
    }
    return finish(summary, out, info, start)
