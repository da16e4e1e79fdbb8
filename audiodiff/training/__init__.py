"""Training: ``DiffusionBrain`` (SpeechBrain Brain with EMA, sampling, checkpoints), ``TTSBrain``
and helpers."""

from audiodiff.training.brain import DiffusionBrain
from audiodiff.training.budget import NonFiniteLossError, TrainingBudgetMixin
from audiodiff.training.conditioning import label_classes
from audiodiff.training.samples import (
    label_grid,
    labels_to_tensors,
    parse_sample_name,
    sample_name,
    tts_sample_name,
    write_sample_folder,
    write_tts_samples,
)
from audiodiff.training.tts import TTSDataset, TTSInputError, collate_tts, synthesize_batch
from audiodiff.training.tts_brain import TTSBrain

__all__ = [
    "DiffusionBrain",
    "NonFiniteLossError",
    "TrainingBudgetMixin",
    "TTSBrain",
    "TTSDataset",
    "TTSInputError",
    "collate_tts",
    "label_classes",
    "label_grid",
    "labels_to_tensors",
    "parse_sample_name",
    "sample_name",
    "synthesize_batch",
    "tts_sample_name",
    "write_sample_folder",
    "write_tts_samples",
]
