"""Conditioning embeddings: diffusion timestep and class labels (with a learned null label).

The null label (index ``-1`` in user code) is what classifier-free guidance uses for the
unconditional branch; training drops labels to it with a small probability.
"""

import math

import torch
from torch import nn


def sinusoidal_embedding(t, dim, max_period=10000.0):
    """Sinusoidal embedding of (possibly fractional) timesteps (Transformer / DDPM style).

    Feature ``i < dim // 2`` is ``cos(t * f_i)`` and feature ``dim // 2 + i`` is
    ``sin(t * f_i)`` with ``f_i = max_period ** (-i / (dim // 2))``; an odd ``dim`` gets one
    zero column at the end.

    Arguments
    ---------
    t : torch.Tensor
        Timesteps, [batch], long or float.
    dim : int
        Embedding size.
    max_period : float
        Longest period of the sinusoids.

    Returns
    -------
    torch.Tensor
        [batch, dim] float32 embedding, on ``t``'s device.

    Example
    -------
    >>> emb = sinusoidal_embedding(torch.tensor([0, 10, 999]), 16)
    >>> emb.shape
    torch.Size([3, 16])
    >>> emb[0, :8].tolist() == [1.0] * 8  # cos(0) = 1
    True
    """
    half = dim // 2
    exponent = torch.arange(half, device=t.device, dtype=torch.float32) / max(half, 1)
    freqs = torch.exp(-math.log(max_period) * exponent)
    args = t.float()[:, None] * freqs[None, :]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.nn.functional.pad(emb, (0, 1))
    return emb


class TimestepEmbedding(nn.Module):
    """Timestep embedding: sinusoidal features -> Linear -> SiLU -> Linear.

    Arguments
    ---------
    dim : int
        Size of the sinusoidal features.
    hidden_dim : int
        Size of the hidden layer and of the output.

    Example
    -------
    >>> embed = TimestepEmbedding(dim=32, hidden_dim=64)
    >>> embed(torch.tensor([0, 500])).shape
    torch.Size([2, 64])
    """

    def __init__(self, dim, hidden_dim):
        super().__init__()
        self.dim = dim
        self.mlp = nn.Sequential(
            nn.Linear(dim, hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, hidden_dim)
        )

    def forward(self, t):
        """Embed timesteps.

        Arguments
        ---------
        t : torch.Tensor
            [batch] long or float timesteps.

        Returns
        -------
        torch.Tensor
            [batch, hidden_dim].
        """
        return self.mlp(sinusoidal_embedding(t, self.dim))


def drop_labels(labels, prob):
    """Replace each label by ``-1`` (null) independently with probability ``prob``.

    The condition dropout of classifier-free guidance (Ho & Salimans 2022).

    Arguments
    ---------
    labels : torch.Tensor
        Long labels of any shape.
    prob : float
        Drop probability; 0 returns ``labels`` as they are.

    Returns
    -------
    torch.Tensor

    Example
    -------
    >>> drop_labels(torch.tensor([3, 4]), 1.0), drop_labels(torch.tensor([3, 4]), 0.0)
    (tensor([-1, -1]), tensor([3, 4]))
    """
    if prob <= 0.0:
        return labels
    drop = torch.rand(labels.shape, device=labels.device) < prob
    return labels.masked_fill(drop, -1)


class LabelEmbedding(nn.Module):
    """Class-label table with a learned null row for classifier-free guidance.

    The table has ``num_classes + 1`` rows; the last row is the null ("no label")
    embedding, selected by the label ``-1``.

    Arguments
    ---------
    num_classes : int
        Number of real classes; valid labels are ``0 .. num_classes - 1`` and ``-1``.
    dim : int
        Embedding size.
    name : str
        Name used in error messages (e.g. ``"digit"``).

    Example
    -------
    >>> embed = LabelEmbedding(num_classes=10, dim=8, name="digit")
    >>> out = embed(torch.tensor([3, -1]))
    >>> out.shape
    torch.Size([2, 8])
    >>> torch.equal(out[1], embed.weight[10])  # -1 -> the null row
    True
    >>> embed(torch.tensor([12]))
    Traceback (most recent call last):
    ...
    ValueError: digit label 12 out of range [0, 9] (use -1 for no label)
    """

    def __init__(self, num_classes, dim, name="label"):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"{name}: num_classes must be >= 1, got {num_classes}")
        self.num_classes = num_classes
        self.name = name
        self.table = nn.Embedding(num_classes + 1, dim)

    @property
    def weight(self):
        """The [num_classes + 1, dim] table (last row: null label)."""
        return self.table.weight

    def out_of_range(self, labels):
        """Whether any label lies outside ``[-1, num_classes - 1]``, without a host sync.

        Arguments
        ---------
        labels : torch.Tensor
            [batch] long labels.

        Returns
        -------
        torch.Tensor
            Scalar bool tensor on ``labels``' device.
        """
        return ((labels < -1) | (labels >= self.num_classes)).any()

    def check_range(self, labels):
        """Raise ``ValueError`` if a label is out of range (one host sync).

        Arguments
        ---------
        labels : torch.Tensor
            [batch] long labels.
        """
        if labels.numel() == 0:
            return
        low, high = torch.stack([labels.min(), labels.max()]).tolist()
        for value in (low, high):
            if value < -1 or value >= self.num_classes:
                raise ValueError(
                    f"{self.name} label {value} out of range [0, {self.num_classes - 1}]"
                    " (use -1 for no label)"
                )

    def forward(self, labels, drop_prob=0.0, check=True):
        """Look up label embeddings, dropping labels to the null row in training.

        Arguments
        ---------
        labels : torch.Tensor
            [batch] long labels; ``-1`` means "no label".
        drop_prob : float
            In training mode, each label is replaced by ``-1`` independently with this
            probability (classifier-free guidance condition dropout). Ignored in eval mode.
        check : bool
            Check the label range (one host sync; skipped under ``torch.compile``). A caller
            that already checked (e.g. ``SpectrogramUNet``, one sync for all its tables)
            passes ``False``.

        Returns
        -------
        torch.Tensor
            [batch, dim] embeddings.
        """
        if check and not torch.compiler.is_compiling():
            self.check_range(labels)
        labels = labels.long()
        if self.training:
            labels = drop_labels(labels, drop_prob)
        index = torch.where(labels < 0, self.num_classes, labels)
        return self.table(index)
