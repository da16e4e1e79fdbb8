"""Synthetic SC09 digits in the Speech Commands layout.

Writes, like Speech Commands (Warden 2018) restricted to the ten digit words::

    out/{zero..nine}/{hash}_nohash_{i}.wav   16 kHz mono 16-bit, exactly 1 s (16,000 samples)
    out/validation_list.txt                  "{word}/{hash}_nohash_{i}.wav", sorted
    out/testing_list.txt
    out/synth_corpus.json                    provenance; not in the real data

``hash`` is the speaker (8 hex digits) and ``i`` the repetition. The list files follow the
dataset's own rule (``which_set``: SHA-1 of the speaker hash, 10% validation, 10% testing), and
the hashes are drawn so that, from three speakers on, each split has at least one speaker.
The other words and ``_background_noise_`` of the real dataset are not generated.
"""

import hashlib
import os
import random
import time

from audiodiff.data.speech_commands import (
    DIGIT_WORDS,
    TESTING_LIST,
    VALIDATION_LIST,
    which_set,
)
from audiodiff.data.synth.corpus import (
    build,
    check_out_folder,
    espeak_version_info,
    finish,
    jitter_voice,
    rng_for,
)
from audiodiff.data.synth.voices import DEFAULT_ACCENTS, DEFAULT_VARIANTS, voice_grid

SAMPLE_RATE = 16000
CLIP_SAMPLES = 16000


def speaker_hashes(num_speakers, seed=0, validation_percentage=10.0, testing_percentage=10.0):
    """Draws distinct 8-hex speaker hashes whose official split gives non-empty splits.

    The target split of each speaker is fixed first (``round(percentage * n)`` validation and
    testing speakers, at least one each from three speakers on, in a seeded order), then hashes
    are drawn until ``which_set`` puts one in that split.

    Arguments
    ---------
    num_speakers : int
        How many speakers.
    seed : int
        Seed.
    validation_percentage, testing_percentage : float
        Split sizes, as given to ``which_set``.

    Returns
    -------
    list of str
        One hash per speaker.

    Example
    -------
    >>> hashes = speaker_hashes(3)
    >>> sorted(which_set(f"{h}_nohash_0.wav") for h in hashes)
    ['testing', 'training', 'validation']
    """
    counts = {}
    for name, pct in (("validation", validation_percentage), ("testing", testing_percentage)):
        counts[name] = round(num_speakers * pct / 100)
        if num_speakers >= 3 and pct > 0:
            counts[name] = max(1, counts[name])
    counts["training"] = num_speakers - counts["validation"] - counts["testing"]
    targets = [name for name, n in counts.items() for _ in range(n)]
    random.Random(seed).shuffle(targets)
    hashes, used, counter = [], set(), 0
    for target in targets:
        while True:
            counter += 1
            candidate = hashlib.sha1(f"audiodiff-sc09-{seed}-{counter}".encode()).hexdigest()[:8]
            split = which_set(
                f"{candidate}_nohash_0.wav", validation_percentage, testing_percentage
            )
            if split == target and candidate not in used:
                break
        used.add(candidate)
        hashes.append(candidate)
    return hashes


def make_sc09(
    out,
    speakers=40,
    repetitions=3,
    seed=0,
    workers=1,
    progress=True,
    accents=DEFAULT_ACCENTS,
    variants=DEFAULT_VARIANTS,
    overwrite=False,
):
    """Builds a Speech Commands-layout SC09 corpus: ``speakers`` x 10 digits x ``repetitions``.

    Arguments
    ---------
    out : str
        Corpus root (the word folders go inside).
    speakers, repetitions : int
        Sizes (the real SC09 has about 2,600 speakers with a few repetitions each).
    seed : int
        Seed of voices, hashes and jitter; the same seed gives byte-identical files.
    workers : int
        Worker processes (one fresh process per speaker).
    progress : bool
        Show a progress bar.
    accents, variants : sequence of str
        eSpeak NG names to draw voices from.
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
    >>> make_sc09(out, speakers=1, repetitions=1, progress=False, overwrite=True).files
    10
    >>> len(os.listdir(os.path.join(out, "seven")))
    1
    """
    start = time.perf_counter()
    voices = voice_grid(speakers, seed, accents, variants)
    check_out_folder(out, overwrite)
    hashes = speaker_hashes(speakers, seed)
    shards, lists = [], {"validation": [], "testing": []}
    for k, (voice, speaker) in enumerate(zip(voices, hashes)):
        items = []
        for digit, word in enumerate(DIGIT_WORDS):
            for rep in range(repetitions):
                rng = rng_for(seed, k, digit, rep)
                relative = f"{word}/{speaker}_nohash_{rep}.wav"
                items.append(
                    {
                        "id": f"{word}_{speaker}_nohash_{rep}",
                        "text": word,
                        "voice": jitter_voice(voice, rng).to_dict(),
                        "out": os.path.join(out, word, f"{speaker}_nohash_{rep}.wav"),
                        "sample_rate": SAMPLE_RATE,
                        "peak": float(rng.uniform(0.1, 0.9)),
                        "lead": float(rng.uniform(0.0, 0.35)),
                        "tail": 0.0,
                        "seed": int(rng.integers(2**31)),
                        "length": CLIP_SAMPLES,
                    }
                )
                split = which_set(relative)
                if split in lists:
                    lists[split].append(relative)
        shards.append({"name": speaker, "items": items})
    for name, split in ((VALIDATION_LIST, "validation"), (TESTING_LIST, "testing")):
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            f.writelines(f"{line}\n" for line in sorted(lists[split]))
    _, summary = build(shards, out, workers, progress, desc="sc09")
    info = {
        "layout": "Speech Commands (SC09 digits)",
        "options": {"speakers": speakers, "repetitions": repetitions, "seed": seed},
        "sample_rate": SAMPLE_RATE,
        "voices": {h: v.to_dict() for h, v in zip(hashes, voices)},
        "synthesizer": espeak_version_info(),
    }
    return finish(summary, out, info, start)
