"""Synthetic spoken digits in the AudioMNIST layout.

Writes, like the original release (github.com/soerenab/AudioMNIST)::

    out/data/NN/{digit}_{NN}_{rep}.wav    48 kHz mono 16-bit, NN = "01", "02", ...
    out/data/audioMNIST_meta.txt          {"01": {"accent", "age", "gender", "native speaker",
                                           "origin", "recordingdate", "recordingroom"}, ...}
    out/synth_corpus.json                 provenance (options, voices); not in the real data

Speaker NN is one eSpeak NG voice (``voice_grid``); every repetition moves its pitch and rate
a little and draws its own loudness and leading/trailing silence (``rng_for(seed, speaker,
digit, rep)``). ``prepare_audiomnist`` reads the result unchanged.
"""

import json
import os
import time

from audiodiff.data.speech_commands import DIGIT_WORDS
from audiodiff.data.synth.corpus import (
    build,
    check_out_folder,
    espeak_version_info,
    finish,
    jitter_voice,
    rng_for,
)
from audiodiff.data.synth.voices import (
    DEFAULT_ACCENTS,
    DEFAULT_VARIANTS,
    accent_label,
    voice_gender,
    voice_grid,
)

META_FILE = "audioMNIST_meta.txt"


def speaker_meta(voice, rng):
    """One speaker's entry of ``audioMNIST_meta.txt`` (the real file's keys, synthetic values)."""
    day, hour, minute, second = (int(rng.integers(1, n)) for n in (29, 24, 60, 60))
    return {
        "accent": accent_label(voice.accent),
        "age": str(int(rng.integers(20, 65))),
        "gender": voice_gender(voice),
        "native speaker": "yes",
        "origin": f"synthetic, eSpeak NG voice {voice.espeak_name}, pitch {voice.pitch}, "
        f"rate {voice.rate}",
        "recordingdate": f"17-07-{day:02d}-{hour:02d}-{minute:02d}-{second:02d}",
        "recordingroom": "synthetic",
    }


def make_digits(
    out,
    speakers=60,
    repetitions=50,
    seed=0,
    workers=1,
    progress=True,
    sample_rate=48000,
    accents=DEFAULT_ACCENTS,
    variants=DEFAULT_VARIANTS,
    overwrite=False,
):
    """Builds an AudioMNIST-layout corpus: ``speakers`` x 10 digits x ``repetitions`` wavs.

    Arguments
    ---------
    out : str
        Corpus root (``data/`` goes inside).
    speakers, repetitions : int
        Sizes (the real dataset: 60 speakers x 50 repetitions).
    seed : int
        Seed of voices and jitter; the same seed gives byte-identical files.
    workers : int
        Worker processes (one fresh process per speaker).
    progress : bool
        Show a progress bar.
    sample_rate : int
        Output rate (AudioMNIST: 48 kHz).
    accents, variants : sequence of str
        eSpeak NG names to draw voices from (``UnknownVoiceError`` for an unknown one).
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
    >>> make_digits(out, speakers=1, repetitions=1, progress=False, overwrite=True).files
    10
    >>> sorted(os.listdir(os.path.join(out, "data", "01")))[:2]
    ['0_01_0.wav', '1_01_0.wav']
    """
    start = time.perf_counter()
    voices = voice_grid(speakers, seed, accents, variants)
    check_out_folder(out, overwrite)
    data = os.path.join(out, "data")
    shards, meta = [], {}
    for k, voice in enumerate(voices):
        name = f"{k + 1:02d}"
        meta[name] = speaker_meta(voice, rng_for(seed, k))
        items = []
        for digit, word in enumerate(DIGIT_WORDS):
            for rep in range(repetitions):
                rng = rng_for(seed, k, digit, rep)
                utt_id = f"{digit}_{name}_{rep}"
                items.append(
                    {
                        "id": utt_id,
                        "text": word,
                        "voice": jitter_voice(voice, rng).to_dict(),
                        "out": os.path.join(data, name, f"{utt_id}.wav"),
                        "sample_rate": sample_rate,
                        "peak": float(rng.uniform(0.3, 0.95)),
                        "lead": float(rng.uniform(0.02, 0.2)),
                        "tail": float(rng.uniform(0.02, 0.15)),
                        "seed": int(rng.integers(2**31)),
                    }
                )
        shards.append({"name": name, "items": items})
    os.makedirs(data, exist_ok=True)
    with open(os.path.join(data, META_FILE), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent="\t")
        f.write("\n")
    _, summary = build(shards, out, workers, progress, desc="digits")
    info = {
        "layout": "AudioMNIST",
        "options": {"speakers": speakers, "repetitions": repetitions, "seed": seed},
        "sample_rate": sample_rate,
        "voices": {name: v.to_dict() for name, v in zip(meta, voices)},
        "synthesizer": espeak_version_info(),
    }
    return finish(summary, out, info, start)
