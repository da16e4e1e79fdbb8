"""Pretrained-model interfaces: load an experiment folder, generate audio, embed references."""

from audiodiff.inference.spectrogram_generator import SpectrogramGenerator
from audiodiff.inference.style import (
    ClapAudioEncoder,
    SpeakerEncoder,
    StyleEncoder,
    StyleEncoderInputError,
)
from audiodiff.inference.waveform_generator import WaveformGenerator

__all__ = [
    "ClapAudioEncoder",
    "SpeakerEncoder",
    "SpectrogramGenerator",
    "StyleEncoder",
    "StyleEncoderInputError",
    "WaveformGenerator",
]
