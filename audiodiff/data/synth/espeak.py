"""A small ctypes binding of eSpeak NG (``speak_lib.h``): synthesis, IPA, phoneme timings.

Functions used: ``espeak_Initialize`` (``AUDIO_OUTPUT_SYNCHRONOUS``, phoneme events in IPA),
``espeak_SetSynthCallback``, ``espeak_SetVoiceByName``, ``espeak_SetParameter`` (rate, pitch,
range), ``espeak_Synth``, ``espeak_TextToPhonemes`` and ``espeak_ng_SetRandSeed``. The library
keeps process-global state (one voice, one callback, a noise generator that
``espeak_Initialize`` seeds from the clock, and counters such as the pitch-flutter phase that
make the waveform depend on what was synthesised before), so there is one engine per process
(``get_engine``), every utterance reseeds the noise, and reproducible audio needs a fresh
process per shard of work (``audiodiff.data.synth.shards``).

eSpeak NG always synthesises at 22,050 Hz, 16-bit mono.
"""

import ctypes
import dataclasses

import numpy as np

from audiodiff.data.synth.library import espeak_paths
from audiodiff.data.synth.voices import check_voice

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_PHONEME_IPA = 0x0002
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EVENT_PHONEME = 7
_PARAM_RATE, _PARAM_PITCH, _PARAM_RANGE = 1, 3, 4
_PHONEMES_IPA = 0x02

SAMPLE_RATE = 22050
"""eSpeak NG's output sample rate (fixed by its compiled phoneme data)."""


class EspeakError(RuntimeError):
    """eSpeak NG reported an error (initialisation, voice selection or synthesis)."""


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """``espeak_EVENT``."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclasses.dataclass
class Synthesis:
    """The output of one ``espeak_Synth`` call.

    Attributes
    ----------
    samples : numpy.ndarray
        [samples] int16 waveform at ``SAMPLE_RATE``.
    phonemes : list of (str, float)
        (IPA phoneme, start time in seconds) in order, from ``espeakEVENT_PHONEME``.
    words : list of (int, int, float)
        (text position of the word's first character (1-based), length, start time in seconds).
    """

    samples: np.ndarray
    phonemes: list
    words: list

    @property
    def duration(self):
        """Length in seconds."""
        return len(self.samples) / SAMPLE_RATE


class Engine:
    """eSpeak NG loaded and initialised once in this process; use ``get_engine()``.

    Arguments
    ---------
    library, data : str
        Shared library and ``espeak-ng-data`` folder (see ``espeak_paths``).
    """

    def __init__(self, library, data):
        self.data = data
        self._lib = lib = ctypes.CDLL(library)
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.POINTER(ctypes.c_uint),
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_TextToPhonemes.argtypes = [
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
        ]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        # espeak_ng_Initialize seeds eSpeak NG's own noise generator (breathy voices) with
        # time(NULL); espeak_ng_SetRandSeed (espeak_ng.h, 1.52+) makes it reproducible
        self._set_seed = getattr(lib, "espeak_ng_SetRandSeed", None)
        if self._set_seed is not None:
            self._set_seed.argtypes = [ctypes.c_long]
            self._set_seed.restype = ctypes.c_int
        try:  # the C library's rand() drives the Klatt voices' noise
            self._libc_srand = getattr(ctypes.CDLL(None), "srand", None)
        except (OSError, TypeError):  # no process-wide symbol lookup (Windows)
            self._libc_srand = None
        options = _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_PHONEME_IPA
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(), options)
        if rate != SAMPLE_RATE:
            raise EspeakError(f"espeak_Initialize failed with data folder {data} (returned {rate})")
        self._chunks, self._events = [], []
        self._callback = _CALLBACK(self._on_audio)  # keep a reference: C holds the pointer
        lib.espeak_SetSynthCallback(self._callback)
        self._voice = None

    def _on_audio(self, wav, num_samples, events):
        if wav and num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        index = 0
        while events[index].type != _EVENT_LIST_TERMINATED:
            event = events[index]
            if event.type == _EVENT_PHONEME:
                self._events.append(
                    ("phoneme", event.id.string.decode("utf-8", "replace"), event.audio_position)
                )
            elif event.type == _EVENT_WORD:
                self._events.append(
                    ("word", (event.text_position, event.length), event.audio_position)
                )
            index += 1
        return 0

    def set_voice(self, voice):
        """Selects a voice (accent + variant) and sets its rate, pitch and pitch range.

        Arguments
        ---------
        voice : Voice
            Checked against the voice data first (``UnknownVoiceError`` for an unknown name).
        """
        check_voice(voice, self.data)
        if self._voice is None or self._voice.espeak_name != voice.espeak_name:
            if self._lib.espeak_SetVoiceByName(voice.espeak_name.encode()) != 0:
                raise EspeakError(f"espeak_SetVoiceByName('{voice.espeak_name}') failed")
        for param, value in (
            (_PARAM_RATE, voice.rate),
            (_PARAM_PITCH, voice.pitch),
            (_PARAM_RANGE, voice.pitch_range),
        ):
            if self._lib.espeak_SetParameter(param, int(value), 0) != 0:
                raise EspeakError(f"espeak_SetParameter({param}, {value}) failed")
        self._voice = voice

    def seed(self, seed):
        """Seeds the noise generators (eSpeak NG's own, and C ``rand`` used by Klatt voices).

        Arguments
        ---------
        seed : int
            Non-negative seed.

        Returns
        -------
        bool
            False when this eSpeak NG has no ``espeak_ng_SetRandSeed`` (older than 1.52):
            breathy voices then vary from run to run.
        """
        seed = int(seed) % 2**31
        if self._libc_srand is not None:
            self._libc_srand(seed)
        if self._set_seed is None:
            return False
        self._set_seed(seed)
        return True

    def synthesize(self, text, voice, seed=0):
        """Synthesises UTF-8 text with a voice.

        Arguments
        ---------
        text : str
            Plain text (no SSML).
        voice : Voice
            The voice.
        seed : int
            Seed of the noise generators for this utterance (``Engine.seed``).

        Returns
        -------
        Synthesis
            int16 samples at 22,050 Hz, phoneme and word start times.
        """
        self.set_voice(voice)
        self.seed(seed)
        self._chunks, self._events = [], []
        data = text.encode("utf-8") + b"\0"
        status = self._lib.espeak_Synth(
            data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
        )
        if status != 0:
            raise EspeakError(f"espeak_Synth failed (status {status}) on {text[:40]!r}")
        samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        phonemes = [(name, ms / 1000) for kind, name, ms in self._events if kind == "phoneme"]
        words = [(*span, ms / 1000) for kind, span, ms in self._events if kind == "word"]
        return Synthesis(samples.astype(np.int16), phonemes, words)

    def text_to_phonemes(self, text, voice):
        """Translates text to IPA with ``espeak_TextToPhonemes`` (no audio).

        Arguments
        ---------
        text : str
            Plain text; clauses are translated one by one and joined with a space.
        voice : Voice
            The voice whose language rules are used.

        Returns
        -------
        str
            IPA phonemes, words separated by spaces, punctuation dropped.
        """
        self.set_voice(voice)
        buffer = ctypes.create_string_buffer(text.encode("utf-8") + b"\0")
        pointer = ctypes.c_char_p(ctypes.addressof(buffer))
        clauses = []
        while pointer.value:
            result = self._lib.espeak_TextToPhonemes(
                ctypes.byref(pointer), _CHARS_UTF8, _PHONEMES_IPA
            )
            if result:
                clauses.append(result.decode("utf-8", "replace").strip())
        return " ".join(c for c in clauses if c)


_ENGINE = None  # the C library is process-global, so is its one engine


def get_engine():
    """Returns this process's eSpeak NG engine, loading and initialising it on first use.

    Returns
    -------
    Engine
        The engine.

    Raises
    ------
    SynthUnavailableError
        If ``espeakng-loader`` is not installed (``pip install audiodiff[synth]``).

    Example
    -------
    >>> get_engine() is get_engine()
    True
    """
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = Engine(*espeak_paths())
    return _ENGINE


def synthesize(text, voice, seed=0):
    """Synthesises text with a voice in this process (see ``Engine.synthesize``).

    The waveform can differ slightly with what this process synthesised before (pitch flutter
    and other state carried over); run each shard of a corpus in a fresh process for
    byte-identical output (``run_shards``).

    Arguments
    ---------
    text : str
        Plain text.
    voice : Voice
        The voice (accent, variant, pitch, rate).
    seed : int
        Seed of the noise generators (breathy and Klatt voices).

    Returns
    -------
    Synthesis
        int16 samples at 22,050 Hz and phoneme/word start times.

    Example
    -------
    >>> from audiodiff.data.synth.voices import Voice
    >>> out = synthesize("seven", Voice("en-us", "f2"))
    >>> 0.2 < out.duration < 1.5, out.samples.dtype.name, len(out.phonemes) > 2
    (True, 'int16', True)
    """
    return get_engine().synthesize(text, voice, seed)


def text_to_phonemes(text, voice="en-us"):
    """Translates text to IPA phonemes with eSpeak NG's rules for an accent.

    Arguments
    ---------
    text : str
        Plain text.
    voice : Voice or str
        A voice, or an accent name (``"en-us"``, ``"en-gb-x-rp"``).

    Returns
    -------
    str
        IPA, words separated by spaces, stress marks kept, punctuation dropped.

    Example
    -------
    >>> text_to_phonemes("Hello world.")
    'həlˈoʊ wˈɜːld'
    """
    from audiodiff.data.synth.voices import Voice

    if isinstance(voice, str):
        voice = Voice(voice)
    return get_engine().text_to_phonemes(text, voice)
