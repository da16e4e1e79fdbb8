"""Network lobes (``nn.Module`` only, no training loop).

- ``SpectrogramUNet``: denoiser over [batch, channels, n_mels, frames] with timestep, label
  and cross-attention context conditioning.
- ``DiffWave``, ``SaShiMi`` (+ ``S4D``): waveform denoisers over [batch, 1, samples];
  ``upsample_factors(hop)``: the mel upsampler's factors of DiffWave's vocoder mode.
- ``SpectrogramAutoencoder``: spectrogram autoencoder / VAE for latent diffusion.
- ``SpectrogramClassifier`` (+ ``spec_augment``): evaluation classifier for generated audio.
- ``gated_activation``: WaveNet's tanh(filter) * sigmoid(gate), backward by one Triton
  kernel on CUDA.
- Building blocks: ``TimestepEmbedding``, ``LabelEmbedding``, ``sinusoidal_embedding``,
  ``SelfAttention2d``, ``CrossAttention2d``, ``ResBlock``, ``Downsample``, ``Upsample``.
"""

from audiodiff.nets.attention import CrossAttention2d, SelfAttention2d
from audiodiff.nets.autoencoder import SpectrogramAutoencoder
from audiodiff.nets.blocks import Downsample, ResBlock, Upsample, group_norm
from audiodiff.nets.classifier import SpectrogramClassifier, spec_augment
from audiodiff.nets.diffwave import DiffWave
from audiodiff.nets.embeddings import LabelEmbedding, TimestepEmbedding, sinusoidal_embedding
from audiodiff.nets.gated_activation_triton import gated_activation
from audiodiff.nets.sashimi import S4D, SaShiMi
from audiodiff.nets.unet import SpectrogramUNet
from audiodiff.nets.waveform_conditioning import (
    MelUpsampler,
    StepLabelEmbedding,
    upsample_factors,
)

__all__ = [
    "CrossAttention2d",
    "DiffWave",
    "Downsample",
    "LabelEmbedding",
    "MelUpsampler",
    "ResBlock",
    "S4D",
    "SaShiMi",
    "SelfAttention2d",
    "SpectrogramAutoencoder",
    "SpectrogramClassifier",
    "SpectrogramUNet",
    "StepLabelEmbedding",
    "TimestepEmbedding",
    "Upsample",
    "gated_activation",
    "group_norm",
    "sinusoidal_embedding",
    "spec_augment",
    "upsample_factors",
]
