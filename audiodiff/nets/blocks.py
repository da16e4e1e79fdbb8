"""2-D convolutional building blocks: group norm, FiLM residual block, down/upsampling."""

import torch.nn.functional as F
from torch import nn


def group_norm(channels, max_groups=32):
    """GroupNorm with the largest group count ``<= max_groups`` that divides ``channels``.

    Arguments
    ---------
    channels : int
        Number of channels to normalise.
    max_groups : int
        Upper bound on the number of groups.

    Returns
    -------
    torch.nn.GroupNorm

    Example
    -------
    >>> group_norm(64).num_groups, group_norm(24).num_groups, group_norm(3).num_groups
    (32, 24, 3)
    """
    groups = max(g for g in range(1, min(max_groups, channels) + 1) if channels % g == 0)
    return nn.GroupNorm(groups, channels)


class ResBlock(nn.Module):
    """Residual block with scale-shift (FiLM) conditioning on an embedding.

    ``h = conv1(silu(norm1(x)))``; ``h = norm2(h) * (1 + scale) + shift`` with
    ``scale, shift = Linear(silu(emb))``; ``out = skip(x) + conv2(dropout(silu(h)))``.

    Arguments
    ---------
    in_channels : int
        Input channels.
    out_channels : int
        Output channels (a 1x1 conv skip is used when they differ from ``in_channels``).
    emb_dim : int
        Size of the conditioning embedding.
    dropout : float
        Dropout probability before the second convolution.

    Example
    -------
    >>> import torch
    >>> block = ResBlock(8, 16, emb_dim=32)
    >>> block(torch.randn(2, 8, 10, 12), torch.randn(2, 32)).shape
    torch.Size([2, 16, 10, 12])
    """

    def __init__(self, in_channels, out_channels, emb_dim, dropout=0.0):
        super().__init__()
        self.norm1 = group_norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.emb_proj = nn.Linear(emb_dim, 2 * out_channels)
        self.norm2 = group_norm(out_channels)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        if in_channels == out_channels:
            self.skip = nn.Identity()
        else:
            self.skip = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x, emb):
        """Apply the block.

        Arguments
        ---------
        x : torch.Tensor
            [batch, in_channels, height, width].
        emb : torch.Tensor
            [batch, emb_dim] conditioning embedding.

        Returns
        -------
        torch.Tensor
            [batch, out_channels, height, width].
        """
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb_proj(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


class Downsample(nn.Module):
    """Halve height and width with a stride-2 3x3 convolution.

    Arguments
    ---------
    channels : int
        Input and output channels.

    Example
    -------
    >>> import torch
    >>> Downsample(4)(torch.randn(1, 4, 8, 6)).shape
    torch.Size([1, 4, 4, 3])
    """

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x):
        """[batch, channels, h, w] -> [batch, channels, ceil(h / 2), ceil(w / 2)]."""
        return self.conv(x)


class Upsample(nn.Module):
    """Double height and width: nearest-neighbour upsampling followed by a 3x3 convolution.

    Arguments
    ---------
    channels : int
        Input and output channels.

    Example
    -------
    >>> import torch
    >>> Upsample(4)(torch.randn(1, 4, 4, 3)).shape
    torch.Size([1, 4, 8, 6])
    """

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        """[batch, channels, h, w] -> [batch, channels, 2 h, 2 w]."""
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
