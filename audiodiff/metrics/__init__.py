"""Quality metrics for generated audio, computed from a classifier's outputs or features.

- ``inception_score`` / ``modified_inception_score`` / ``am_score``: from class probabilities
  p(y|x) [N, C] of an evaluation classifier on generated samples.
- ``frechet_distance``: Frechet (FID-style) distance between two feature sets [N, D].
- ``ndb_score``: number of statistically different bins (NDB/K) between train and generated
  features.
- ``label_accuracy``: fraction of generated samples whose predicted label (digit, speaker) is
  the conditioning label.
- ``SampleEvaluator``: scores a folder of generated wavs with a trained evaluation classifier
  (accuracy, IS, mIS, AM, FID, NDB/K).
- Vocoder metrics (``vocoder_metrics``): multi-resolution STFT distance, mel L1, log-spectral
  distance, PESQ (wb), STOI.
- Speaker metrics (``audiodiff.metrics.speaker``): verification EER, closest-speaker
  identification, ``speaker_similarity(encoder, generated, references)``,
  ``closest_speaker(encoder, wavs, enrolment)``.
- Speed (``measure_speed``, ``Timer``): real-time factor and throughput, CUDA-synchronised.
"""

from audiodiff.metrics.evaluator import EvaluationError, SampleEvaluator
from audiodiff.metrics.generative import (
    am_score,
    frechet_distance,
    inception_score,
    kmeans,
    label_accuracy,
    modified_inception_score,
    ndb_score,
)
from audiodiff.metrics.speaker import (
    closest_speaker,
    equal_error_rate,
    identification_rate,
    speaker_similarity,
    trial_scores,
    verification_report,
)
from audiodiff.metrics.speed import Timer, measure_speed, synchronize
from audiodiff.metrics.vocoder import (
    STFT_RESOLUTIONS,
    align_lengths,
    log_spectral_distance,
    mel_l1,
    multi_resolution_stft_distance,
    pesq_wb,
    stoi,
    vocoder_metrics,
)

__all__ = [
    "EvaluationError",
    "STFT_RESOLUTIONS",
    "SampleEvaluator",
    "Timer",
    "align_lengths",
    "am_score",
    "closest_speaker",
    "equal_error_rate",
    "frechet_distance",
    "identification_rate",
    "inception_score",
    "kmeans",
    "label_accuracy",
    "log_spectral_distance",
    "measure_speed",
    "mel_l1",
    "modified_inception_score",
    "multi_resolution_stft_distance",
    "ndb_score",
    "pesq_wb",
    "speaker_similarity",
    "stoi",
    "synchronize",
    "trial_scores",
    "verification_report",
    "vocoder_metrics",
]
