"""audiodiff: diffusion lobes and recipes for audio, in the SpeechBrain manner.

Layers (each imports only those before it): ``diffusion`` (math), ``nets`` (lobes),
``audio`` (features, vocoders, audio I/O), ``data`` (dataset preparation), ``training``
(``DiffusionBrain``), ``inference`` (pretrained-model interfaces).
"""

__version__ = "0.1.0"
