"""Training: ``DiffusionBrain`` (SpeechBrain Brain with EMA, sampling, checkpoints) and helpers."""

from audiodiff.training.brain import DiffusionBrain
from audiodiff.training.budget import NonFiniteLossError, TrainingBudgetMixin
from audiodiff.training.conditioning import label_classes
from audiodiff.training.samples import (
    label_grid,
    labels_to_tensors,
    parse_sample_name,
    sample_name,
    write_sample_folder,
)

__all__ = [
    "DiffusionBrain",
    "NonFiniteLossError",
    "TrainingBudgetMixin",
    "label_classes",
    "label_grid",
    "labels_to_tensors",
    "parse_sample_name",
    "sample_name",
    "write_sample_folder",
]
