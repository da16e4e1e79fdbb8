"""Pretrained-model interfaces: load an experiment folder, generate audio."""

from audiodiff.inference.spectrogram_generator import SpectrogramGenerator
from audiodiff.inference.waveform_generator import WaveformGenerator

__all__ = ["SpectrogramGenerator", "WaveformGenerator"]
