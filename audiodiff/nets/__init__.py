"""Network lobes (``nn.Module`` only, no training loop).

- ``SpectrogramUNet``: denoiser over [batch, channels, n_mels, frames] with timestep, label
  and cross-attention context conditioning.
- ``DiffWave``, ``SaShiMi`` (+ ``S4D``): waveform denoisers over [batch, 1, samples];
  ``upsample_factors(hop)``: the mel upsampler's factors of DiffWave's vocoder mode;
  ``ShiftEnsemble``: a patched waveform network averaged over its sub-patch shifts.
- ``SpectrogramAutoencoder``: spectrogram autoencoder / VAE for latent diffusion.
- ``SpectrogramClassifier`` (+ ``spec_augment``): evaluation classifier for generated audio.
- ``gated_activation``: WaveNet's tanh(filter) * sigmoid(gate), backward by one Triton
  kernel on CUDA.
- TTS (``DiffusionTTS`` holds the parts): tokenizers (ARPAbet, IPA, SentencePiece),
  ``TextEncoder``, monotonic alignment search and duration conversions, ``DurationPredictor``,
  ``LengthPredictor``, ``SentenceEncoder`` / ``LocalSentenceEmbedder``, ``MelContentEncoder``
  (voice conversion), ``SpeakerTable``, ``ReferenceEncoder``, ``EmbeddingAdapter``,
  ``TTSDecoder`` (U-Net with per-condition dropout for guidance).
- ``CTCRecognizer`` (+ ``CharacterVocabulary``): a small CTC character recogniser over
  log-mels (intelligibility scores).
- Building blocks: ``TimestepEmbedding``, ``LabelEmbedding``, ``sinusoidal_embedding``,
  ``SelfAttention2d``, ``CrossAttention2d``, ``ResBlock``, ``Downsample``, ``Upsample``.
"""

from audiodiff.nets.alignment import (
    durations_to_path,
    expand_to_frames,
    gaussian_log_likelihood,
    monotonic_alignment_search,
)
from audiodiff.nets.attention import CrossAttention2d, SelfAttention2d
from audiodiff.nets.autoencoder import SpectrogramAutoencoder
from audiodiff.nets.blocks import Downsample, ResBlock, Upsample, group_norm
from audiodiff.nets.classifier import SpectrogramClassifier, spec_augment
from audiodiff.nets.content_encoder import MelContentEncoder, masked_instance_norm, random_mel_warp
from audiodiff.nets.ctc_characters import CharacterVocabulary, normalize_transcript
from audiodiff.nets.ctc_recognizer import CTCRecognizer
from audiodiff.nets.diffwave import DiffWave
from audiodiff.nets.duration import (
    DurationPredictor,
    LengthPredictor,
    duration_loss,
    durations_from_log,
)
from audiodiff.nets.embeddings import LabelEmbedding, TimestepEmbedding, sinusoidal_embedding
from audiodiff.nets.gated_activation_triton import gated_activation
from audiodiff.nets.posterior_content import PosteriorContentEncoder, content_encoder_for
from audiodiff.nets.sashimi import S4D, SaShiMi
from audiodiff.nets.sentence_encoder import LocalSentenceEmbedder, SentenceEncoder
from audiodiff.nets.shift_ensemble import ShiftEnsemble
from audiodiff.nets.speaker import EmbeddingAdapter, ReferenceEncoder, SpeakerTable
from audiodiff.nets.text_encoder import TextEncoder
from audiodiff.nets.tokenizers import (
    ArpabetTokenizer,
    IpaTokenizer,
    SentencePieceTokenizer,
    TokenizationError,
    load_tokenizer,
)
from audiodiff.nets.tts import DiffusionTTS
from audiodiff.nets.tts_decoder import TTSDecoder
from audiodiff.nets.unet import SpectrogramUNet
from audiodiff.nets.waveform_conditioning import (
    MelUpsampler,
    StepLabelEmbedding,
    upsample_factors,
)

__all__ = [
    "ArpabetTokenizer",
    "CTCRecognizer",
    "CharacterVocabulary",
    "CrossAttention2d",
    "DiffWave",
    "DiffusionTTS",
    "Downsample",
    "DurationPredictor",
    "EmbeddingAdapter",
    "IpaTokenizer",
    "LabelEmbedding",
    "LengthPredictor",
    "LocalSentenceEmbedder",
    "MelContentEncoder",
    "MelUpsampler",
    "PosteriorContentEncoder",
    "ReferenceEncoder",
    "ShiftEnsemble",
    "ResBlock",
    "S4D",
    "SaShiMi",
    "SelfAttention2d",
    "SentenceEncoder",
    "SentencePieceTokenizer",
    "SpeakerTable",
    "SpectrogramAutoencoder",
    "SpectrogramClassifier",
    "SpectrogramUNet",
    "StepLabelEmbedding",
    "TTSDecoder",
    "TextEncoder",
    "TimestepEmbedding",
    "TokenizationError",
    "Upsample",
    "content_encoder_for",
    "duration_loss",
    "durations_from_log",
    "durations_to_path",
    "expand_to_frames",
    "gated_activation",
    "gaussian_log_likelihood",
    "group_norm",
    "load_tokenizer",
    "masked_instance_norm",
    "monotonic_alignment_search",
    "normalize_transcript",
    "random_mel_warp",
    "sinusoidal_embedding",
    "spec_augment",
    "upsample_factors",
]
