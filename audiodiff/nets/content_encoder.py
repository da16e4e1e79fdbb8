"""Speaker-poor content features of a source mel, for voice conversion (the spectrogram route).

Trained without parallel data (the decoder reconstructs the source utterance), a content
encoder would happily pass the source speaker through and the decoder would copy it,
ignoring the reference. ``MelContentEncoder`` removes speaker information three ways:

1. **Information perturbation** (training only): each source mel is warped along the mel
   axis by a random factor (``random_mel_warp``, a vocal-tract-length-like change of formants
   and pitch harmonics) and given a random gain, so that speaker cues of the input do not
   match the target and are useless to the decoder (NANSY, Choi et al. 2021, perturbs the
   input the same way).
2. **Instance normalisation** over time after every convolution (AdaIN-VC, Chou et al.
   2019): per-utterance channel means and variances, which carry timbre, are removed.
3. **A narrow bottleneck** (``bottleneck_dim`` channels, AutoVC, Qian et al. 2019), plus an
   optional **speaker-adversarial** head behind a gradient reversal layer (Ganin & Lempitsky
   2015): a speaker classifier on the time-pooled bottleneck whose gradient pushes speaker
   information out of it.

The bottleneck is projected back to ``out_dim`` channels (the mel layout the decoder's
content channel expects).
"""

import torch
from torch import nn

from audiodiff.nets.speaker import masked_mean_std


def masked_instance_norm(x, mask, eps=1e-5):
    """Normalise each channel of each example over its valid frames (no affine).

    Arguments
    ---------
    x : torch.Tensor
        [batch, channels, frames].
    mask : torch.Tensor
        [batch, frames] bool.
    eps : float
        Variance floor.

    Returns
    -------
    torch.Tensor
        [batch, channels, frames], zero at padding.

    Example
    -------
    >>> x = torch.tensor([[[1.0, 3.0, 50.0]]])
    >>> masked_instance_norm(x, torch.tensor([[True, True, False]])).round(decimals=3)
    tensor([[[-1.,  1.,  0.]]])
    """
    mean, std = masked_mean_std(x, mask)
    keep = mask[:, None, :].to(x.dtype)
    var = std**2 - 1e-5 + eps
    return (x - mean[..., None]) / var.sqrt()[..., None] * keep


def random_mel_warp(mel, max_warp=0.1, generator=None):
    """Stretch or squeeze every example along the mel axis by a random factor.

    Band k of the output reads band ``k / a`` of the input (linear interpolation, clamped at
    the edges), with a ~ U(1 - max_warp, 1 + max_warp) per example: a > 1 moves formants up.

    Arguments
    ---------
    mel : torch.Tensor
        [batch, n_mels, frames].
    max_warp : float
        Largest relative change.
    generator : torch.Generator, optional
        For reproducible factors.

    Returns
    -------
    torch.Tensor
        [batch, n_mels, frames].

    Example
    -------
    >>> mel = torch.arange(4.0).reshape(1, 4, 1)
    >>> random_mel_warp(mel, max_warp=0.0)[0, :, 0].tolist()
    [0.0, 1.0, 2.0, 3.0]
    """
    batch, n_mels, _ = mel.shape
    factor = 1 + (torch.rand(batch, generator=generator, device="cpu") * 2 - 1) * max_warp
    factor = factor.to(mel.device, mel.dtype)
    source = torch.arange(n_mels, device=mel.device, dtype=mel.dtype)[None] / factor[:, None]
    source = source.clamp(0, n_mels - 1)
    low = source.floor().long()
    high = (low + 1).clamp(max=n_mels - 1)
    frac = (source - low.to(source.dtype))[..., None]
    gather = lambda index: torch.gather(mel, 1, index[..., None].expand_as(mel))  # noqa: E731
    return gather(low) * (1 - frac) + gather(high) * frac


class GradientReversal(torch.autograd.Function):
    """Identity forward; the gradient is multiplied by ``-scale`` backward."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.scale * grad, None


class MelContentEncoder(nn.Module):
    """Source mel [batch, n_mels, frames] -> content features [batch, out_dim, frames].

    Arguments
    ---------
    n_mels : int
        Input mel bands (normalised mel).
    hidden_dim : int
        Convolution channels.
    bottleneck_dim : int
        Channels of the bottleneck.
    num_layers : int
        Convolutions before the bottleneck.
    kernel_size : int
        Odd kernel size.
    out_dim : int, optional
        Output channels (default ``n_mels``).
    max_warp : float
        Random mel-axis warp in training (0: off).
    max_gain : float
        Random gain in training, in normalised units (0: off).
    num_speakers : int
        Speakers of the adversarial head (0: no head).
    adversarial_scale : float
        Gradient reversal scale.

    Example
    -------
    >>> enc = MelContentEncoder(n_mels=8, hidden_dim=16, bottleneck_dim=4, num_layers=2,
    ...                         num_speakers=3)
    >>> mask = torch.ones(2, 12, dtype=torch.bool)
    >>> content, code = enc(torch.randn(2, 8, 12), mask)
    >>> content.shape, code.shape, enc.speaker_logits(code, mask).shape
    (torch.Size([2, 8, 12]), torch.Size([2, 4, 12]), torch.Size([2, 3]))
    """

    def __init__(
        self,
        n_mels=80,
        hidden_dim=256,
        bottleneck_dim=16,
        num_layers=3,
        kernel_size=5,
        out_dim=None,
        max_warp=0.12,
        max_gain=0.15,
        num_speakers=0,
        adversarial_scale=1.0,
    ):
        super().__init__()
        self.max_warp = max_warp
        self.max_gain = max_gain
        self.adversarial_scale = adversarial_scale
        pad = kernel_size // 2
        channels = [n_mels] + [hidden_dim] * num_layers
        self.convs = nn.ModuleList(
            nn.Conv1d(c_in, c_out, kernel_size, padding=pad)
            for c_in, c_out in zip(channels[:-1], channels[1:])
        )
        self.bottleneck = nn.Conv1d(hidden_dim, bottleneck_dim, 1)
        self.up = nn.Sequential(
            nn.Conv1d(bottleneck_dim, hidden_dim, kernel_size, padding=pad),
            nn.SiLU(),
            nn.Conv1d(hidden_dim, out_dim or n_mels, 1),
        )
        self.adversary = None
        if num_speakers:
            # the bottleneck is instance-normalised: its mean and std are 0 and 1, so the head
            # pools per-frame features of it (convolutions) instead
            self.adversary = nn.ModuleDict(
                {
                    "frames": nn.Sequential(
                        nn.Conv1d(bottleneck_dim, hidden_dim, 3, padding=1),
                        nn.ReLU(),
                        nn.Conv1d(hidden_dim, hidden_dim, 3, padding=1),
                        nn.ReLU(),
                    ),
                    "out": nn.Linear(2 * hidden_dim, num_speakers),
                }
            )

    def perturb(self, mel):
        """The training-time warp and gain (identity in eval mode)."""
        if not self.training:
            return mel
        if self.max_warp:
            mel = random_mel_warp(mel, self.max_warp)
        if self.max_gain:
            gain = (torch.rand(mel.shape[0], 1, 1, device=mel.device) * 2 - 1) * self.max_gain
            mel = mel + gain.to(mel.dtype)
        return mel

    def forward(self, mel, mask):
        """Encode the content of source mels.

        Arguments
        ---------
        mel : torch.Tensor
            [batch, n_mels, frames] normalised source mel.
        mask : torch.Tensor
            [batch, frames] bool.

        Returns
        -------
        content : torch.Tensor
            [batch, out_dim, frames], zero at padding.
        code : torch.Tensor
            [batch, bottleneck_dim, frames] the instance-normalised bottleneck.
        """
        keep = mask[:, None, :].to(mel.dtype)
        x = self.perturb(mel)
        for conv in self.convs:
            x = masked_instance_norm(torch.relu(conv(x * keep)), mask)
        code = masked_instance_norm(self.bottleneck(x), mask)
        return self.up(code) * keep, code

    def speaker_logits(self, code, mask):
        """Speaker logits [batch, num_speakers] of the adversarial head (gradient reversed)."""
        if self.adversary is None:
            raise ValueError("this content encoder has no adversarial head (num_speakers=0)")
        reversed_code = GradientReversal.apply(code, self.adversarial_scale)
        keep = mask[:, None, :].to(code.dtype)
        frames = self.adversary["frames"](reversed_code * keep)
        mean, std = masked_mean_std(frames, mask)
        return self.adversary["out"](torch.cat([mean, std], dim=-1))
