"""Quality metrics for generated audio, computed from a classifier's outputs or features.

- ``inception_score`` / ``modified_inception_score`` / ``am_score``: from class probabilities
  p(y|x) [N, C] of an evaluation classifier on generated samples.
- ``frechet_distance``: Frechet (FID-style) distance between two feature sets [N, D].
- ``ndb_score``: number of statistically different bins (NDB/K) between train and generated
  features.
- ``label_accuracy``: fraction of generated samples whose predicted label (digit, speaker) is
  the conditioning label.
"""

from audiodiff.metrics.generative import (
    am_score,
    frechet_distance,
    inception_score,
    kmeans,
    label_accuracy,
    modified_inception_score,
    ndb_score,
)

__all__ = [
    "am_score",
    "frechet_distance",
    "inception_score",
    "kmeans",
    "label_accuracy",
    "modified_inception_score",
    "ndb_score",
]
