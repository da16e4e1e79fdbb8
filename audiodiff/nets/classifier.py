"""Small log-mel CNN classifier (digit and speaker) used to evaluate generated audio.

Its ``embedding`` output is the feature space of the classifier-based metrics (FID-style);
its logits give label accuracy and inception-style scores.
"""

import torch
from torch import nn


def spec_augment(
    mel,
    generator=None,
    num_freq_masks=2,
    freq_mask_width=10,
    num_time_masks=2,
    time_mask_width=8,
    mask_value=None,
):
    """SpecAugment-style frequency and time masking, independent per example (training only).

    Each mask has a width drawn uniformly from ``0 .. max width`` and a uniform start.

    Arguments
    ---------
    mel : torch.Tensor
        [batch, n_mels, frames] features.
    generator : torch.Generator, optional
        Random generator on ``mel``'s device, for reproducible masks.
    num_freq_masks : int
        Number of frequency masks per example.
    freq_mask_width : int
        Largest frequency-mask width (mel bins).
    num_time_masks : int
        Number of time masks per example.
    time_mask_width : int
        Largest time-mask width (frames).
    mask_value : float, optional
        Value written in masked cells. None: each example's mean.

    Returns
    -------
    torch.Tensor
        [batch, n_mels, frames] masked copy of ``mel``.

    Example
    -------
    >>> mel = torch.randn(4, 80, 50)
    >>> out = spec_augment(mel, generator=torch.Generator().manual_seed(0), mask_value=0.0)
    >>> out.shape, bool((out == 0).any()), bool((mel == 0).any())
    (torch.Size([4, 80, 50]), True, False)
    """
    batch, n_mels, frames = mel.shape
    if mask_value is None:
        fill = mel.mean(dim=(1, 2), keepdim=True).expand_as(mel)
    else:
        fill = torch.full_like(mel, mask_value)

    def band_mask(size, count, max_width):
        """[batch, size] bool: union of ``count`` random bands per example."""
        position = torch.arange(size, device=mel.device)
        mask = torch.zeros(batch, size, dtype=torch.bool, device=mel.device)
        max_width = min(max_width, size)
        for _ in range(count):
            u = torch.rand(2, batch, 1, generator=generator, device=mel.device)
            width = (u[0] * (max_width + 1)).long()
            start = (u[1] * (size - width + 1)).long()
            mask |= (position >= start) & (position < start + width)
        return mask

    freq_mask = band_mask(n_mels, num_freq_masks, freq_mask_width)[:, :, None]
    time_mask = band_mask(frames, num_time_masks, time_mask_width)[:, None, :]
    return torch.where(freq_mask | time_mask, fill, mel)


class SpectrogramClassifier(nn.Module):
    """CNN over normalised log-mel features with digit and speaker heads.

    Blocks of (conv-BN-ReLU) x 2 + 2x2 max-pool; then mean over frequency, mean + max over
    time (any frame count), a Linear embedding, and one linear head per task.

    Arguments
    ---------
    n_mels : int
        Mel bins of the input.
    num_digits : int
        Classes of the ``digit`` head.
    num_speakers : int, optional
        Classes of the ``speaker`` head; 0 or None: no speaker head.
    channels : tuple of int
        Output channels of each conv block.
    embedding_dim : int
        Size of the embedding fed to the heads.
    dropout : float
        Dropout before the embedding layer and before the heads.

    Example
    -------
    >>> model = SpectrogramClassifier(n_mels=40, channels=(8, 16))
    >>> out = model(torch.randn(3, 40, 27))
    >>> out["digit"].shape, out["speaker"].shape, out["embedding"].shape
    (torch.Size([3, 10]), torch.Size([3, 6]), torch.Size([3, 128]))
    """

    def __init__(
        self,
        n_mels=80,
        num_digits=10,
        num_speakers=6,
        channels=(32, 64, 128, 256),
        embedding_dim=128,
        dropout=0.2,
    ):
        super().__init__()
        self.n_mels = n_mels
        layers = []
        in_ch = 1
        for out_ch in channels:
            for conv_in in (in_ch, out_ch):
                layers += [
                    nn.Conv2d(conv_in, out_ch, 3, padding=1, bias=False),
                    nn.BatchNorm2d(out_ch),
                    nn.ReLU(inplace=True),
                ]
            layers.append(nn.MaxPool2d(2, ceil_mode=True))
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        self.embed = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * in_ch, embedding_dim))
        self.head_input = nn.Sequential(nn.ReLU(), nn.Dropout(dropout))
        self.digit_head = nn.Linear(embedding_dim, num_digits)
        self.speaker_head = nn.Linear(embedding_dim, num_speakers) if num_speakers else None

    def forward(self, mel):
        """Classify a batch of mel spectrograms.

        Arguments
        ---------
        mel : torch.Tensor
            [batch, n_mels, frames] normalised log-mel features.

        Returns
        -------
        dict
            ``digit``: [batch, num_digits] logits; ``speaker``: [batch, num_speakers]
            logits or None; ``embedding``: [batch, embedding_dim].
        """
        if mel.ndim != 3 or mel.shape[1] != self.n_mels:
            raise ValueError(f"expected [batch, {self.n_mels}, frames], got {tuple(mel.shape)}")
        h = self.features(mel[:, None]).mean(dim=2)  # [batch, channels, frames']
        pooled = torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=-1)
        embedding = self.embed(pooled)
        head_in = self.head_input(embedding)
        speaker = self.speaker_head(head_in) if self.speaker_head is not None else None
        return {"digit": self.digit_head(head_in), "speaker": speaker, "embedding": embedding}
