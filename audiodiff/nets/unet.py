"""U-Net denoiser for spectrograms, conditioned on timestep, labels and a context sequence.

Call contract (shared by every audiodiff network):
``model(x_t, t, context=None, context_mask=None, **labels) -> output`` with
``x_t`` [batch, channels, n_mels, frames], ``t`` [batch] and labels such as
``digit=[batch] long`` where ``-1`` selects the learned null label (classifier-free guidance).
"""

import torch
import torch.nn.functional as F
from torch import nn

from audiodiff.nets.attention import CrossAttention2d, SelfAttention2d
from audiodiff.nets.blocks import Downsample, ResBlock, Upsample, group_norm
from audiodiff.nets.embeddings import LabelEmbedding, TimestepEmbedding

_RESERVED_NAMES = ("x", "t", "context", "context_mask")


class _Stage(nn.ModuleList):
    """A list of U-Net layers, each called with the arguments its type needs."""

    def forward(self, x, emb, context, context_mask):
        for layer in self:
            if isinstance(layer, ResBlock):
                x = layer(x, emb)
            elif isinstance(layer, CrossAttention2d):
                x = layer(x, context, context_mask)
            else:
                x = layer(x)
        return x


class SpectrogramUNet(nn.Module):
    """U-Net over [batch, channels, freq, time] spectrograms (DDPM / ADM style).

    The timestep embedding plus one learned embedding per label (``label_classes``) forms
    the conditioning vector that drives scale-shift (FiLM) in every residual block.
    Self-attention runs at the levels in ``attention_levels`` and in the middle block; when
    ``context_dim`` is set, a cross-attention to the context follows each self-attention.
    Inputs of any size are padded (replicate, right/bottom) to a multiple of
    ``2 ** (len(channel_mults) - 1)`` and the output is cropped back.

    Conditioning dropout for classifier-free guidance (training mode only): each label is
    replaced by the null label, and each sample's context by the null context, independently
    with probability ``cond_drop_prob``.

    Arguments
    ---------
    in_channels : int
        Channels of the input spectrogram.
    out_channels : int
        Channels of the output.
    base_channels : int
        Channels at the first level; level ``i`` has ``base_channels * channel_mults[i]``.
    channel_mults : tuple of int
        Channel multiplier per resolution level (each level after the first halves
        the resolution).
    num_res_blocks : int
        Residual blocks per level on the way down (one more on the way up).
    attention_levels : tuple of int
        Indices into ``channel_mults`` of the levels with self-attention.
    num_heads : int
        Attention heads (must divide the channels of the attention levels).
    dropout : float
        Dropout inside the residual blocks.
    label_classes : dict, optional
        Label name -> number of classes, e.g. ``{"digit": 10, "speaker": 6}``. None or
        empty: no labels.
    cond_drop_prob : float
        Probability of dropping each label / context to null in training mode.
    context_dim : int, optional
        Size of the cross-attention context vectors. None: no cross-attention.
    time_embed_dim : int, optional
        Size of the conditioning embedding (default ``4 * base_channels``).

    Example
    -------
    >>> import torch
    >>> model = SpectrogramUNet(
    ...     base_channels=16, channel_mults=(1, 2), num_res_blocks=1, attention_levels=(1,),
    ...     label_classes={"digit": 10},
    ... )
    >>> x_t = torch.randn(2, 1, 20, 13)
    >>> out = model(x_t, torch.tensor([3, 700]), digit=torch.tensor([7, -1]))
    >>> out.shape
    torch.Size([2, 1, 20, 13])
    """

    def __init__(
        self,
        in_channels=1,
        out_channels=1,
        base_channels=64,
        channel_mults=(1, 2, 2, 4),
        num_res_blocks=2,
        attention_levels=(3,),
        num_heads=4,
        dropout=0.0,
        label_classes=None,
        cond_drop_prob=0.1,
        context_dim=None,
        time_embed_dim=None,
    ):
        super().__init__()
        channel_mults = tuple(channel_mults)
        attention_levels = tuple(attention_levels)
        for level in attention_levels:
            if not 0 <= level < len(channel_mults):
                raise ValueError(
                    f"attention level {level} out of range for {len(channel_mults)} levels"
                )
        label_classes = dict(label_classes or {})
        for name in label_classes:
            if name in _RESERVED_NAMES:
                raise ValueError(f"label name {name!r} is reserved (forward argument)")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.cond_drop_prob = cond_drop_prob
        self.context_dim = context_dim
        self.downsample_factor = 2 ** (len(channel_mults) - 1)
        emb_dim = time_embed_dim or 4 * base_channels

        self.time_embed = TimestepEmbedding(base_channels, emb_dim)
        self.label_embeds = nn.ModuleDict(
            {
                name: LabelEmbedding(num_classes, emb_dim, name=name)
                for name, num_classes in label_classes.items()
            }
        )
        if context_dim is not None:
            # Always the first context token; alone, it is the "no context" condition.
            self.null_context = nn.Parameter(torch.randn(1, 1, context_dim) * 0.02)

        def attention(channels):
            layers = [SelfAttention2d(channels, num_heads)]
            if context_dim is not None:
                layers.append(CrossAttention2d(channels, context_dim, num_heads))
            return layers

        self.input_conv = nn.Conv2d(in_channels, base_channels, 3, padding=1)
        channels = base_channels
        skip_channels = [channels]
        self.down = nn.ModuleList()
        for level, mult in enumerate(channel_mults):
            for _ in range(num_res_blocks):
                layers = [ResBlock(channels, base_channels * mult, emb_dim, dropout)]
                channels = base_channels * mult
                if level in attention_levels:
                    layers += attention(channels)
                self.down.append(_Stage(layers))
                skip_channels.append(channels)
            if level != len(channel_mults) - 1:
                self.down.append(_Stage([Downsample(channels)]))
                skip_channels.append(channels)

        self.middle = _Stage(
            [
                ResBlock(channels, channels, emb_dim, dropout),
                *attention(channels),
                ResBlock(channels, channels, emb_dim, dropout),
            ]
        )

        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(channel_mults))):
            for block in range(num_res_blocks + 1):
                in_ch = channels + skip_channels.pop()
                layers = [ResBlock(in_ch, base_channels * mult, emb_dim, dropout)]
                channels = base_channels * mult
                if level in attention_levels:
                    layers += attention(channels)
                if level != 0 and block == num_res_blocks:
                    layers.append(Upsample(channels))
                self.up.append(_Stage(layers))

        self.output = nn.Sequential(
            group_norm(channels), nn.SiLU(), nn.Conv2d(channels, out_channels, 3, padding=1)
        )
        nn.init.zeros_(self.output[-1].weight)
        nn.init.zeros_(self.output[-1].bias)

    def num_parameters(self, trainable_only=False):
        """Number of parameters (all, or only those with ``requires_grad``).

        Arguments
        ---------
        trainable_only : bool
            Count only parameters with ``requires_grad``.

        Returns
        -------
        int
        """
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def _embed_labels(self, labels, batch, device):
        """Sum of the label embeddings, [batch, emb_dim], or None without label tables."""
        unknown = sorted(set(labels) - set(self.label_embeds))
        if unknown:
            raise ValueError(
                f"unknown label(s) {unknown}; this model knows {sorted(self.label_embeds)}"
            )
        if not self.label_embeds:
            return None
        values = {}
        for name in self.label_embeds:
            value = labels.get(name)
            if value is None:
                value = torch.full((batch,), -1, dtype=torch.long, device=device)
            elif value.shape != (batch,):
                raise ValueError(f"label {name!r} has shape {tuple(value.shape)}, want ({batch},)")
            values[name] = value
        if not torch.compiler.is_compiling():
            # One host sync for all tables; details only on failure.
            flags = [embed.out_of_range(values[name]) for name, embed in self.label_embeds.items()]
            if torch.stack(flags).any().item():
                for name, embed in self.label_embeds.items():
                    embed.check_range(values[name])
        return sum(
            embed(values[name], drop_prob=self.cond_drop_prob, check=False)
            for name, embed in self.label_embeds.items()
        )

    def _prepare_context(self, context, context_mask, batch, device):
        """Prepend the null token to the context; returns (context, mask or None)."""
        if self.context_dim is None:
            if context is not None:
                raise ValueError("context given but the model has no context_dim")
            return None, None
        null = self.null_context.expand(batch, 1, self.context_dim)
        if context is None:
            return null, None
        if context_mask is None:
            context_mask = torch.ones(context.shape[:2], dtype=torch.bool, device=device)
        context_mask = context_mask.bool()
        if self.training and self.cond_drop_prob > 0.0:
            drop = torch.rand(batch, device=device) < self.cond_drop_prob
            context_mask = context_mask & ~drop[:, None]
        context = torch.cat([null.to(context.dtype), context], dim=1)
        keep_null = torch.ones(batch, 1, dtype=torch.bool, device=device)
        return context, torch.cat([keep_null, context_mask], dim=1)

    def forward(self, x, t, context=None, context_mask=None, **labels):
        """Predict the network target (eps, v or x0, decided by the caller's loss).

        Arguments
        ---------
        x : torch.Tensor
            [batch, in_channels, freq, time] noisy input, any freq / time size.
        t : torch.Tensor
            [batch] (or scalar) long or float timesteps.
        context : torch.Tensor, optional
            [batch, length, context_dim] cross-attention context (needs ``context_dim``).
            None: the learned null context.
        context_mask : torch.Tensor, optional
            [batch, length] bool, True = use this context position. A sample whose mask is
            all False is treated like ``context=None``.
        **labels : torch.Tensor
            One [batch] long tensor per name in ``label_classes`` (``-1`` = no label);
            a missing name means no label for the whole batch.

        Returns
        -------
        torch.Tensor
            [batch, out_channels, freq, time].
        """
        batch, _, height, width = x.shape
        if t.ndim == 0:
            t = t.expand(batch)
        emb = self.time_embed(t)
        label_emb = self._embed_labels(labels, batch, x.device)
        if label_emb is not None:
            emb = emb + label_emb
        context, context_mask = self._prepare_context(context, context_mask, batch, x.device)

        factor = self.downsample_factor
        pad_h, pad_w = -height % factor, -width % factor
        h = x
        if pad_h or pad_w:
            h = F.pad(h, (0, pad_w, 0, pad_h), mode="replicate")

        h = self.input_conv(h)
        skips = [h]
        for stage in self.down:
            h = stage(h, emb, context, context_mask)
            skips.append(h)
        h = self.middle(h, emb, context, context_mask)
        for stage in self.up:
            h = stage(torch.cat([h, skips.pop()], dim=1), emb, context, context_mask)
        h = self.output(h)
        return h[:, :, :height, :width]
