"""Transformer text encoder: token ids -> hidden states and a per-token prior mean (Grad-TTS).

Grad-TTS (Popov et al. 2021, sec. 3.3 and its ``TextEncoder``): embedding -> convolutional
prenet -> transformer encoder -> a linear projection ``mu`` of every token into the mel
space (the "average voice" mel of that token), which monotonic alignment search matches to
the target frames. Here the transformer is ``torch.nn.TransformerEncoder`` (pre-norm) with
sinusoidal positions; an optional condition vector (the speaker embedding) is added before
the projection, as in Grad-TTS's multi-speaker model.
"""

import math

import torch
from torch import nn

from audiodiff.nets.embeddings import sinusoidal_embedding


class ConvPrenet(nn.Module):
    """Residual stack of Conv1d -> ReLU -> LayerNorm over [batch, dim, length], masked.

    Arguments
    ---------
    dim : int
        Channels.
    num_layers : int
        Convolutions.
    kernel_size : int
        Odd kernel size.
    dropout : float
        Dropout after each layer.

    Example
    -------
    >>> prenet = ConvPrenet(8, num_layers=2)
    >>> prenet(torch.randn(2, 8, 5), torch.ones(2, 5, dtype=torch.bool)).shape
    torch.Size([2, 8, 5])
    """

    def __init__(self, dim, num_layers=3, kernel_size=5, dropout=0.1):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2) for _ in range(num_layers)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(num_layers))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, mask):
        """[batch, dim, length] -> [batch, dim, length]; positions where ``mask`` is False
        are zeroed before each convolution."""
        keep = mask[:, None, :].to(x.dtype)
        for conv, norm in zip(self.convs, self.norms):
            h = torch.relu(conv(x * keep))
            h = norm(h.transpose(1, 2)).transpose(1, 2)
            x = x + self.dropout(h)
        return x * keep


class TextEncoder(nn.Module):
    """Token ids [batch, length] -> hidden [batch, length, dim] (+ projection [batch, out, length]).

    Arguments
    ---------
    vocab_size : int
        Number of token ids (id 0 = padding).
    dim : int
        Model width.
    num_layers : int
        Transformer layers.
    num_heads : int
        Attention heads (divide ``dim``).
    ffn_dim : int, optional
        Feed-forward width (default ``4 * dim``).
    prenet_layers : int
        Convolutions before the transformer (0: none).
    dropout : float
        Dropout.
    out_dim : int, optional
        Size of the per-token projection (``n_mels`` for Grad-TTS's mu); None: no projection.
    cond_dim : int, optional
        Size of a condition vector added (linearly projected) to the hidden states before the
        projection; None: no condition.

    Example
    -------
    >>> enc = TextEncoder(vocab_size=10, dim=16, num_layers=1, num_heads=2, out_dim=8)
    >>> tokens = torch.tensor([[1, 4, 5, 1], [1, 3, 1, 0]])
    >>> hidden, mu = enc(tokens, tokens > 0)
    >>> hidden.shape, mu.shape
    (torch.Size([2, 4, 16]), torch.Size([2, 8, 4]))
    """

    def __init__(
        self,
        vocab_size,
        dim=192,
        num_layers=4,
        num_heads=2,
        ffn_dim=None,
        prenet_layers=3,
        dropout=0.1,
        out_dim=None,
        cond_dim=None,
    ):
        super().__init__()
        self.dim = dim
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        nn.init.normal_(self.embedding.weight, 0.0, dim**-0.5)
        self.prenet = ConvPrenet(dim, prenet_layers, dropout=dropout) if prenet_layers else None
        layer = nn.TransformerEncoderLayer(
            dim, num_heads, ffn_dim or 4 * dim, dropout, batch_first=True, norm_first=True
        )
        self.transformer = nn.TransformerEncoder(
            layer, num_layers, norm=nn.LayerNorm(dim), enable_nested_tensor=False
        )
        self.cond = nn.Linear(cond_dim, dim) if cond_dim else None
        self.proj = nn.Linear(dim, out_dim) if out_dim else None

    def forward(self, tokens, mask, condition=None):
        """Encode a batch of token sequences.

        Arguments
        ---------
        tokens : torch.Tensor
            [batch, length] long ids.
        mask : torch.Tensor
            [batch, length] bool, True = a real token.
        condition : torch.Tensor, optional
            [batch, cond_dim] (needs ``cond_dim``).

        Returns
        -------
        hidden : torch.Tensor
            [batch, length, dim], zero at padding.
        projection : torch.Tensor or None
            [batch, out_dim, length], zero at padding (None without ``out_dim``).
        """
        x = self.embedding(tokens) * math.sqrt(self.dim)
        if self.prenet is not None:
            x = self.prenet(x.transpose(1, 2), mask).transpose(1, 2)
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = x + sinusoidal_embedding(positions, self.dim).to(x.dtype)[None]
        x = self.transformer(x, src_key_padding_mask=~mask)
        keep = mask[..., None].to(x.dtype)
        hidden = x * keep
        if self.cond is not None and condition is not None:
            x = x + self.cond(condition)[:, None, :]
        projection = None
        if self.proj is not None:
            projection = (self.proj(x) * keep).transpose(1, 2)
        return hidden, projection
