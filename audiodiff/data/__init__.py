"""Dataset preparation to SpeechBrain JSON manifests (FSDD, AudioMNIST) and feature caches.

``prepare_fsdd`` / ``prepare_audiomnist`` write ``train.json``, ``valid.json``, ``test.json``
(speaker-stratified: split by repetition index) and ``speakers.json``; ``compute_features``
turns a manifest into fixed-size dB mel spectrograms, cached on disk.
"""

from audiodiff.data.audiomnist import HF_DATASET, prepare_audiomnist, write_hf_dataset
from audiodiff.data.errors import DataFolderError
from audiodiff.data.features import compute_features, features_cache_key
from audiodiff.data.fsdd import BUNDLED_FSDD, find_fsdd_recordings, prepare_fsdd
from audiodiff.data.manifest import read_manifest, scan_audio_files, write_manifest
from audiodiff.data.splits import split_by_repetition, write_digit_manifests

__all__ = [
    "BUNDLED_FSDD",
    "DataFolderError",
    "HF_DATASET",
    "compute_features",
    "features_cache_key",
    "find_fsdd_recordings",
    "prepare_audiomnist",
    "prepare_fsdd",
    "read_manifest",
    "scan_audio_files",
    "split_by_repetition",
    "write_digit_manifests",
    "write_hf_dataset",
    "write_manifest",
]
