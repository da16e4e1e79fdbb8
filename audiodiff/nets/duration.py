"""Duration models: per-token log durations (Glow-TTS / Grad-TTS) and a whole-utterance length.

``DurationPredictor`` follows Grad-TTS's (two Conv1d -> ReLU -> LayerNorm -> dropout blocks,
then a 1x1 projection) on the text encoder's hidden states (detached by the caller, as in
Grad-TTS), optionally conditioned on the speaker. Its training target is log(d) of the MAS
durations d (Grad-TTS eq. 15's duration loss); at inference ``durations_from_log`` rounds
exp(log d) up, so every token gets at least one frame and the length follows the text.
``LengthPredictor`` predicts the log frame count of an utterance from one vector (the
sentence-embedding route, which has no per-token alignment).
"""

import torch
from torch import nn


class DurationPredictor(nn.Module):
    """Hidden states [batch, length, in_dim] -> log durations [batch, length].

    Arguments
    ---------
    in_dim : int
        Size of the hidden states.
    filter_dim : int
        Convolution channels.
    kernel_size : int
        Odd kernel size.
    dropout : float
        Dropout.
    cond_dim : int, optional
        Size of a condition vector (speaker embedding) added to the input; None: none.

    Example
    -------
    >>> predictor = DurationPredictor(16, filter_dim=8)
    >>> mask = torch.tensor([[True, True, False]])
    >>> predictor(torch.randn(1, 3, 16), mask).shape
    torch.Size([1, 3])
    """

    def __init__(self, in_dim, filter_dim=256, kernel_size=3, dropout=0.1, cond_dim=None):
        super().__init__()
        self.cond = nn.Linear(cond_dim, in_dim) if cond_dim else None
        pad = kernel_size // 2
        self.conv1 = nn.Conv1d(in_dim, filter_dim, kernel_size, padding=pad)
        self.norm1 = nn.LayerNorm(filter_dim)
        self.conv2 = nn.Conv1d(filter_dim, filter_dim, kernel_size, padding=pad)
        self.norm2 = nn.LayerNorm(filter_dim)
        self.proj = nn.Conv1d(filter_dim, 1, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, hidden, mask, condition=None):
        """Predict log durations (0 at padding).

        Arguments
        ---------
        hidden : torch.Tensor
            [batch, length, in_dim].
        mask : torch.Tensor
            [batch, length] bool.
        condition : torch.Tensor, optional
            [batch, cond_dim].

        Returns
        -------
        torch.Tensor
            [batch, length] log durations in frames.
        """
        if self.cond is not None and condition is not None:
            hidden = hidden + self.cond(condition)[:, None, :]
        keep = mask[:, None, :].to(hidden.dtype)
        x = hidden.transpose(1, 2)
        for conv, norm in ((self.conv1, self.norm1), (self.conv2, self.norm2)):
            x = torch.relu(conv(x * keep))
            x = self.dropout(norm(x.transpose(1, 2)).transpose(1, 2))
        return (self.proj(x * keep) * keep)[:, 0]


def duration_loss(log_durations, durations, mask):
    """Mean over tokens of (log d_pred - log d)^2 (Grad-TTS's duration loss).

    Arguments
    ---------
    log_durations : torch.Tensor
        [batch, length] predictions.
    durations : torch.Tensor
        [batch, length] target frame counts (from MAS).
    mask : torch.Tensor
        [batch, length] bool.

    Returns
    -------
    torch.Tensor
        Scalar.

    Example
    -------
    >>> d = torch.tensor([[2.0, 4.0]])
    >>> float(duration_loss(d.log(), d, torch.ones(1, 2, dtype=torch.bool)))
    0.0
    """
    target = torch.log(durations.float() + 1e-8)
    err = torch.where(mask, log_durations.float() - target, torch.zeros_like(target))
    return (err**2).sum() / mask.sum().clamp(min=1)


def durations_from_log(log_durations, mask, length_scale=1.0):
    """Integer durations ceil(exp(log d) * length_scale), at least 1 for real tokens.

    Arguments
    ---------
    log_durations : torch.Tensor
        [batch, length].
    mask : torch.Tensor
        [batch, length] bool.
    length_scale : float
        > 1 speaks slower, < 1 faster.

    Returns
    -------
    torch.Tensor
        [batch, length] long, 0 at padding.

    Example
    -------
    >>> durations_from_log(torch.log(torch.tensor([[2.2, 0.1, 5.0]])),
    ...                    torch.tensor([[True, True, False]])).tolist()
    [[3, 1, 0]]
    """
    frames = torch.ceil(torch.exp(log_durations.float()) * length_scale).clamp(min=1)
    return (frames * mask).long()


class LengthPredictor(nn.Module):
    """One vector [batch, in_dim] (+ a condition [batch, cond_dim]) -> log frames [batch].

    An MLP on the concatenation of the sentence vector and the condition (the speaker vector,
    which sets the speaking rate).

    Arguments
    ---------
    in_dim : int
        Input size.
    cond_dim : int
        Condition size (0: none).
    hidden_dim : int
        Hidden size.
    init_frames : float
        Initial output: the log of a typical length, so training starts near it.

    Example
    -------
    >>> predictor = LengthPredictor(8, cond_dim=2, init_frames=40.0)
    >>> predictor(torch.zeros(2, 8), torch.zeros(2, 2)).exp().round().tolist()
    [40.0, 40.0]
    """

    def __init__(self, in_dim, cond_dim=0, hidden_dim=256, init_frames=64.0):
        super().__init__()
        self.cond_dim = cond_dim
        self.mlp = nn.Sequential(
            nn.Linear(in_dim + cond_dim, hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, 1)
        )
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.constant_(self.mlp[-1].bias, float(torch.tensor(init_frames).log()))

    def forward(self, x, condition=None):
        """[batch, in_dim] (+ [batch, cond_dim]) -> [batch] log frames."""
        if self.cond_dim:
            x = torch.cat([x, condition], dim=-1)
        return self.mlp(x)[:, 0]
