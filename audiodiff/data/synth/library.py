"""Locating eSpeak NG: the ``espeakng-loader`` wheel (optional extra ``audiodiff[synth]``).

eSpeak NG is GPL-3.0, so it is not a dependency of the audiodiff core: only the corpus builder
(``tools/make_corpus.py``) and phonemizers use it, and importing audiodiff never needs it.
"""

import os


class SynthUnavailableError(ImportError):
    """eSpeak NG (the ``espeakng-loader`` wheel) is not installed; the message says what to do."""


_INSTALL_HINT = (
    "eSpeak NG is not available: install the optional extra with `pip install audiodiff[synth]` "
    "(it installs espeakng-loader, GPL-3.0, which ships libespeak-ng and its voice data)"
)


def espeak_paths():
    """Returns the eSpeak NG shared library and voice-data folder of the ``espeakng-loader`` wheel.

    Returns
    -------
    library : str
        Path of ``libespeak-ng`` (``.so``, ``.dylib`` or ``.dll``).
    data : str
        Path of the ``espeak-ng-data`` folder.

    Raises
    ------
    SynthUnavailableError
        If ``espeakng_loader`` cannot be imported or its files are missing; the message says
        ``pip install audiodiff[synth]``.

    Example
    -------
    >>> library, data = espeak_paths()
    >>> os.path.basename(data)
    'espeak-ng-data'
    """
    try:
        import espeakng_loader
    except ImportError:
        raise SynthUnavailableError(_INSTALL_HINT) from None
    try:
        library, data = espeakng_loader.get_library_path(), espeakng_loader.get_data_path()
    except RuntimeError as err:
        raise SynthUnavailableError(f"{_INSTALL_HINT}; the installed copy is broken ({err})")
    if not os.path.isfile(library):
        raise SynthUnavailableError(f"{_INSTALL_HINT}; the library {library} is missing")
    return library, data


def synth_available():
    """Whether eSpeak NG can be used (``espeakng_loader`` importable, its files present).

    Returns
    -------
    bool
        True when ``espeak_paths`` succeeds.

    Example
    -------
    >>> isinstance(synth_available(), bool)
    True
    """
    try:
        espeak_paths()
    except SynthUnavailableError:
        return False
    return True
