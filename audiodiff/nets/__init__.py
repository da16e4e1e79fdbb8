"""Network lobes (``nn.Module`` only, no training loop).

- ``SpectrogramUNet``: denoiser over [batch, channels, n_mels, frames] with timestep, label
  and cross-attention context conditioning.
- ``SpectrogramClassifier`` (+ ``spec_augment``): evaluation classifier for generated audio.
- Building blocks: ``TimestepEmbedding``, ``LabelEmbedding``, ``sinusoidal_embedding``,
  ``SelfAttention2d``, ``CrossAttention2d``, ``ResBlock``, ``Downsample``, ``Upsample``.
"""

from audiodiff.nets.attention import CrossAttention2d, SelfAttention2d
from audiodiff.nets.blocks import Downsample, ResBlock, Upsample, group_norm
from audiodiff.nets.classifier import SpectrogramClassifier, spec_augment
from audiodiff.nets.embeddings import LabelEmbedding, TimestepEmbedding, sinusoidal_embedding
from audiodiff.nets.unet import SpectrogramUNet

__all__ = [
    "CrossAttention2d",
    "Downsample",
    "LabelEmbedding",
    "ResBlock",
    "SelfAttention2d",
    "SpectrogramClassifier",
    "SpectrogramUNet",
    "TimestepEmbedding",
    "Upsample",
    "group_norm",
    "sinusoidal_embedding",
    "spec_augment",
]
