"""Spectrograms as 16-bit grayscale PNG images, and back to audio.

The mapping is fixed and written into the file, so reading an image needs no guessing:

- pixel value v in 0 .. 65535 <-> dB value ``floor_db + v / 65535 * (top_db - floor_db)``
  (dB of ``amplitude_to_db`` of a magnitude mel spectrogram); values outside
  [floor_db, top_db] are clipped, and within it the round trip is off by at most
  ``(top_db - floor_db) / 131070`` dB (0.0011 dB for the default -100 .. 40 dB);
- one row per mel band, the lowest band in the bottom row; one column per frame;
- a PNG text chunk ``audiodiff-spectrogram`` holds JSON: ``{"version", "floor_db",
  "top_db", "levels", "orientation", "mel": {sample_rate, n_fft, hop_length, win_length,
  n_mels, f_min, f_max, power}}`` (the ``MelSpectrogram`` settings, Slaney mel scale and
  normalisation as everywhere in audiodiff).

This is the seed project's ``image_to_audio`` without its range bug (its mels were stored in
[0, 1] but read back from [-1, 1]).
"""

import json
import os

import numpy as np
import torch

from audiodiff.audio.mel import DEFAULT_FLOOR, MelSpectrogram, amplitude_to_db
from audiodiff.audio.mel import floor_db as _floor_db

IMAGE_KEY = "audiodiff-spectrogram"
FORMAT_VERSION = 1
LEVELS = 65535
DEFAULT_FLOOR_DB = _floor_db(DEFAULT_FLOOR)
"""-100 dB: the amplitude floor of ``amplitude_to_db`` (digital silence)."""
DEFAULT_TOP_DB = 40.0
"""dB mapped to white; LJSpeech's loudest 64-band mel value is about +17 dB."""
ORIENTATION = "rows are mel bands, lowest band at the bottom; columns are frames"


class SpectrogramImageError(ValueError):
    """A file is not a spectrogram image of this format, or does not fit the settings."""


def db_to_levels(mel_db, floor_db=DEFAULT_FLOOR_DB, top_db=DEFAULT_TOP_DB):
    """16-bit image of a dB spectrogram: [n_mels, frames] dB -> [n_mels, frames] uint16.

    Row 0 of the result is the highest band (image rows run top to bottom).

    Arguments
    ---------
    mel_db : torch.Tensor
        [n_mels, frames] dB values.
    floor_db, top_db : float
        dB values of pixel 0 and 65535.

    Returns
    -------
    numpy.ndarray
        [n_mels, frames] uint16.

    Example
    -------
    >>> db_to_levels(torch.tensor([[-100.0, 40.0], [-30.0, 99.0]]))
    array([[32768, 65535],
           [    0, 65535]], dtype=uint16)
    """
    if not top_db > floor_db:
        raise ValueError(f"top_db ({top_db}) must be above floor_db ({floor_db})")
    db = torch.as_tensor(mel_db).detach().double().cpu()
    if db.dim() != 2:
        raise ValueError(f"expected a [n_mels, frames] spectrogram, got shape {tuple(db.shape)}")
    scaled = (db.clamp(floor_db, top_db) - floor_db) / (top_db - floor_db) * LEVELS
    return np.ascontiguousarray(torch.round(scaled).flip(0).numpy().astype(np.uint16))


def levels_to_db(levels, floor_db=DEFAULT_FLOOR_DB, top_db=DEFAULT_TOP_DB):
    """Inverse of :func:`db_to_levels`: uint16 image -> [n_mels, frames] float32 dB (row 0 =
    lowest band).

    Example
    -------
    >>> levels_to_db(np.array([[65535], [0]], dtype=np.uint16))
    tensor([[-100.],
            [  40.]])
    """
    levels = torch.from_numpy(np.asarray(levels, dtype=np.float64)).flip(0)
    return (floor_db + levels / LEVELS * (top_db - floor_db)).float()


def image_info(mel_settings, floor_db=DEFAULT_FLOOR_DB, top_db=DEFAULT_TOP_DB):
    """The dict stored in the ``audiodiff-spectrogram`` text chunk.

    Example
    -------
    >>> image_info(MelSpectrogram(22050, n_mels=64).settings())["mel"]["n_mels"]
    64
    """
    return {
        "version": FORMAT_VERSION,
        "floor_db": float(floor_db),
        "top_db": float(top_db),
        "levels": LEVELS,
        "orientation": ORIENTATION,
        "mel": dict(mel_settings),
    }


def save_spectrogram_image(
    path, mel_db, mel_settings, floor_db=DEFAULT_FLOOR_DB, top_db=DEFAULT_TOP_DB
):
    """Write a dB mel spectrogram as a 16-bit grayscale PNG with its mapping in a text chunk.

    Arguments
    ---------
    path : str or os.PathLike
        The PNG file (parent folders are created).
    mel_db : torch.Tensor
        [n_mels, frames] dB spectrogram.
    mel_settings : dict
        ``MelSpectrogram.settings()`` of the transform that made it.
    floor_db, top_db : float
        The dB range mapped to 0 .. 65535.

    Returns
    -------
    str
        ``path``.

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "s.png")
    >>> mel = MelSpectrogram(22050, n_mels=64)
    >>> db = torch.linspace(-90.0, 10.0, 64 * 20).reshape(64, 20)
    >>> _ = save_spectrogram_image(path, db, mel.settings())
    >>> back, info = load_spectrogram_image(path)
    >>> float((back - db).abs().max()) < 0.01, info["mel"]["n_mels"]
    (True, 64)
    """
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    missing = [k for k in ("sample_rate", "n_fft", "hop_length", "n_mels") if k not in mel_settings]
    if missing:
        raise ValueError(f"mel_settings lacks {missing}")
    levels = db_to_levels(mel_db, floor_db, top_db)
    if levels.shape[0] != mel_settings["n_mels"]:
        raise ValueError(
            f"spectrogram has {levels.shape[0]} bands, mel_settings say {mel_settings['n_mels']}"
        )
    text = PngInfo()
    text.add_text(IMAGE_KEY, json.dumps(image_info(mel_settings, floor_db, top_db)))
    path = os.fspath(path)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    Image.fromarray(levels).save(path, format="PNG", pnginfo=text)
    return path


def load_spectrogram_image(path):
    """Read a PNG written by :func:`save_spectrogram_image`.

    Returns
    -------
    mel_db : torch.Tensor
        [n_mels, frames] float32 dB.
    info : dict
        The text chunk (:func:`image_info`).

    Raises
    ------
    SpectrogramImageError
        Missing file, not a PNG, no ``audiodiff-spectrogram`` chunk (not made by this
        module), a newer format version, not 16-bit grayscale, or a band count that differs
        from the chunk's.
    """
    from PIL import Image, UnidentifiedImageError

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise SpectrogramImageError(f"cannot read image '{path}': file not found")
    try:
        with Image.open(path) as image:
            image.load()
            kind, mode, text = image.format, image.mode, dict(getattr(image, "text", {}))
            array = np.array(image)
    except (UnidentifiedImageError, OSError) as err:
        raise SpectrogramImageError(f"cannot read image '{path}': not an image ({err})") from None
    if kind != "PNG":
        raise SpectrogramImageError(f"'{path}' is a {kind} image, not a PNG")
    if IMAGE_KEY not in text:
        raise SpectrogramImageError(
            f"'{path}' is not a spectrogram image made by audiodiff (no '{IMAGE_KEY}' text "
            "chunk with its dB mapping and mel settings): write it with "
            "tools/spectrogram_image.py to-image"
        )
    try:
        info = json.loads(text[IMAGE_KEY])
        floor, top, mel = float(info["floor_db"]), float(info["top_db"]), info["mel"]
        version = int(info["version"])
    except (ValueError, KeyError, TypeError) as err:
        raise SpectrogramImageError(f"'{path}': unreadable '{IMAGE_KEY}' chunk ({err})") from None
    if version > FORMAT_VERSION:
        raise SpectrogramImageError(
            f"'{path}' has format version {version}; this audiodiff reads up to {FORMAT_VERSION}"
        )
    if mode not in ("I;16", "I;16B", "I") or array.ndim != 2:
        raise SpectrogramImageError(f"'{path}' is not a 16-bit grayscale image (mode {mode})")
    if array.shape[0] != int(mel["n_mels"]):
        raise SpectrogramImageError(
            f"'{path}' has {array.shape[0]} rows but its chunk says n_mels={mel['n_mels']}"
        )
    return levels_to_db(array.astype(np.uint16), floor, top), info


def audio_to_image(
    audio_path,
    image_path,
    mel=None,
    floor_db=DEFAULT_FLOOR_DB,
    top_db=DEFAULT_TOP_DB,
    resample=False,
):
    """Audio file -> 16-bit spectrogram PNG (:func:`save_spectrogram_image`).

    Arguments
    ---------
    audio_path : str
        Any file soundfile reads (mono mix of its channels).
    image_path : str
        The PNG to write.
    mel : MelSpectrogram, optional
        The analysis (default: 22,050 Hz, n_fft 1024, hop 256, 64 bands, 0-8 kHz: the
        sentence-spectrogram recipe's).
    floor_db, top_db : float
        The dB range of the image.
    resample : bool
        Resample audio at another rate to ``mel.sample_rate``; False: such a file is an error.

    Returns
    -------
    torch.Tensor
        The [n_mels, frames] dB spectrogram written.

    Raises
    ------
    audiodiff.audio.AudioReadError
        Missing, corrupt or empty audio.
    SpectrogramImageError
        The file's sample rate differs from the mel's and ``resample`` is False.
    """
    from audiodiff.audio.io import audio_info, read_audio

    mel = mel if mel is not None else MelSpectrogram(22050, 1024, 256, n_mels=64)
    _, rate = audio_info(audio_path)
    if rate != mel.sample_rate and not resample:
        raise SpectrogramImageError(
            f"'{audio_path}' is {rate} Hz but the mel settings are {mel.sample_rate} Hz: pass "
            f"--sample_rate {rate} or --resample"
        )
    wav, _ = read_audio(audio_path, sample_rate=mel.sample_rate)
    with torch.no_grad():
        mel_db = amplitude_to_db(mel(wav.unsqueeze(0)))[0]
    save_spectrogram_image(image_path, mel_db, mel.settings(), floor_db, top_db)
    return mel_db


def griffin_lim_for(info, **kwargs):
    """A :class:`audiodiff.audio.GriffinLimVocoder` with the mel settings of an image's chunk.

    Example
    -------
    >>> info = image_info(MelSpectrogram(22050, n_mels=64).settings())
    >>> griffin_lim_for(info, n_iter=4).sample_rate
    22050
    """
    from audiodiff.audio.vocoder import GriffinLimVocoder

    mel = info["mel"]
    if mel.get("win_length", mel["n_fft"]) != mel["n_fft"]:
        raise SpectrogramImageError("Griffin-Lim here needs win_length == n_fft")
    keys = ("sample_rate", "n_fft", "hop_length", "n_mels", "f_min", "f_max", "power")
    return GriffinLimVocoder(**{k: mel[k] for k in keys if k in mel}, **kwargs)


def image_to_audio(image_path, audio_path=None, vocoder=None, n_iter=64):
    """Spectrogram PNG -> waveform, through Griffin-Lim or any trained vocoder.

    Arguments
    ---------
    image_path : str
        A PNG written by :func:`save_spectrogram_image`.
    audio_path : str, optional
        Write the waveform here (16-bit wav) too.
    vocoder : audiodiff.audio.Vocoder, optional
        Any ``forward(mel_db [1, n_mels, frames]) -> wav [1, samples]`` module with
        ``sample_rate`` and ``hop_length`` (e.g. a trained diffusion vocoder). Default:
        Griffin-Lim with the image's mel settings (:func:`griffin_lim_for`).
    n_iter : int
        Griffin-Lim iterations (default vocoder only).

    Returns
    -------
    wav : torch.Tensor
        [samples] float32 on the CPU.
    sample_rate : int

    Raises
    ------
    SpectrogramImageError
        Unreadable image (see :func:`load_spectrogram_image`), or a vocoder whose sample rate
        or hop length differs from the image's.
    """
    from audiodiff.audio.io import write_audio

    mel_db, info = load_spectrogram_image(image_path)
    if vocoder is None:
        vocoder = griffin_lim_for(info, n_iter=n_iter)
    for key in ("sample_rate", "hop_length"):
        have, want = getattr(vocoder, key, None), info["mel"][key]
        if have is not None and int(have) != int(want):
            raise SpectrogramImageError(
                f"the vocoder's {key} is {have} but '{image_path}' was made with {key}={want}"
            )
    device = next(iter(vocoder.buffers()), torch.empty(0)).device
    with torch.no_grad():
        wav = vocoder(mel_db.unsqueeze(0).to(device))[0].float().cpu()
    rate = int(info["mel"]["sample_rate"])
    if audio_path is not None:
        write_audio(audio_path, wav, rate)
    return wav, rate
