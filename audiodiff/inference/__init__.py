"""Pretrained-model interfaces: load an experiment folder, generate audio, embed references.

- ``SpectrogramGenerator`` / ``WaveformGenerator``: the digit recipes' generators.
- ``DiffusionVocoder``: a trained mel vocoder (recipes/LJSpeech/vocoder) as an
  ``audiodiff.audio.Vocoder``; ``load_vocoder(folder, mel_settings)`` loads and checks one for
  a recipe's ``--vocoder DIR``, ``resolve_vocoder(hparams)`` does it for a loaded YAML.
- ``Recognizer``: a trained CTC character recogniser (recipes/speechocean762/asr):
  ``transcribe(wavs, sample_rate)``, ``error_rates(wavs, texts, sample_rate)`` (CER / WER).
"""

from audiodiff.inference.diffusion_vocoder import (
    DiffusionVocoder,
    VocoderMismatchError,
    load_vocoder,
    mel_settings_mismatch,
    resolve_vocoder,
)
from audiodiff.inference.recognizer import Recognizer, RecognizerInputError
from audiodiff.inference.spectrogram_generator import SpectrogramGenerator
from audiodiff.inference.style import (
    ClapAudioEncoder,
    SpeakerEncoder,
    StyleEncoder,
    StyleEncoderInputError,
)
from audiodiff.inference.tts import TTS, TTSInputError, load_style_encoder, load_tts_vocoder
from audiodiff.inference.waveform_generator import WaveformGenerator

__all__ = [
    "ClapAudioEncoder",
    "DiffusionVocoder",
    "Recognizer",
    "RecognizerInputError",
    "SpeakerEncoder",
    "SpectrogramGenerator",
    "StyleEncoder",
    "StyleEncoderInputError",
    "TTS",
    "TTSInputError",
    "VocoderMismatchError",
    "WaveformGenerator",
    "load_style_encoder",
    "load_tts_vocoder",
    "load_vocoder",
    "mel_settings_mismatch",
    "resolve_vocoder",
]
