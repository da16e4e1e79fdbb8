"""Spectrogram autoencoder / VAE: the latent space of latent diffusion (Rombach et al. 2022).

The encoder maps a normalised spectrogram [batch, 1, n_mels, frames] to a latent
[batch, latent_channels, n_mels / f, frames / f] with f = ``2 ** (len(channel_mults) - 1)``
(f = 4 by default: 80 x 64 mels -> 20 x 16); the decoder maps it back. In VAE mode the
encoder predicts a diagonal Gaussian q(z | x) = N(mean, exp(logvar)), regularised towards
N(0, I) by a KL term (:func:`audiodiff.nets.autoencoder_losses.gaussian_kl`).

A diffusion model is trained on ``encode_normalized(x)``: the latent minus a per-channel mean,
divided by a per-channel standard deviation. Those statistics are buffers (``latent_mean``,
``latent_std``), NaN until :meth:`SpectrogramAutoencoder.fit_latent_stats`, and saved with
the ``state_dict``, so a checkpoint of the autoencoder carries them.
"""

import torch
from torch import nn

from audiodiff.nets.attention import SelfAttention2d
from audiodiff.nets.autoencoder_losses import gaussian_kl
from audiodiff.nets.blocks import Downsample, ResBlock, Upsample, group_norm

LOGVAR_RANGE = (-30.0, 20.0)  # clamp of the predicted log-variance (as in the LDM code)


class _Trunk(nn.Sequential):
    """Layers run in order; a ``ResBlock`` gets a constant zero embedding (no conditioning).

    With a zero embedding, the FiLM scale and shift of a ``ResBlock`` are its projection's
    biases: learned per-channel constants.
    """

    def forward(self, x):
        emb = x.new_zeros(x.shape[0], 1)
        for layer in self:
            x = layer(x, emb) if isinstance(layer, ResBlock) else layer(x)
        return x


class SpectrogramAutoencoder(nn.Module):
    """Convolutional autoencoder (``variational=False``) or KL-regularised VAE for spectrograms.

    Encoder: 3x3 conv, then per level ``num_res_blocks`` residual blocks and a stride-2
    downsampling (all levels but the last), a middle residual block (+ self-attention), and a
    3x3 conv to ``latent_channels`` (twice that in VAE mode: mean and log-variance). The
    decoder mirrors it with nearest-neighbour upsampling. Height and width of the input must
    be multiples of ``downsample_factor``.

    Arguments
    ---------
    in_channels : int
        Channels of the spectrogram (1 for a mel image).
    latent_channels : int
        Channels of the latent.
    base_channels : int
        Channels at full resolution; level ``i`` has ``base_channels * channel_mults[i]``.
    channel_mults : tuple of int
        One entry per resolution level; each level after the first halves height and width.
    num_res_blocks : int
        Residual blocks per level in the encoder (one more in the decoder).
    attention : bool
        Self-attention in the middle block (lowest resolution).
    variational : bool
        VAE mode: predict mean and log-variance, sample in training, add the KL term.
    dropout : float
        Dropout inside the residual blocks.

    Example
    -------
    >>> ae = SpectrogramAutoencoder(latent_channels=4, base_channels=8, channel_mults=(1, 2, 2))
    >>> x = torch.randn(2, 1, 80, 64)
    >>> z = ae.encode(x)
    >>> z.shape, ae.latent_shape((1, 80, 64))
    (torch.Size([2, 4, 20, 16]), (4, 20, 16))
    >>> out = ae(x)
    >>> out["recon"].shape, float(out["kl"])
    (torch.Size([2, 1, 80, 64]), 0.0)
    """

    def __init__(
        self,
        in_channels=1,
        latent_channels=4,
        base_channels=32,
        channel_mults=(1, 2, 4),
        num_res_blocks=1,
        attention=True,
        variational=False,
        dropout=0.0,
    ):
        super().__init__()
        channel_mults = tuple(channel_mults)
        if not channel_mults:
            raise ValueError("channel_mults needs at least one level")
        self.in_channels = in_channels
        self.latent_channels = latent_channels
        self.variational = variational
        self.downsample_factor = 2 ** (len(channel_mults) - 1)
        widths = [base_channels * m for m in channel_mults]

        def res(cin, cout):
            return ResBlock(cin, cout, emb_dim=1, dropout=dropout)

        def middle(ch):
            return [res(ch, ch), *([SelfAttention2d(ch, 1)] if attention else []), res(ch, ch)]

        enc = [nn.Conv2d(in_channels, widths[0], 3, padding=1)]
        ch = widths[0]
        for level, width in enumerate(widths):
            for _ in range(num_res_blocks):
                enc.append(res(ch, width))
                ch = width
            if level != len(widths) - 1:
                enc.append(Downsample(ch))
        enc += middle(ch)
        moments = 2 * latent_channels if variational else latent_channels
        enc += [group_norm(ch), nn.SiLU(), nn.Conv2d(ch, moments, 3, padding=1)]
        self.encoder = _Trunk(*enc)

        dec = [nn.Conv2d(latent_channels, ch, 3, padding=1), *middle(ch)]
        for level, width in reversed(list(enumerate(widths))):
            for _ in range(num_res_blocks + 1):
                dec.append(res(ch, width))
                ch = width
            if level != 0:
                dec.append(Upsample(ch))
        dec += [group_norm(ch), nn.SiLU(), nn.Conv2d(ch, in_channels, 3, padding=1)]
        self.decoder = _Trunk(*dec)

        nan = torch.full((latent_channels,), float("nan"))
        self.register_buffer("latent_mean", nan.clone())
        self.register_buffer("latent_std", nan.clone())

    # ---- shapes -----------------------------------------------------------------------------
    def latent_shape(self, shape):
        """Latent shape ``(latent_channels, h / f, w / f)`` of a ``(channels, h, w)`` input.

        Arguments
        ---------
        shape : sequence of int
            ``(channels, height, width)`` of one spectrogram, e.g. ``(1, 80, 64)``.

        Returns
        -------
        tuple of int
        """
        channels, height, width = (int(s) for s in shape)
        self._check_size(height, width)
        f = self.downsample_factor
        return (self.latent_channels, height // f, width // f)

    def _check_size(self, height, width):
        f = self.downsample_factor
        if height % f or width % f:
            raise ValueError(
                f"spectrogram size {height} x {width} is not a multiple of the autoencoder's "
                f"downsampling factor {f}: pad or crop it (e.g. num_frames a multiple of {f})"
            )

    # ---- encoder / decoder ------------------------------------------------------------------
    def encode_moments(self, x):
        """Return ``(mean, logvar)`` of q(z | x) (``logvar`` is None in autoencoder mode).

        Arguments
        ---------
        x : torch.Tensor
            [batch, in_channels, height, width] normalised spectrogram.

        Returns
        -------
        (torch.Tensor, torch.Tensor or None)
            Each [batch, latent_channels, height / f, width / f].
        """
        self._check_size(*x.shape[-2:])
        h = self.encoder(x)
        if not self.variational:
            return h, None
        mean, logvar = h.chunk(2, dim=1)
        return mean, logvar.clamp(*LOGVAR_RANGE)

    def encode(self, x, sample=False, generator=None):
        """Latent of ``x``: the posterior mean, or a draw z = mean + exp(logvar / 2) eps.

        Arguments
        ---------
        x : torch.Tensor
            [batch, in_channels, height, width].
        sample : bool
            Draw from q(z | x) (VAE mode only; the autoencoder is deterministic).
        generator : torch.Generator, optional
            For the draw.

        Returns
        -------
        torch.Tensor
            [batch, latent_channels, height / f, width / f].
        """
        mean, logvar = self.encode_moments(x)
        return self.sample_latent(mean, logvar if sample else None, generator)

    @staticmethod
    def sample_latent(mean, logvar=None, generator=None):
        """A draw z = mean + exp(logvar / 2) eps, eps ~ N(0, I); ``mean`` when logvar is None.

        Arguments
        ---------
        mean, logvar : torch.Tensor
            Posterior moments from :meth:`encode_moments` (e.g. cached for a dataset).
        generator : torch.Generator, optional
            For the draw.

        Returns
        -------
        torch.Tensor
            Same shape as ``mean``.
        """
        if logvar is None:
            return mean
        eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + torch.exp(0.5 * logvar) * eps

    def decode(self, z):
        """Spectrogram [batch, in_channels, h * f, w * f] from a latent [batch, C, h, w]."""
        return self.decoder(z)

    def forward(self, x, sample=None, generator=None):
        """Reconstruct ``x``; returns a dict of ``recon``, ``latent`` and ``kl`` (a scalar).

        ``sample`` defaults to ``self.training``: a VAE decodes a posterior draw in training
        and the mean in eval mode. ``kl`` is 0 in autoencoder mode.
        """
        mean, logvar = self.encode_moments(x)
        draw = self.training if sample is None else sample
        latent = self.sample_latent(mean, logvar if draw else None, generator)
        kl = gaussian_kl(mean, logvar) if self.variational else x.new_zeros(())
        return {"recon": self.decode(latent), "latent": latent, "kl": kl}

    # ---- latent statistics ------------------------------------------------------------------
    @property
    def latent_stats_fitted(self):
        """bool: whether ``latent_mean`` / ``latent_std`` are set (not NaN)."""
        return bool(torch.isfinite(self.latent_mean).all() & torch.isfinite(self.latent_std).all())

    @torch.no_grad()
    def fit_latent_stats(self, latents):
        """Set ``latent_mean`` / ``latent_std`` per channel from latents of the training data.

        Arguments
        ---------
        latents : torch.Tensor or iterable of torch.Tensor
            [N, latent_channels, h, w] latents (e.g. ``encode`` of the training set).

        Returns
        -------
        SpectrogramAutoencoder
            ``self``.
        """
        if isinstance(latents, torch.Tensor):
            latents = [latents]
        flat = torch.cat(
            [z.detach().float().transpose(0, 1).reshape(z.shape[1], -1) for z in latents], 1
        )
        if flat.shape[0] != self.latent_channels or flat.shape[1] < 2:
            raise ValueError(
                f"fit_latent_stats needs [N, {self.latent_channels}, h, w] latents with N h w > 1"
            )
        self.latent_mean.copy_(flat.mean(1))
        self.latent_std.copy_(flat.std(1).clamp(min=1e-5))
        return self

    def _stats(self, z):
        if not self.latent_stats_fitted:
            raise RuntimeError(
                "latent statistics not fitted: call fit_latent_stats(latents) or load a "
                "checkpoint that holds latent_mean / latent_std"
            )
        view = (1, -1) + (1,) * (z.ndim - 2)
        return self.latent_mean.view(view).to(z.dtype), self.latent_std.view(view).to(z.dtype)

    def normalize_latent(self, z):
        """(z - latent_mean) / latent_std, per channel: the diffusion model's data space."""
        mean, std = self._stats(z)
        return (z - mean) / std

    def denormalize_latent(self, z):
        """Inverse of :meth:`normalize_latent`."""
        mean, std = self._stats(z)
        return z * std + mean

    def encode_normalized(self, x, sample=False, generator=None):
        """``normalize_latent(encode(x, sample, generator))``."""
        return self.normalize_latent(self.encode(x, sample=sample, generator=generator))

    def decode_normalized(self, z):
        """``decode(denormalize_latent(z))``: spectrograms from diffusion samples."""
        return self.decode(self.denormalize_latent(z))
