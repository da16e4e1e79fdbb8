"""Conditioning shared by the waveform denoisers (DiffWave, SaShiMi): the diffusion-step +
label embedding vector, and the mel-spectrogram upsampler of DiffWave's vocoder mode.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from audiodiff.nets.embeddings import LabelEmbedding, drop_labels, sinusoidal_embedding

_RESERVED_NAMES = ("x", "t", "mel", "local_mel")


class StepLabelEmbedding(nn.Module):
    """Global conditioning vector: diffusion step t plus optional class labels.

    DiffWave (Kong et al. 2021, sec. 3.1 and fig. 2): a sinusoidal embedding of t (``step_dim``
    features) -> Linear -> SiLU -> Linear -> SiLU, giving ``dim`` features. Each label of
    ``label_classes`` adds a learned embedding (:class:`LabelEmbedding`, ``-1`` = the null
    label) to that vector, as DiffWave's class-conditional model does. In training mode each
    label is dropped to null with probability ``cond_drop_prob`` (classifier-free guidance).
    t may be fractional (DiffWave's fast schedule feeds aligned, non-integer steps).

    Arguments
    ---------
    step_dim : int
        Size of the sinusoidal step features.
    dim : int
        Size of the output vector.
    label_classes : dict, optional
        Label name -> number of classes, e.g. ``{"digit": 10}``.
    cond_drop_prob : float
        Probability of dropping each label to null in training mode.

    Example
    -------
    >>> embed = StepLabelEmbedding(step_dim=16, dim=32, label_classes={"digit": 10})
    >>> embed(torch.tensor([0.0, 17.5]), {"digit": torch.tensor([3, -1])}).shape
    torch.Size([2, 32])
    """

    def __init__(self, step_dim=128, dim=512, label_classes=None, cond_drop_prob=0.1):
        super().__init__()
        label_classes = dict(label_classes or {})
        for name in label_classes:
            if name in _RESERVED_NAMES:
                raise ValueError(f"label name {name!r} is reserved (forward argument)")
        self.step_dim = step_dim
        self.cond_drop_prob = cond_drop_prob
        self.mlp = nn.Sequential(
            nn.Linear(step_dim, dim), nn.SiLU(), nn.Linear(dim, dim), nn.SiLU()
        )
        self.label_embeds = nn.ModuleDict(
            {name: LabelEmbedding(num, dim, name=name) for name, num in label_classes.items()}
        )

    @property
    def label_classes(self):
        """dict: label name -> number of classes."""
        return {name: embed.num_classes for name, embed in self.label_embeds.items()}

    def forward(self, t, labels, resolved=False):
        """Return the [batch, dim] conditioning vector.

        Arguments
        ---------
        t : torch.Tensor
            [batch] (or scalar) long or float diffusion steps.
        labels : dict
            Label name -> [batch] long tensor (``-1`` = no label); a missing name means no
            label for the whole batch.
        resolved : bool
            ``labels`` come from :meth:`resolve_labels` (checked, complete, already dropped).

        Returns
        -------
        torch.Tensor
            [batch, dim].
        """
        features = sinusoidal_embedding(t, self.step_dim)
        emb = self.mlp(features.to(self.mlp[0].weight.dtype))
        if not self.label_embeds:
            return emb
        values = labels if resolved else self.resolve_labels(labels, emb.shape[0], emb.device)
        for name, embed in self.label_embeds.items():
            emb = emb + embed(values[name], check=False)
        return emb

    def resolve_labels(self, labels, batch, device):
        """Check the labels, fill missing names with null (-1) and, in training mode, drop
        each label to null with probability ``cond_drop_prob``.

        A caller that feeds the same labels to a second conditioner (e.g.
        :class:`LabelTemplate`) resolves them once and passes ``resolved=True`` to
        ``forward``, so that both see the same dropped labels.

        Arguments
        ---------
        labels : dict
            Label name -> [batch] long tensor (``-1`` = no label).
        batch : int
            Batch size (for the missing names).
        device : torch.device
            Device of the filled-in labels.

        Returns
        -------
        dict
            Label name -> [batch] long tensor, one entry per known label.

        Example
        -------
        >>> embed = StepLabelEmbedding(step_dim=16, dim=32, label_classes={"digit": 10})
        >>> embed.resolve_labels({}, batch=2, device="cpu")
        {'digit': tensor([-1, -1])}
        """
        unknown = sorted(set(labels) - set(self.label_embeds))
        if unknown:
            raise ValueError(
                f"unknown label(s) {unknown}; this model knows {sorted(self.label_embeds)}"
            )
        values = {}
        for name in self.label_embeds:
            value = labels.get(name)
            if value is None:
                value = torch.full((batch,), -1, dtype=torch.long, device=device)
            elif value.shape != (batch,):
                raise ValueError(f"label {name!r} has shape {tuple(value.shape)}, want ({batch},)")
            values[name] = value.long()
        if values and not torch.compiler.is_compiling():
            # One host sync for all tables; details only on failure.
            flags = [embed.out_of_range(values[name]) for name, embed in self.label_embeds.items()]
            if torch.stack(flags).any().item():
                for name, embed in self.label_embeds.items():
                    embed.check_range(values[name])
        if self.training:
            values = {name: drop_labels(v, self.cond_drop_prob) for name, v in values.items()}
        return values


class LabelTemplate(nn.Module):
    """Learned time-varying conditioning per class: a local conditioner made from labels.

    Each class (and the null label ``-1``) owns a learned [channels, frames] sequence; the
    sequences of all label names are summed and linearly interpolated to the waveform length.
    The result enters the network where a vocoder's upsampled mel would (DiffWave: every
    layer's dilated convolution). A global label embedding only says *which* word to say; a
    template also tells each layer *where* in the (left-aligned) clip it is, which DiffWave's
    receptive field cannot see from far inside a word. This is an audiodiff option (off by
    default), not part of the DiffWave paper.

    Arguments
    ---------
    label_classes : dict
        Label name -> number of classes.
    channels : int
        Feature channels of each template.
    frames : int
        Time steps of each template (interpolated to the waveform length).

    Example
    -------
    >>> template = LabelTemplate({"digit": 10}, channels=4, frames=8)
    >>> template({"digit": torch.tensor([3, -1])}, length=100).shape
    torch.Size([2, 100, 4])
    """

    def __init__(self, label_classes, channels=16, frames=64):
        super().__init__()
        if not label_classes:
            raise ValueError("a label template needs label_classes")
        self.channels = channels
        self.frames = frames
        self.tables = nn.ModuleDict(
            {
                name: LabelEmbedding(num, channels * frames, name=name)
                for name, num in label_classes.items()
            }
        )

    def forward(self, labels, length):
        """Return the [batch, length, channels] (time-major) template of ``labels``.

        Arguments
        ---------
        labels : dict
            Label name -> [batch] long tensor, already checked (``-1`` = null); see
            :meth:`StepLabelEmbedding.resolve_labels`.
        length : int
            Waveform samples.

        Returns
        -------
        torch.Tensor
            [batch, length, channels].
        """
        seq = None
        for name, table in self.tables.items():
            part = table(labels[name], check=False).unflatten(-1, (self.channels, self.frames))
            seq = part if seq is None else seq + part
        seq = F.interpolate(seq, size=length, mode="linear", align_corners=False)
        return seq.transpose(1, 2)


def upsample_factors(hop_length, max_factor=32):
    """Even factors whose product is ``hop_length``, for :class:`MelUpsampler`.

    The fewest factors (at least two when the hop has two factors of 2, as DiffWave's
    16 x 16 for hop 256) that are all even and at most ``max_factor``, as equal as possible
    (the largest factor is minimised), in increasing order. Each factor needs one factor of 2,
    so an odd hop has no such factorisation: it raises, with the nearest even hops named.

    Arguments
    ---------
    hop_length : int
        Samples per mel frame.
    max_factor : int
        Largest factor wanted (a larger one is still used when the hop has too few factors
        of 2: hop 150 = 2 x 75 is one factor, 150).

    Returns
    -------
    tuple of int

    Raises
    ------
    ValueError
        If ``hop_length`` is odd or below 2.

    Example
    -------
    >>> upsample_factors(256), upsample_factors(300), upsample_factors(200), upsample_factors(128)
    ((16, 16), (10, 30), (10, 20), (8, 16))
    >>> upsample_factors(1024), upsample_factors(150), upsample_factors(2048)
    ((32, 32), (150,), (8, 16, 16))
    """
    hop_length = int(hop_length)
    if hop_length < 2 or hop_length % 2:
        raise ValueError(
            f"the mel upsampler needs an even hop length (each transposed convolution has an "
            f"even stride), got {hop_length}; use a hop of {max(2, hop_length - 1)} or "
            f"{hop_length + 1} samples"
        )
    twos, rest = 0, hop_length
    while rest % 2 == 0:
        twos, rest = twos + 1, rest // 2

    def splits(value, count):
        """Every way to write ``value`` as ``count`` even factors (sorted)."""
        if count == 1:
            return [(value,)] if value % 2 == 0 else []
        found = []
        for first in range(2, int(value ** (1 / count)) + 2, 2):
            if value % first == 0:
                rest_splits = splits(value // first, count - 1)
                found += [(first, *more) for more in rest_splits if more[0] >= first]
        return found

    best = None
    for count in range(min(2, twos), twos + 1):
        options = splits(hop_length, count)
        if not options:
            continue
        option = min(options, key=max)
        if best is None or max(best) > max_factor and max(option) < max(best):
            best = option
        if max(best) <= max_factor:
            break
    return tuple(best)


class MelUpsampler(nn.Module):
    """Upsample a mel spectrogram to the waveform rate with transposed 2-D convolutions.

    DiffWave's local conditioner (Kong et al. 2021, sec. 3.2): one transposed convolution per
    factor s (kernel (3, 2s) over (mel band, frame), stride (1, s)), each followed by a leaky
    ReLU (slope 0.4); the product of ``factors`` is the hop length. The output is cropped (or
    zero-padded) to ``length`` samples.

    Arguments
    ---------
    factors : tuple of int
        Even upsampling factors whose product is the hop length, e.g. (16, 16) for hop 256.

    Example
    -------
    >>> up = MelUpsampler(factors=(4, 4))
    >>> up(torch.randn(2, 80, 10), length=150).shape
    torch.Size([2, 80, 150])
    """

    def __init__(self, factors=(16, 16)):
        super().__init__()
        factors = tuple(int(f) for f in factors)
        if any(f < 2 or f % 2 for f in factors):
            raise ValueError(f"upsampling factors must be even and >= 2, got {factors}")
        self.hop_length = math.prod(factors)
        self.convs = nn.ModuleList(
            nn.ConvTranspose2d(1, 1, (3, 2 * f), stride=(1, f), padding=(1, f // 2))
            for f in factors
        )

    def forward(self, mel, length):
        """Upsample ``mel`` [batch, n_mels, frames] to [batch, n_mels, length].

        Arguments
        ---------
        mel : torch.Tensor
            [batch, n_mels, frames] (normalised) mel spectrogram.
        length : int
            Number of waveform samples wanted.

        Returns
        -------
        torch.Tensor
            [batch, n_mels, length].
        """
        x = mel.unsqueeze(1)
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.4)
        x = x.squeeze(1)
        if x.shape[-1] < length:
            x = F.pad(x, (0, length - x.shape[-1]))
        return x[..., :length]
