"""Synthetic speech corpora with eSpeak NG, in the real datasets' layouts.

A small ctypes binding of eSpeak NG (``espeak``: synthesis, IPA, phoneme timings), voices as
accent x variant x pitch x rate checked against the voice data (``voices``), a numpy resampler
(``resample``), fresh-process shards for byte-identical output (``shards``, ``worker``), and one
builder per layout: ``make_digits`` (AudioMNIST), ``make_sc09`` (Speech Commands digits),
``make_ljspeech`` (LJSpeech-1.1), ``make_vctk`` (VCTK-0.92 + phoneme alignments). The command
line is ``tools/make_corpus.py``.

Licence: eSpeak NG is GPL-3.0 and comes from the optional extra ``pip install audiodiff[synth]``
(the ``espeakng-loader`` wheel). Importing this package does not need it; the first synthesis
or phonemisation raises ``SynthUnavailableError`` (an ``ImportError``) saying how to install
it. The generated audio is audiodiff's own output, not a part of eSpeak NG.
"""

from audiodiff.data.synth.corpus import (
    INFO_FILE,
    SENTENCES_FILE,
    CorpusSummary,
    load_sentences,
    rng_for,
)
from audiodiff.data.synth.corpus_digits import make_digits
from audiodiff.data.synth.corpus_ljspeech import make_ljspeech
from audiodiff.data.synth.corpus_sc09 import make_sc09, speaker_hashes
from audiodiff.data.synth.corpus_vctk import make_vctk
from audiodiff.data.synth.espeak import (
    SAMPLE_RATE,
    EspeakError,
    Synthesis,
    get_engine,
    synthesize,
    text_to_phonemes,
)
from audiodiff.data.synth.library import SynthUnavailableError, espeak_paths, synth_available
from audiodiff.data.synth.resample import resample
from audiodiff.data.synth.shards import ShardError, run_shards
from audiodiff.data.synth.voices import (
    DEFAULT_ACCENTS,
    DEFAULT_VARIANTS,
    UnknownVoiceError,
    Voice,
    check_voice,
    list_accents,
    list_variants,
    voice_grid,
)

__all__ = [
    "DEFAULT_ACCENTS",
    "DEFAULT_VARIANTS",
    "INFO_FILE",
    "SAMPLE_RATE",
    "SENTENCES_FILE",
    "CorpusSummary",
    "EspeakError",
    "ShardError",
    "SynthUnavailableError",
    "Synthesis",
    "UnknownVoiceError",
    "Voice",
    "check_voice",
    "espeak_paths",
    "get_engine",
    "list_accents",
    "list_variants",
    "load_sentences",
    "make_digits",
    "make_ljspeech",
    "make_sc09",
    "make_vctk",
    "resample",
    "rng_for",
    "run_shards",
    "speaker_hashes",
    "synth_available",
    "synthesize",
    "text_to_phonemes",
    "voice_grid",
]
