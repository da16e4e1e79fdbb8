"""Training: ``DiffusionBrain`` (SpeechBrain Brain with EMA, sampling, checkpoints) and helpers."""

from audiodiff.training.brain import DiffusionBrain, NonFiniteLossError
from audiodiff.training.conditioning import (
    draw_prior_labels,
    label_classes,
    label_frequencies,
    labels_from_prior,
    prior_probabilities,
)
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
    "draw_prior_labels",
    "label_classes",
    "label_frequencies",
    "labels_from_prior",
    "prior_probabilities",
    "label_grid",
    "labels_to_tensors",
    "parse_sample_name",
    "sample_name",
    "write_sample_folder",
]
