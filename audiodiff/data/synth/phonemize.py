"""IPA transcriptions for manifests, with eSpeak NG when the ``audiodiff[synth]`` extra is there."""

import logging

from audiodiff.data.synth.library import SynthUnavailableError, synth_available

logger = logging.getLogger(__name__)


def resolve_phonemes(phonemes):
    """Decides whether manifests get phonemes: ``"auto"`` -> only when eSpeak NG is installed.

    Arguments
    ---------
    phonemes : bool or str
        True (required), False (never) or ``"auto"``.

    Returns
    -------
    bool
        Whether to phonemize.

    Raises
    ------
    SynthUnavailableError
        If ``phonemes`` is True and eSpeak NG is missing (``pip install audiodiff[synth]``).

    Example
    -------
    >>> resolve_phonemes(False)
    False
    """
    if phonemes == "auto":
        available = synth_available()
        if not available:
            logger.info("eSpeak NG not installed: manifests get no phonemes (audiodiff[synth])")
        return available
    if phonemes not in (True, False):
        raise ValueError(f"phonemes must be True, False or 'auto', got {phonemes!r}")
    if phonemes and not synth_available():
        from audiodiff.data.synth.library import espeak_paths

        espeak_paths()  # raises SynthUnavailableError with the install hint
        raise SynthUnavailableError("eSpeak NG is not available")  # pragma: no cover
    return phonemes


def phonemize_texts(texts, accent="en-us"):
    """Translates texts to IPA with eSpeak NG (words separated by spaces, stress marks kept).

    Arguments
    ---------
    texts : iterable of str
        Sentences.
    accent : str
        eSpeak NG accent whose rules are used (``"en-us"``, ``"en"`` for British English).

    Returns
    -------
    list of str
        One IPA string per text.

    Example
    -------
    >>> phonemize_texts(["Nine."])
    ['nˈaɪn']
    """
    from audiodiff.data.synth.espeak import text_to_phonemes

    return [text_to_phonemes(text, accent) for text in texts]
