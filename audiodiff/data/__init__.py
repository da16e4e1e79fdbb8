"""Dataset preparation to SpeechBrain JSON manifests (FSDD, AudioMNIST, SC09, LJSpeech, VCTK,
speechocean762).

``prepare_fsdd`` / ``prepare_audiomnist`` write ``train.json``, ``valid.json``, ``test.json``
(speaker-stratified: split by repetition index) and ``speakers.json``; ``compute_features``
turns a manifest into fixed-size (or whole-clip) dB mel spectrograms, cached on disk;
``RandomCropDataset`` draws fixed-size crops of whole clips; ``load_utterances`` and
``RandomSegments`` give whole utterances and aligned random crops (vocoders). ``prepare_sc09``
(Speech Commands digits, official lists), ``prepare_ljspeech`` and ``prepare_vctk`` (text,
speaker, phonemes) and ``prepare_speechocean762`` (text, ARPAbet phones per word, gender, age;
five speakers held out) read the real layouts; ``FeatureBank`` holds variable-length dB mel
features of many utterances (a compact quantised file for GPU runs); ``audiodiff.data.synth``
builds synthetic copies (eSpeak NG, optional extra ``audiodiff[synth]``; not imported here).
"""

from audiodiff.data.audiomnist import HF_DATASET, prepare_audiomnist, write_hf_dataset
from audiodiff.data.crops import RandomCropDataset, evaluation_crops, split_clips
from audiodiff.data.errors import DataFolderError
from audiodiff.data.feature_bank import (
    FeatureBank,
    FeatureBankError,
    RandomCropBatches,
    build_feature_bank,
)
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
from audiodiff.data.speaker_corpora import (
    SPEAKER_PREFIX,
    build_speaker_bank,
    prepare_speaker_corpora,
    select_per_speaker,
)
from audiodiff.data.speech_commands import (
    BUNDLED_SC09_MINI,
    DIGIT_WORDS,
    prepare_sc09,
    which_set,
)
from audiodiff.data.speechocean762 import (
    BUNDLED_SPEECHOCEAN762,
    SPEECHOCEAN762_HELD_OUT,
    prepare_speechocean762,
)
from audiodiff.data.splits import split_by_repetition, write_digit_manifests
from audiodiff.data.utterances import RandomSegments, load_utterances
from audiodiff.data.vctk import prepare_vctk

__all__ = [
    "BUNDLED_FSDD",
    "BUNDLED_LJSPEECH",
    "BUNDLED_SC09_MINI",
    "BUNDLED_SPEECHOCEAN762",
    "DIGIT_WORDS",
    "DataFolderError",
    "FeatureBank",
    "FeatureBankError",
    "HF_DATASET",
    "RandomCropBatches",
    "RandomCropDataset",
    "RandomSegments",
    "SPEAKER_PREFIX",
    "SPEECHOCEAN762_HELD_OUT",
    "build_feature_bank",
    "build_speaker_bank",
    "compute_features",
    "evaluation_crops",
    "compute_mel_sequences",
    "dequantize_db",
    "features_cache_key",
    "load_utterances",
    "find_fsdd_recordings",
    "prepare_audiomnist",
    "prepare_fsdd",
    "prepare_ljspeech",
    "prepare_sc09",
    "prepare_speaker_corpora",
    "prepare_speechocean762",
    "prepare_vctk",
    "quantize_db",
    "read_manifest",
    "scan_audio_files",
    "select_per_speaker",
    "split_by_fraction",
    "split_by_repetition",
    "split_clips",
    "which_set",
    "write_digit_manifests",
    "write_hf_dataset",
    "write_manifest",
]
