"""eSpeak NG voices: accent (language voice) x variant (voice quality) x pitch x rate.

An *accent* is a language voice file under ``espeak-ng-data/lang/`` (``en``, ``en-us``,
``en-gb-x-rp``, ``en-029``, ...; matched like eSpeak NG does: file name, name or language code,
case-insensitive). A *variant* is a file under ``espeak-ng-data/voices/!v/`` (``m1`` .. ``m8``,
``f1`` .. ``f5``, ``Annie``, ...; case-sensitive, as the files are). eSpeak NG silently falls
back to its default voice for an unknown variant, so names are checked against these files here
(``UnknownVoiceError``). The voice files are only read, the library is not loaded.
"""

import dataclasses
import functools
import os
import random

from audiodiff.data.synth.library import espeak_paths

RATE_RANGE = (80, 450)
"""eSpeak NG speaking rate limits, words per minute (``espeakRATE``)."""

DEFAULT_ACCENTS = (
    "en",
    "en-us",
    "en-gb-x-rp",
    "en-029",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-us-nyc",
)
"""English accents used for digits and sentences (the texts are English)."""

DEFAULT_VARIANTS = (
    *(f"m{i}" for i in range(1, 9)),
    *(f"f{i}" for i in range(1, 6)),
    *("Andy", "Annie", "aunty", "belinda", "linda", "steph", "steph2", "steph3", "Alicia"),
    *("Andrea", "anika", "michel", "travis", "victor", "Denis", "Marco", "Hugo", "antonio"),
)
"""Variants with a declared gender and a human-like voice (no whisper, robot or effect voices)."""

DEFAULT_PITCHES = (30, 40, 50, 60, 70)
DEFAULT_RATES = (150, 165, 180, 195)

_ACCENT_LABELS = {
    "en": "English",
    "en-us": "American",
    "en-gb-x-rp": "English",
    "en-029": "Caribbean",
    "en-gb-scotland": "Scottish",
    "en-gb-x-gbclan": "Lancastrian",
    "en-gb-x-gbcwmd": "WestMidlands",
    "en-us-nyc": "American",
}


class UnknownVoiceError(ValueError):
    """An accent or variant name that eSpeak NG's voice data does not hold."""


@dataclasses.dataclass(frozen=True)
class Voice:
    """One synthetic speaker: eSpeak NG accent + variant, pitch and rate.

    Arguments
    ---------
    accent : str
        Language voice (``"en-us"``), see ``list_accents``.
    variant : str or None
        Voice variant (``"f3"``), see ``list_variants``; None for the accent's own voice.
    pitch : int
        Base pitch 0..100 (``espeakPITCH``; 50 = the voice's normal).
    rate : int
        Speaking rate in words per minute, 80..450 (``espeakRATE``).
    pitch_range : int
        Intonation range 0..100 (``espeakRANGE``; 0 = monotone, 50 = normal).

    Example
    -------
    >>> Voice("en-us", "f3", pitch=60).espeak_name
    'en-us+f3'
    """

    accent: str
    variant: str | None = None
    pitch: int = 50
    rate: int = 175
    pitch_range: int = 50

    @property
    def espeak_name(self):
        """The name given to ``espeak_SetVoiceByName``: ``accent`` or ``accent+variant``."""
        return self.accent if not self.variant else f"{self.accent}+{self.variant}"

    def to_dict(self):
        """Returns the fields as a JSON-serialisable dict (``Voice(**d)`` rebuilds it)."""
        return dataclasses.asdict(self)


def _data_folder(data_path):
    return data_path if data_path is not None else espeak_paths()[1]


def _read_fields(path):
    fields = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                fields.setdefault(parts[0].lower(), []).append(parts[1:])
    return fields


@functools.lru_cache(maxsize=4)
def _accent_table(data_path):
    """Lower-cased key -> (file name, voice name) for every language voice file."""
    table = {}
    lang = os.path.join(data_path, "lang")
    for root, _, files in sorted(os.walk(lang)):
        for name in sorted(files):
            fields = _read_fields(os.path.join(root, name))
            title = " ".join(fields.get("name", [[name]])[0])
            identifier = os.path.relpath(os.path.join(root, name), lang).replace(os.sep, "/")
            keys = [name, identifier, title] + [langs[0] for langs in fields.get("language", [])]
            for key in keys:
                table.setdefault(key.lower(), (name, title))
    return table


def list_accents(data_path=None):
    """Returns the language voice files of eSpeak NG (accents), sorted.

    Arguments
    ---------
    data_path : str, optional
        ``espeak-ng-data`` folder; default: the one of ``espeakng-loader``.

    Returns
    -------
    list of str
        File names such as ``"en-US"`` (any case, a voice name or a language code also work).

    Example
    -------
    >>> "en-GB-x-rp" in list_accents()
    True
    """
    return sorted({name for name, _ in _accent_table(_data_folder(data_path)).values()})


@functools.lru_cache(maxsize=4)
def _variant_table(data_path):
    folder = os.path.join(data_path, "voices", "!v")
    table = {}
    for name in sorted(os.listdir(folder)):
        gender = _read_fields(os.path.join(folder, name)).get("gender", [["unknown"]])[0][0]
        table[name] = gender.lower() if gender.lower() in ("male", "female") else "unknown"
    return table


def list_variants(data_path=None):
    """Returns the voice variants of eSpeak NG (files in ``voices/!v``), sorted.

    Arguments
    ---------
    data_path : str, optional
        ``espeak-ng-data`` folder; default: the one of ``espeakng-loader``.

    Returns
    -------
    list of str
        Variant names such as ``"f1"``, ``"m3"``, ``"Annie"`` (case-sensitive).

    Example
    -------
    >>> {"f1", "m3"} <= set(list_variants())
    True
    """
    return sorted(_variant_table(_data_folder(data_path)))


def _unknown(kind, name, valid, hint):
    close = [v for v in valid if v.lower().startswith(str(name)[:2].lower())][:8]
    shown = ", ".join(close or valid[:8])
    return UnknownVoiceError(
        f"unknown eSpeak NG {kind} '{name}': valid ones include {shown} "
        f"({len(valid)} in all; {hint})"
    )


def check_voice(voice, data_path=None):
    """Checks a voice's accent and variant against the voice data files, and its numbers.

    Arguments
    ---------
    voice : Voice
        The voice to check.
    data_path : str, optional
        ``espeak-ng-data`` folder; default: the one of ``espeakng-loader``.

    Returns
    -------
    Voice
        The same voice (for chaining).

    Raises
    ------
    UnknownVoiceError
        If the accent or variant does not exist; the message lists a few valid names.
    ValueError
        If pitch, range or rate is out of eSpeak NG's limits.

    Example
    -------
    >>> try:
    ...     check_voice(Voice("en-us", "f99"))
    ... except UnknownVoiceError as err:
    ...     print(str(err)[:38])
    unknown eSpeak NG variant 'f99': valid
    """
    data_path = _data_folder(data_path)
    if str(voice.accent).lower() not in _accent_table(data_path):
        raise _unknown("accent", voice.accent, list_accents(data_path), "see list_accents()")
    if voice.variant and voice.variant not in _variant_table(data_path):
        raise _unknown("variant", voice.variant, list_variants(data_path), "see list_variants()")
    for name, low, high in (("pitch", 0, 100), ("pitch_range", 0, 100), ("rate", *RATE_RANGE)):
        value = getattr(voice, name)
        if not low <= value <= high:
            raise ValueError(f"voice {name}={value} is outside eSpeak NG's range {low}..{high}")
    return voice


def voice_gender(voice, data_path=None):
    """Returns ``"male"``, ``"female"`` or ``"unknown"``, as the variant file declares it.

    Arguments
    ---------
    voice : Voice
        A checked voice.
    data_path : str, optional
        ``espeak-ng-data`` folder; default: the one of ``espeakng-loader``.

    Returns
    -------
    str
        The gender (``"male"`` for the accent's own voice, eSpeak NG's default is male).

    Example
    -------
    >>> voice_gender(Voice("en", "f2")), voice_gender(Voice("en", "m1"))
    ('female', 'male')
    """
    if not voice.variant:
        return "male"
    return _variant_table(_data_folder(data_path)).get(voice.variant, "unknown")


def accent_label(accent, data_path=None):
    """Returns a one-word accent label for metadata files (``"American"``, ``"Scottish"``).

    Arguments
    ---------
    accent : str
        An accent name accepted by ``check_voice``.
    data_path : str, optional
        ``espeak-ng-data`` folder; default: the one of ``espeakng-loader``.

    Returns
    -------
    str
        The label (no spaces), from a short table of English accents, else from the voice name.

    Example
    -------
    >>> accent_label("en-GB-scotland")
    'Scottish'
    """
    if accent.lower() in _ACCENT_LABELS:
        return _ACCENT_LABELS[accent.lower()]
    _, title = _accent_table(_data_folder(data_path))[accent.lower()]
    return "".join(ch for ch in title.title() if ch.isalnum())


def voice_grid(
    num_voices,
    seed=0,
    accents=DEFAULT_ACCENTS,
    variants=DEFAULT_VARIANTS,
    pitches=DEFAULT_PITCHES,
    rates=DEFAULT_RATES,
):
    """Picks ``num_voices`` distinct voices from accent x variant x pitch x rate.

    Variants and accents are shuffled by ``seed`` and taken in turn, so a small set of voices
    already covers many variants and accents; pitch and rate are drawn per voice. The same
    arguments give the same voices in every process.

    Arguments
    ---------
    num_voices : int
        How many voices.
    seed : int
        Seed of the shuffles and draws.
    accents, variants : sequence of str
        Names to combine (checked: ``UnknownVoiceError`` for an unknown one).
    pitches, rates : sequence of int
        Base pitches (0..100) and rates (words per minute) to draw from.

    Returns
    -------
    list of Voice
        Distinct voices.

    Raises
    ------
    UnknownVoiceError
        If an accent or variant does not exist.
    ValueError
        If fewer than ``num_voices`` distinct combinations exist.

    Example
    -------
    >>> voices = voice_grid(4, seed=1)
    >>> len(set(voices)), voices == voice_grid(4, seed=1)
    (4, True)
    """
    accents, variants = list(accents), list(variants)
    pitches, rates = sorted(set(pitches)), sorted(set(rates))
    if not (accents and variants and pitches and rates):
        raise ValueError("voice_grid needs at least one accent, variant, pitch and rate")
    for accent in accents:
        check_voice(Voice(accent, pitch=pitches[0], rate=rates[0]))
    for variant in variants:
        check_voice(Voice(accents[0], variant, pitch=pitches[0], rate=rates[0]))
    available = len(set(accents)) * len(set(variants)) * len(pitches) * len(rates)
    if num_voices > available:
        raise ValueError(
            f"asked for {num_voices} voices but only {available} distinct accent x variant x "
            "pitch x rate combinations exist: pass more variants, pitches or rates"
        )
    rng = random.Random(seed)
    rng.shuffle(accents)
    rng.shuffle(variants)
    combos = [(p, r) for p in pitches for r in rates]
    voices, seen = [], set()
    for k in range(num_voices):
        variant = variants[k % len(variants)]
        accent = accents[(k + k // len(variants)) % len(accents)]
        for pitch, rate in [rng.choice(combos)] + rng.sample(combos, len(combos)):
            voice = Voice(accent, variant, pitch=pitch, rate=rate)
            if voice not in seen:
                break
        else:  # every pitch x rate of this accent + variant is taken: try other pairs
            voice = next(
                Voice(a, v, pitch=p, rate=r)
                for a in accents
                for v in variants
                for p, r in combos
                if Voice(a, v, pitch=p, rate=r) not in seen
            )
        seen.add(voice)
        voices.append(voice)
    return voices
