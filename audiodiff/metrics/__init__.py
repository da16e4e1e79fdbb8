"""Quality metrics for generated audio, computed from a classifier's outputs or features.

- ``inception_score`` / ``modified_inception_score`` / ``am_score``: from class probabilities
  p(y|x) [N, C] of an evaluation classifier on generated samples.
- ``frechet_distance``: Frechet (FID-style) distance between two feature sets [N, D].
- ``ndb_score``: number of statistically different bins (NDB/K) between train and generated
  features.
- ``label_accuracy``: fraction of generated samples whose predicted label (digit, speaker) is
  the conditioning label.
- ``SampleEvaluator``: scores a folder of generated wavs with a trained evaluation classifier
  (accuracy, IS, mIS, AM, FID, NDB/K, speaker shares: ``speaker_shares``).
- Vocoder metrics (``vocoder_metrics``): multi-resolution STFT distance, mel L1, log-spectral
  distance, PESQ (wb), STOI.
- Speaker metrics (``audiodiff.metrics.speaker``): verification EER, closest-speaker
  identification, ``speaker_similarity(encoder, generated, references)``,
  ``closest_speaker(encoder, wavs, enrolment)``.
- Spectrogram metrics without a classifier (``frame_frechet_distance``, ``modulation_share``,
  ``nearest_crop_distances``, ``memorisation_ratio``, ``shuffle_frames``;
  ``evaluate_spectrograms`` runs them all beside held-out and shuffled-frame controls).
- Waveform figures without a classifier (``audiodiff.metrics.waveform_quality``): RMS profile
  and tail level, a spectral line's excess over its neighbours, clicks per clip.
- Intelligibility (``audiodiff.metrics.intelligibility``): ``error_rates(hyps, refs)`` (CER and
  WER), ``character_error_rate``, ``word_error_rate``.
- Speed (``measure_speed``, ``Timer``): real-time factor and throughput, CUDA-synchronised.
"""

from audiodiff.metrics.evaluator import EvaluationError, SampleEvaluator, speaker_shares
from audiodiff.metrics.generative import (
    am_score,
    frechet_distance,
    inception_score,
    kmeans,
    label_accuracy,
    modified_inception_score,
    ndb_score,
)
from audiodiff.metrics.intelligibility import (
    character_error_rate,
    error_rates,
    word_error_rate,
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
from audiodiff.metrics.waveform_quality import (
    click_rate,
    mean_power_spectrum,
    rms_profile_db,
    spectral_line_db,
    tail_rms_db,
)

__all__ = [
    "STFT_RESOLUTIONS",
    "EvaluationError",
    "SampleEvaluator",
    "Timer",
    "align_lengths",
    "am_score",
    "character_error_rate",
    "click_rate",
    "closest_speaker",
    "equal_error_rate",
    "error_rates",
    "evaluate_spectrograms",
    "frame_frechet_distance",
    "frechet_distance",
    "identification_rate",
    "inception_score",
    "kmeans",
    "label_accuracy",
    "log_spectral_distance",
    "mean_power_spectrum",
    "measure_speed",
    "mel_l1",
    "memorisation_ratio",
    "modified_inception_score",
    "modulation_share",
    "modulation_spectrum",
    "multi_resolution_stft_distance",
    "ndb_score",
    "nearest_crop_distances",
    "pesq_wb",
    "rms_profile_db",
    "shuffle_frames",
    "speaker_shares",
    "speaker_similarity",
    "spectral_line_db",
    "stoi",
    "synchronize",
    "tail_rms_db",
    "trial_scores",
    "verification_report",
    "vocoder_metrics",
    "word_error_rate",
]
