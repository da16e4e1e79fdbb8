"""Pretrained-model interfaces: load an experiment folder, generate audio."""

from audiodiff.inference.spectrogram_generator import SpectrogramGenerator
from audiodiff.inference.tts import TTS, TTSInputError, load_style_encoder, load_tts_vocoder
from audiodiff.inference.waveform_generator import WaveformGenerator

__all__ = [
    "SpectrogramGenerator",
    "TTS",
    "TTSInputError",
    "WaveformGenerator",
    "load_style_encoder",
    "load_tts_vocoder",
]
