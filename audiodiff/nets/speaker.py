"""Speaker / style conditioning: a closed-set table, a reference-mel encoder trained with the
TTS model, and the adapter that turns any embedding into cross-attention context tokens.

Three sources of a speaker vector, one interface (``[batch, dim]``):

- ``SpeakerTable``: a learned row per training speaker (closed set).
- ``ReferenceEncoder``: a reference recording's mel -> vector, trained jointly with the
  decoder on *another* utterance of the same speaker (zero-shot capable, needs no
  pretrained model).
- A pretrained style encoder's embedding (``audiodiff.inference.StyleEncoder``: the
  project's speaker encoder or CLAP), computed outside the model and passed in as is.

``EmbeddingAdapter`` maps the vector to ``num_tokens`` context tokens of the U-Net's
cross-attention.
"""

import torch
from torch import nn


class SpeakerTable(nn.Module):
    """One learned embedding per closed-set speaker.

    Arguments
    ---------
    num_speakers : int
        Number of speakers (indices ``0 .. num_speakers - 1``).
    dim : int
        Embedding size.

    Example
    -------
    >>> SpeakerTable(3, 8)(torch.tensor([0, 2])).shape
    torch.Size([2, 8])
    """

    def __init__(self, num_speakers, dim):
        super().__init__()
        self.num_speakers = num_speakers
        self.dim = dim
        self.table = nn.Embedding(num_speakers, dim)
        nn.init.normal_(self.table.weight, 0.0, 1.0)

    def forward(self, speaker):
        """[batch] long speaker indices -> [batch, dim]."""
        if speaker.numel() and (int(speaker.min()) < 0 or int(speaker.max()) >= self.num_speakers):
            raise ValueError(
                f"speaker index out of range: this table knows 0-{self.num_speakers - 1}"
            )
        return self.table(speaker)


def masked_mean_std(x, mask):
    """Mean and standard deviation over the valid frames: [batch, channels, frames] -> 2x [B, C].

    The standard deviation is sqrt(var + 1e-5), never 0.

    Example
    -------
    >>> x = torch.tensor([[[1.0, 3.0, 100.0]]])
    >>> mean, std = masked_mean_std(x, torch.tensor([[True, True, False]]))
    >>> mean.tolist(), round(std.item(), 4)
    ([[2.0]], 1.0)
    """
    keep = mask[:, None, :].to(x.dtype)
    count = keep.sum(-1).clamp(min=1)
    mean = (x * keep).sum(-1) / count
    var = (((x - mean[..., None]) * keep) ** 2).sum(-1) / count
    return mean, (var + 1e-5).sqrt()


class ReferenceEncoder(nn.Module):
    """Reference mel [batch, n_mels, frames] -> speaker/style vector [batch, dim].

    Conv1d -> ReLU -> LayerNorm blocks, then statistics pooling (mean and
    standard deviation over the valid frames, as in x-vectors) and a linear layer.

    Arguments
    ---------
    n_mels : int
        Mel bands of the input (normalised mel, the decoder's space).
    dim : int
        Output size.
    hidden_dim : int
        Convolution channels.
    num_layers : int
        Convolutions.
    kernel_size : int
        Odd kernel size.

    Example
    -------
    >>> enc = ReferenceEncoder(n_mels=8, dim=4, hidden_dim=16, num_layers=2)
    >>> enc(torch.randn(2, 8, 30), torch.ones(2, 30, dtype=torch.bool)).shape
    torch.Size([2, 4])
    """

    def __init__(self, n_mels=80, dim=128, hidden_dim=256, num_layers=3, kernel_size=5):
        super().__init__()
        self.dim = dim
        channels = [n_mels] + [hidden_dim] * num_layers
        self.convs = nn.ModuleList(
            nn.Conv1d(c_in, c_out, kernel_size, padding=kernel_size // 2)
            for c_in, c_out in zip(channels[:-1], channels[1:])
        )
        self.norms = nn.ModuleList(nn.LayerNorm(hidden_dim) for _ in range(num_layers))
        self.out = nn.Linear(2 * hidden_dim, dim)

    def forward(self, mel, mask):
        """Embed references.

        Arguments
        ---------
        mel : torch.Tensor
            [batch, n_mels, frames] normalised mel.
        mask : torch.Tensor
            [batch, frames] bool, True = a real frame.

        Returns
        -------
        torch.Tensor
            [batch, dim].
        """
        keep = mask[:, None, :].to(mel.dtype)
        x = mel
        for conv, norm in zip(self.convs, self.norms):
            x = torch.relu(conv(x * keep))
            x = norm(x.transpose(1, 2)).transpose(1, 2)
        mean, std = masked_mean_std(x, mask)
        return self.out(torch.cat([mean, std], dim=-1))


class EmbeddingAdapter(nn.Module):
    """A vector [batch, in_dim] -> ``num_tokens`` context tokens [batch, num_tokens, out_dim].

    LayerNorm (embeddings of pretrained encoders come at any scale) -> Linear -> SiLU ->
    Linear.

    Arguments
    ---------
    in_dim : int
        Size of the embedding.
    out_dim : int
        Size of each token (the U-Net's ``context_dim``).
    num_tokens : int
        Tokens per embedding.

    Example
    -------
    >>> EmbeddingAdapter(6, 8, num_tokens=2)(torch.randn(3, 6)).shape
    torch.Size([3, 2, 8])
    """

    def __init__(self, in_dim, out_dim, num_tokens=1):
        super().__init__()
        self.num_tokens = num_tokens
        self.out_dim = out_dim
        self.mlp = nn.Sequential(
            nn.LayerNorm(in_dim),
            nn.Linear(in_dim, out_dim),
            nn.SiLU(),
            nn.Linear(out_dim, num_tokens * out_dim),
        )

    def forward(self, x):
        """[batch, in_dim] -> [batch, num_tokens, out_dim]."""
        return self.mlp(x).reshape(x.shape[0], self.num_tokens, self.out_dim)


def speaker_encoder_for(source, num_speakers=0, n_mels=80, dim=128, hidden_dim=256, num_layers=3):
    """The speaker module of a speaker source (used from YAML with ``!apply:``).

    Arguments
    ---------
    source : str
        ``"table"`` (``SpeakerTable``), ``"reference"`` (``ReferenceEncoder``) or
        ``"embedding"`` (None: a pretrained encoder's vectors come in as they are).
    num_speakers : int
        Rows of the table.
    n_mels, dim, hidden_dim, num_layers
        Sizes (``dim`` is the output of both modules).

    Returns
    -------
    torch.nn.Module or None

    Example
    -------
    >>> type(speaker_encoder_for("table", num_speakers=4, dim=8)).__name__
    'SpeakerTable'
    >>> speaker_encoder_for("embedding") is None
    True
    """
    if source == "table":
        return SpeakerTable(num_speakers, dim)
    if source == "reference":
        return ReferenceEncoder(n_mels, dim, hidden_dim, num_layers)
    if source == "embedding":
        return None
    raise ValueError(f"unknown speaker source {source!r}: use table, reference or embedding")


def speaker_vector_dim(source, dim, embedding_dim):
    """Size of the speaker vector of a speaker source: ``embedding_dim`` (a pretrained
    encoder's) for "embedding", else ``dim`` (used from YAML with ``!apply:``).

    Example
    -------
    >>> speaker_vector_dim("table", 64, 192), speaker_vector_dim("embedding", 64, 192)
    (64, 192)
    """
    return int(embedding_dim) if source == "embedding" else int(dim)
