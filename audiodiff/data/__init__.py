"""Dataset preparation to SpeechBrain JSON manifests (FSDD, AudioMNIST, SC09, LJSpeech, VCTK).

``prepare_fsdd`` / ``prepare_audiomnist`` write ``train.json``, ``valid.json``, ``test.json``
(speaker-stratified: split by repetition index) and ``speakers.json``; ``compute_features``
turns a manifest into fixed-size dB mel spectrograms, cached on disk. ``prepare_sc09``
(Speech Commands digits, official lists), ``prepare_ljspeech`` and ``prepare_vctk`` (text,
speaker, phonemes) read the real layouts; ``audiodiff.data.synth`` builds synthetic copies
(eSpeak NG, optional extra ``audiodiff[synth]``; not imported here).
"""

from audiodiff.data.audiomnist import HF_DATASET, prepare_audiomnist, write_hf_dataset
from audiodiff.data.errors import DataFolderError
from audiodiff.data.features import (
    compute_features,
    compute_mel_sequences,
    dequantize_db,
    features_cache_key,
    quantize_db,
)
from audiodiff.data.fsdd import BUNDLED_FSDD, find_fsdd_recordings, prepare_fsdd
from audiodiff.data.ljspeech import BUNDLED_LJSPEECH, prepare_ljspeech, split_by_fraction
from audiodiff.data.manifest import read_manifest, scan_audio_files, write_manifest
from audiodiff.data.speech_commands import DIGIT_WORDS, prepare_sc09, which_set
from audiodiff.data.splits import split_by_repetition, write_digit_manifests
from audiodiff.data.vctk import prepare_vctk

__all__ = [
    "BUNDLED_FSDD",
    "BUNDLED_LJSPEECH",
    "DIGIT_WORDS",
    "DataFolderError",
    "HF_DATASET",
    "compute_features",
    "compute_mel_sequences",
    "dequantize_db",
    "features_cache_key",
    "find_fsdd_recordings",
    "prepare_audiomnist",
    "prepare_fsdd",
    "prepare_ljspeech",
    "prepare_sc09",
    "prepare_vctk",
    "quantize_db",
    "read_manifest",
    "scan_audio_files",
    "split_by_fraction",
    "split_by_repetition",
    "which_set",
    "write_digit_manifests",
    "write_hf_dataset",
    "write_manifest",
]
