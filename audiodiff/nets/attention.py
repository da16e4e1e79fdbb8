"""Pre-norm residual attention over the positions of a 2-D feature map.

Both blocks use ``torch.nn.functional.scaled_dot_product_attention`` (flash / memory-efficient
kernels on GPU) and zero-initialise their output projection, so a fresh block is the identity.
"""

import torch.nn.functional as F
from torch import nn

from audiodiff.nets.blocks import group_norm


def _split_heads(x, num_heads):
    """[batch, length, channels] -> [batch, num_heads, length, channels // num_heads]."""
    batch, length, channels = x.shape
    return x.reshape(batch, length, num_heads, channels // num_heads).transpose(1, 2)


def _merge_heads(x):
    """[batch, num_heads, length, head_dim] -> [batch, length, num_heads * head_dim]."""
    batch, num_heads, length, head_dim = x.shape
    return x.transpose(1, 2).reshape(batch, length, num_heads * head_dim)


def _check_heads(channels, num_heads):
    if channels % num_heads:
        raise ValueError(f"channels ({channels}) must be divisible by num_heads ({num_heads})")


class SelfAttention2d(nn.Module):
    """Multi-head self-attention between all positions of a feature map, pre-norm residual.

    ``out = x + proj(attention(GroupNorm(x)))``, attention over the ``height * width`` tokens.

    Arguments
    ---------
    channels : int
        Feature channels (divisible by ``num_heads``).
    num_heads : int
        Number of attention heads.

    Example
    -------
    >>> import torch
    >>> attn = SelfAttention2d(16, num_heads=2)
    >>> x = torch.randn(2, 16, 5, 7)
    >>> torch.equal(attn(x), x)  # zero-initialised output projection
    True
    """

    def __init__(self, channels, num_heads):
        super().__init__()
        _check_heads(channels, num_heads)
        self.num_heads = num_heads
        self.norm = group_norm(channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x):
        """Apply self-attention.

        Arguments
        ---------
        x : torch.Tensor
            [batch, channels, height, width].

        Returns
        -------
        torch.Tensor
            [batch, channels, height, width].
        """
        batch, channels, height, width = x.shape
        tokens = self.norm(x).reshape(batch, channels, height * width).transpose(1, 2)
        q, k, v = (_split_heads(part, self.num_heads) for part in self.qkv(tokens).chunk(3, -1))
        h = self.proj(_merge_heads(F.scaled_dot_product_attention(q, k, v)))
        return x + h.transpose(1, 2).reshape(batch, channels, height, width)


class CrossAttention2d(nn.Module):
    """Multi-head cross-attention from feature-map positions to a context sequence.

    Queries come from ``GroupNorm(x)``; keys and values from ``LayerNorm(context)``.
    ``out = x + proj(attention)``. Context positions whose mask is False are ignored; a
    sample whose mask is all False gets no update (``out = x`` for that sample).

    Arguments
    ---------
    channels : int
        Feature channels (divisible by ``num_heads``).
    context_dim : int
        Size of the context vectors.
    num_heads : int
        Number of attention heads.

    Example
    -------
    >>> import torch
    >>> attn = CrossAttention2d(16, context_dim=12, num_heads=2)
    >>> x, context = torch.randn(2, 16, 5, 7), torch.randn(2, 9, 12)
    >>> mask = torch.ones(2, 9, dtype=torch.bool)
    >>> attn(x, context, mask).shape
    torch.Size([2, 16, 5, 7])
    """

    def __init__(self, channels, context_dim, num_heads):
        super().__init__()
        _check_heads(channels, num_heads)
        self.num_heads = num_heads
        self.norm = group_norm(channels)
        self.context_norm = nn.LayerNorm(context_dim)
        self.q = nn.Linear(channels, channels)
        self.kv = nn.Linear(context_dim, 2 * channels)
        self.proj = nn.Linear(channels, channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x, context, context_mask=None):
        """Attend from ``x`` to ``context``.

        Arguments
        ---------
        x : torch.Tensor
            [batch, channels, height, width] feature map.
        context : torch.Tensor
            [batch, length, context_dim] context sequence.
        context_mask : torch.Tensor, optional
            [batch, length] bool, True = attend to this position. None: attend to all.

        Returns
        -------
        torch.Tensor
            [batch, channels, height, width].
        """
        batch, channels, height, width = x.shape
        tokens = self.norm(x).reshape(batch, channels, height * width).transpose(1, 2)
        q = _split_heads(self.q(tokens), self.num_heads)
        k, v = (
            _split_heads(part, self.num_heads)
            for part in self.kv(self.context_norm(context)).chunk(2, -1)
        )
        attn_mask = keep_any = None
        if context_mask is not None:
            context_mask = context_mask.bool()
            keep_any = context_mask.any(dim=-1)  # [batch]
            # A fully masked row would give NaN: let it attend everywhere, then zero it.
            attn_mask = (context_mask | ~keep_any[:, None])[:, None, None, :]
        h = self.proj(_merge_heads(F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)))
        if keep_any is not None:
            h = h * keep_any[:, None, None].to(h.dtype)
        return x + h.transpose(1, 2).reshape(batch, channels, height, width)
