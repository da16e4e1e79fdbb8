"""A synthetic multi-speaker corpus in the VCTK-0.92 layout, with phoneme alignments.

Writes, like VCTK-Corpus-0.92 (Yamagishi et al. 2019)::

    out/wav48_silence_trimmed/pNNN/pNNN_MMM_mic1.flac   48 kHz mono 16-bit (or .wav)
    out/txt/pNNN/pNNN_MMM.txt                            the sentence and a newline
    out/speaker-info.txt                                 "ID  AGE  GENDER  ACCENTS  REGION ..."
    out/alignments/pNNN/pNNN_MMM.json                    not in the real data, see below
    out/synth_corpus.json                                provenance; not in the real data

Speakers ``p225``, ``p226``, ... are eSpeak NG voices (``voice_grid``) that all read the same
first ``sentences`` sentences of the bundled text (``MMM`` = 001 ...), as VCTK's speakers share
their first sentences. Only ``mic1`` is written.

Alignment file (one per utterance; times in seconds in the written audio file)::

    {"utt_id": "p225_001", "text": "...", "sample_rate": 48000, "duration": 2.71,
     "voice": {"accent", "variant", "pitch", "rate", "pitch_range"},
     "phonemes": [{"phoneme": "ð", "start": 0.112, "end": 0.161}, ...],
     "words": [{"word": "The", "start": 0.1, "end": 0.29}, ...]}

Phonemes are IPA names from eSpeak NG's phoneme events, stress marks attached (``ˈɪ``); a
phoneme ends where the next phoneme or pause starts, pauses are left out; a word ends where the
next word starts.
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
from audiodiff.data.synth.voices import (
    DEFAULT_ACCENTS,
    DEFAULT_VARIANTS,
    accent_label,
    voice_gender,
    voice_grid,
)

AUDIO_FOLDER = "wav48_silence_trimmed"
SPEAKER_INFO = "speaker-info.txt"
FIRST_SPEAKER = 225
_HEADER = "ID  AGE  GENDER  ACCENTS  REGION COMMENTS \n"


def make_vctk(
    out,
    speakers=10,
    sentences=20,
    seed=0,
    workers=1,
    progress=True,
    audio_format="flac",
    sample_rate=48000,
    accents=DEFAULT_ACCENTS,
    variants=DEFAULT_VARIANTS,
    sentences_file=SENTENCES_FILE,
    overwrite=False,
):
    """Builds a VCTK-0.92-layout corpus: ``speakers`` voices x the same ``sentences``.

    Arguments
    ---------
    out : str
        Corpus root, e.g. ``.../VCTK-Corpus-0.92``.
    speakers : int
        Number of voices.
    sentences : int
        Sentences per speaker (the first ones of ``sentences_file``).
    seed : int
        Seed of voices and jitter; the same seed gives byte-identical files.
    workers : int
        Worker processes (one fresh process per speaker).
    progress : bool
        Show a progress bar.
    audio_format : str
        ``"flac"`` (as VCTK-0.92) or ``"wav"``.
    sample_rate : int
        Output rate (VCTK: 48 kHz).
    accents, variants : sequence of str
        eSpeak NG names to draw voices from.
    sentences_file : str
        One sentence per line.
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
    >>> make_vctk(out, speakers=1, sentences=1, progress=False, overwrite=True).files
    1
    >>> os.listdir(os.path.join(out, "wav48_silence_trimmed", "p225"))
    ['p225_001_mic1.flac']
    """
    start = time.perf_counter()
    if audio_format not in ("flac", "wav"):
        raise ValueError(f"audio_format must be 'flac' or 'wav', got {audio_format!r}")
    texts = load_sentences(sentences_file)
    if not 1 <= sentences <= len(texts):
        raise ValueError(f"sentences must be in 1..{len(texts)} (the sentences in the text file)")
    voices = voice_grid(speakers, seed, accents, variants)
    check_out_folder(out, overwrite)
    shards, info_rows, names = [], [_HEADER], []
    for k, voice in enumerate(voices):
        speaker = f"p{FIRST_SPEAKER + k}"
        names.append(speaker)
        age = int(rng_for(seed, k).integers(18, 40))
        gender = {"female": "F", "male": "M"}.get(voice_gender(voice), "U")
        region = f"eSpeak NG {voice.espeak_name} pitch {voice.pitch} rate {voice.rate}"
        info_rows.append(
            f"{speaker}  {age}  {gender}    {accent_label(voice.accent)}    {region}\n"
        )
        items = []
        for m, text in enumerate(texts[:sentences], start=1):
            utt_id = f"{speaker}_{m:03d}"
            txt = os.path.join(out, "txt", speaker, f"{utt_id}.txt")
            os.makedirs(os.path.dirname(txt), exist_ok=True)
            with open(txt, "w", encoding="utf-8", newline="") as f:
                f.write(text + "\n")
            rng = rng_for(seed, k, m)
            items.append(
                {
                    "id": utt_id,
                    "text": text,
                    "voice": jitter_voice(voice, rng, pitch=3, rate=0.05).to_dict(),
                    "out": os.path.join(
                        out, AUDIO_FOLDER, speaker, f"{utt_id}_mic1.{audio_format}"
                    ),
                    "sample_rate": sample_rate,
                    "peak": float(rng.uniform(0.5, 0.95)),
                    "lead": float(rng.uniform(0.05, 0.2)),
                    "tail": float(rng.uniform(0.05, 0.2)),
                    "seed": int(rng.integers(2**31)),
                    "alignment": os.path.join(out, "alignments", speaker, f"{utt_id}.json"),
                }
            )
        shards.append({"name": speaker, "items": items})
    with open(os.path.join(out, SPEAKER_INFO), "w", encoding="utf-8", newline="") as f:
        f.writelines(info_rows)
    _, summary = build(shards, out, workers, progress, desc="vctk")
    info = {
        "layout": "VCTK-Corpus-0.92",
        "options": {"speakers": speakers, "sentences": sentences, "seed": seed},
        "sample_rate": sample_rate,
        "audio_format": audio_format,
        "voices": {name: v.to_dict() for name, v in zip(names, voices)},
        "sentences": os.path.basename(sentences_file),
        "synthesizer": espeak_version_info(),
    }
    return finish(summary, out, info, start)
