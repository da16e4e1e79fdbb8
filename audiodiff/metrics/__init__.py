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
- Spectrogram metrics without a classifier (``frame_frechet_distance``, ``modulation_share``,
  ``nearest_crop_distances``, ``memorisation_ratio``, ``shuffle_frames``;
  ``evaluate_spectrograms`` runs them all beside held-out and shuffled-frame controls).
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
from audiodiff.metrics.spectrogram import (
    frame_frechet_distance,
    memorisation_ratio,
    modulation_share,
    modulation_spectrum,
    nearest_crop_distances,
    shuffle_frames,
)
from audiodiff.metrics.spectrogram_eval import evaluate_spectrograms
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
    "evaluate_spectrograms",
    "frame_frechet_distance",
    "frechet_distance",
    "identification_rate",
    "inception_score",
    "kmeans",
    "label_accuracy",
    "log_spectral_distance",
    "measure_speed",
    "mel_l1",
    "memorisation_ratio",
    "modulation_share",
    "modulation_spectrum",
    "modified_inception_score",
    "multi_resolution_stft_distance",
    "ndb_score",
    "nearest_crop_distances",
    "pesq_wb",
    "speaker_similarity",
    "shuffle_frames",
    "stoi",
    "synchronize",
    "trial_scores",
    "verification_report",
    "vocoder_metrics",
]
