"""Training: ``DiffusionBrain`` (SpeechBrain Brain with EMA, sampling, checkpoints), ``TTSBrain``
and helpers."""

from audiodiff.training.brain import DiffusionBrain
from audiodiff.training.budget import (
    NonFiniteLossError,
    TrainingBudgetMixin,
    TrainingClock,
    set_aside_incomplete_checkpoints,
)
from audiodiff.training.conditioning import (
    draw_prior_labels,
    label_classes,
    label_frequencies,
    labels_from_prior,
    prior_probabilities,
)
from audiodiff.training.lr_schedule import training_progress, warmup_cosine
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
    "TrainingClock",
    "set_aside_incomplete_checkpoints",
    "warmup_cosine",
    "TTSBrain",
    "TTSDataset",
    "TTSInputError",
    "collate_tts",
    "draw_prior_labels",
    "label_classes",
    "label_frequencies",
    "labels_from_prior",
    "prior_probabilities",
    "label_grid",
    "labels_to_tensors",
    "parse_sample_name",
    "sample_name",
    "synthesize_batch",
    "training_progress",
    "tts_sample_name",
    "write_sample_folder",
    "write_tts_samples",
]
