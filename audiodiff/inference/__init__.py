"""Pretrained-model interfaces: load an experiment folder, generate audio."""

from audiodiff.inference.spectrogram_generator import SpectrogramGenerator

__all__ = ["SpectrogramGenerator"]
