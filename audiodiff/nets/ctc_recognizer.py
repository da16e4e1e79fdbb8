"""A small CTC acoustic model: normalised log-mels -> per-frame character log-probabilities.

Used to measure intelligibility (character / word error rates of real and generated speech,
``recipes/speechocean762/asr``); small enough to train on a CPU in minutes.
"""

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def absolute_frames(lengths, frames):
    """Relative lengths (SpeechBrain's convention, in (0, 1]) -> frame counts in [1, frames].

    Arguments
    ---------
    lengths : torch.Tensor or None
        [batch] relative lengths; None: every item is ``frames`` long.
    frames : int
        Padded length.

    Returns
    -------
    torch.Tensor or None
        [batch] long (None when ``lengths`` is None).

    Example
    -------
    >>> absolute_frames(torch.tensor([1.0, 0.5, 0.01]), 10).tolist()
    [10, 5, 1]
    """
    if lengths is None:
        return None
    return (lengths.float() * frames).round().long().clamp(1, frames)


def _zero_past(x, frames):
    """[B, C, T] with the frames past each item's ``frames`` set to 0 (as zero padding)."""
    if frames is None:
        return x
    valid = torch.arange(x.shape[-1], device=x.device) < frames.to(x.device)[:, None]
    return x * valid[:, None, :].to(x.dtype)


class CTCRecognizer(nn.Module):
    """Convolutional front-end (time subsampling) + bidirectional GRU + linear CTC head.

    Shapes: features [batch, n_mels, frames] (normalised log-mels, padded frames anywhere)
    -> log-probabilities [batch, frames', vocab_size] with
    ``frames' = ceil(frames / subsampling)`` (:meth:`output_frames`); index 0 is the CTC
    blank by convention of the caller's vocabulary. Frames past each item's relative length
    are zeroed before each convolution (as the zero padding of an item alone) and skipped by
    the GRU (packed sequences), so an item's output over its own length does not depend on
    the padding its batch mates add.

    Arguments
    ---------
    n_mels : int
        Input bands.
    vocab_size : int
        Output classes, the blank included.
    conv_channels : int
        Channels of the two 1-D convolutions of the front-end.
    kernel_size : int
        Their kernel size (odd).
    subsampling : int
        Time stride of the first convolution (2: half the frame rate; CTC needs at least one
        output frame per character, and one more between repeated characters).
    hidden_dim : int
        GRU units per direction.
    num_layers : int
        GRU layers.
    dropout : float
        Dropout after the front-end and between GRU layers.

    Example
    -------
    >>> model = CTCRecognizer(n_mels=8, vocab_size=5, conv_channels=6, hidden_dim=4,
    ...                       num_layers=1)
    >>> log_probs = model(torch.randn(2, 8, 11), torch.tensor([1.0, 0.5]))
    >>> log_probs.shape, model.output_frames(torch.tensor([11, 6])).tolist()
    (torch.Size([2, 6, 5]), [6, 3])
    >>> bool(torch.allclose(log_probs.exp().sum(-1), torch.ones(2, 6)))
    True
    """

    def __init__(
        self,
        n_mels=80,
        vocab_size=29,
        conv_channels=256,
        kernel_size=5,
        subsampling=2,
        hidden_dim=192,
        num_layers=3,
        dropout=0.1,
    ):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        if subsampling < 1:
            raise ValueError(f"subsampling must be >= 1, got {subsampling}")
        self.subsampling = subsampling
        self.conv_in = nn.Conv1d(
            n_mels, conv_channels, kernel_size, stride=subsampling, padding=kernel_size // 2
        )
        self.conv_out = nn.Conv1d(
            conv_channels, conv_channels, kernel_size, padding=kernel_size // 2
        )
        self.activation = nn.GELU()
        self.norm = nn.LayerNorm(conv_channels)
        self.dropout = nn.Dropout(dropout)
        self.rnn = nn.GRU(
            conv_channels,
            hidden_dim,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.head = nn.Linear(2 * hidden_dim, vocab_size)

    def output_frames(self, frames):
        """Output frames of inputs ``frames`` long: ``ceil(frames / subsampling)``.

        Arguments
        ---------
        frames : torch.Tensor or int
            Input frame counts.

        Returns
        -------
        torch.Tensor or int
        """
        return (frames + self.subsampling - 1) // self.subsampling

    def forward(self, feats, lengths=None):
        """Per-frame log-probabilities.

        Arguments
        ---------
        feats : torch.Tensor
            [batch, n_mels, frames] normalised features.
        lengths : torch.Tensor, optional
            [batch] relative lengths in (0, 1] (None: no padding).

        Returns
        -------
        torch.Tensor
            [batch, frames', vocab_size] log-probabilities (log-softmax over the last axis).
        """
        frames = absolute_frames(lengths, feats.shape[-1])
        x = _zero_past(feats, frames)
        x = self.activation(self.conv_in(x))
        out_frames = None if frames is None else self.output_frames(frames).clamp(max=x.shape[-1])
        x = self.activation(self.conv_out(_zero_past(x, out_frames)))
        x = self.dropout(self.norm(x.transpose(1, 2)))  # [B, T', C]
        if frames is None:
            y, _ = self.rnn(x)
        else:
            packed = pack_padded_sequence(
                x, out_frames.cpu(), batch_first=True, enforce_sorted=False
            )
            y, _ = self.rnn(packed)
            y, _ = pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])
        return self.head(self.dropout(y)).log_softmax(dim=-1)
