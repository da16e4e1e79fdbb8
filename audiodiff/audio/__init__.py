"""Audio features and inversion: mel spectrograms, dB and range normalisation, vocoders,
audio I/O (soundfile), spectrogram plots, energy-based speech activity (trimming, how much
of a clip is speech), 16-bit spectrogram PNGs and waveform augmentations.

Pipeline: wav [batch, samples] -> ``MelSpectrogram`` -> ``amplitude_to_db`` ->
``SpectrogramNormalizer.normalize`` ([-1, 1]) -> model; inverse: ``denormalize`` -> dB mel ->
``Vocoder`` (e.g. ``GriffinLimVocoder``) -> wav.
"""

from audiodiff.audio.activity import active_frames, frame_levels_db, speech_seconds, trim_silence
from audiodiff.audio.augment import SpeedPitchAugment, pitch_shift, time_stretch
from audiodiff.audio.io import AudioReadError, audio_info, read_audio, reencode_audio, write_audio
from audiodiff.audio.mel import (
    DEFAULT_FLOOR,
    MelSpectrogram,
    amplitude_to_db,
    db_to_amplitude,
    floor_db,
    mel_filterbank,
    pad_or_crop,
    relative_db,
)
from audiodiff.audio.normalization import SpectrogramNormalizer
from audiodiff.audio.plotting import plot_spectrograms
from audiodiff.audio.spectrogram_image import (
    SpectrogramImageError,
    audio_to_image,
    image_to_audio,
    load_spectrogram_image,
    save_spectrogram_image,
)
from audiodiff.audio.vocoder import GriffinLimVocoder, Vocoder

__all__ = [
    "AudioReadError",
    "DEFAULT_FLOOR",
    "GriffinLimVocoder",
    "MelSpectrogram",
    "SpectrogramImageError",
    "SpectrogramNormalizer",
    "SpeedPitchAugment",
    "Vocoder",
    "active_frames",
    "amplitude_to_db",
    "audio_info",
    "audio_to_image",
    "db_to_amplitude",
    "floor_db",
    "frame_levels_db",
    "image_to_audio",
    "load_spectrogram_image",
    "mel_filterbank",
    "pad_or_crop",
    "pitch_shift",
    "plot_spectrograms",
    "read_audio",
    "reencode_audio",
    "relative_db",
    "save_spectrogram_image",
    "speech_seconds",
    "time_stretch",
    "trim_silence",
    "write_audio",
]
