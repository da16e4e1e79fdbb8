"""Content features of a source mel from a frozen CTC recogniser's posteriors (PPG-style voice
conversion, Sun et al. 2016), for the spectrogram route.

A recogniser trained to transcribe many speakers maps a mel to per-frame character
posteriors that carry what is said and little of who says it. ``PosteriorContentEncoder``
runs such a recogniser (``audiodiff.inference.Recognizer``, frozen: eval mode, no gradients,
outside the module tree) on the source, turns its log-posteriors into features (softmax with
a temperature, floored logs), repeats each output frame ``subsampling`` times to the mel's
frame rate and projects them with a small trainable convolution stack to the ``out_dim``
channels the decoder's content map expects. Same call as ``MelContentEncoder``:
``(mel, mask) -> (content, code)``.

The recogniser reads dB mels of the TTS recipes' front-end (``hparams_shared/mel_16k.yaml``);
the content encoder receives the decoder's normalised mel, so the fitted
``SpectrogramNormalizer`` is passed in and inverted first (its clamp to [low_db, high_db]
only raises the quietest bins, which the recogniser's own ``range_db`` clamp mostly removes).
"""

import torch
from torch import nn

from audiodiff.nets.content_encoder import MelContentEncoder


class FrozenParts:
    """Modules held outside an owner's module tree: not parameters, not in its
    ``state_dict``, not moved by its ``.to``, and shared (not copied) by ``copy.deepcopy``
    (so an EMA copy of the model uses the same recogniser and the same fitted normaliser).

    Example
    -------
    >>> import copy
    >>> parts = FrozenParts(net=nn.Linear(2, 2))
    >>> copy.deepcopy(parts) is parts, parts.net.in_features
    (True, 2)
    """

    def __init__(self, **parts):
        self.__dict__.update(parts)

    def __deepcopy__(self, memo):
        return self


def load_content_recognizer(folder):
    """The frozen recogniser of an ``recipes/speechocean762/asr`` experiment folder (CPU).

    Raises
    ------
    ValueError
        No folder given, or the folder holds no recogniser (one line; the recipes' hparams
        loader turns it into ``error: ...``).
    """
    from audiodiff.inference.recognizer import Recognizer

    if not folder:
        raise ValueError(
            "content_encoder_kind posteriors needs --content_recognizer_folder (an experiment "
            "folder of recipes/speechocean762/asr)"
        )
    try:
        recognizer = Recognizer.from_hparams(folder, device="cpu")
    except FileNotFoundError as err:
        raise ValueError(f"content_recognizer_folder {folder}: {err}") from None
    return recognizer.eval().requires_grad_(False)


class PosteriorContentEncoder(nn.Module):
    """Source mel [batch, n_mels, frames] -> content [batch, out_dim, frames] from a frozen
    recogniser's log-posteriors (see the module docstring).

    Arguments
    ---------
    recognizer : audiodiff.inference.Recognizer
        Frozen CTC recogniser (``recognizer(feats_db, lengths) -> (log_probs [B, T', V],
        relative lengths)``); its ``model.subsampling`` gives the frame ratio.
    normalizer : audiodiff.audio.SpectrogramNormalizer, optional
        The decoder's dB -> [-1, 1] map, inverted on the input (None: inputs are dB mels).
    out_dim : int
        Output channels (the decoder's n_mels).
    hidden_dim : int
        Channels of the trainable convolutions.
    num_layers : int
        Convolutions before the output projection.
    kernel_size : int
        Odd kernel size.
    temperature : float
        Posteriors are ``softmax(log_probs / temperature)`` (> 1: flatter).
    floor : float
        Smallest log-posterior kept (the features are ``max(log p, floor) / -floor``, in
        [-1, 0]).

    Example
    -------
    >>> from audiodiff.audio import MelSpectrogram
    >>> from audiodiff.inference.recognizer import Recognizer
    >>> from audiodiff.nets import CharacterVocabulary, CTCRecognizer
    >>> vocab = CharacterVocabulary()
    >>> asr = Recognizer(MelSpectrogram(n_mels=8), CTCRecognizer(n_mels=8,
    ...     vocab_size=len(vocab), conv_channels=8, hidden_dim=4, num_layers=1), vocab)
    >>> enc = PosteriorContentEncoder(asr, out_dim=8, hidden_dim=16, num_layers=1)
    >>> mask = torch.ones(2, 11, dtype=torch.bool)
    >>> content, code = enc(torch.randn(2, 8, 11) * 10 - 40, mask)
    >>> content.shape, code.shape, len(list(enc.parameters())) == 4
    (torch.Size([2, 8, 11]), torch.Size([2, 29, 11]), True)
    """

    adversary = None  # no speaker-adversarial head (tts_losses checks this)

    def __init__(
        self,
        recognizer,
        normalizer=None,
        out_dim=80,
        hidden_dim=128,
        num_layers=2,
        kernel_size=5,
        temperature=1.0,
        floor=-10.0,
    ):
        super().__init__()
        recognizer = recognizer.eval().requires_grad_(False)
        self.frozen = FrozenParts(recognizer=recognizer, normalizer=normalizer)
        self.subsampling = int(getattr(recognizer.model, "subsampling", 1))
        self.temperature = float(temperature)
        self.floor = float(floor)
        vocab = recognizer.model.head.out_features
        pad = kernel_size // 2
        channels = [vocab] + [hidden_dim] * num_layers
        layers = []
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            layers += [nn.Conv1d(c_in, c_out, kernel_size, padding=pad), nn.SiLU()]
        self.net = nn.Sequential(*layers, nn.Conv1d(channels[-1], out_dim, 1))

    @torch.no_grad()
    def posteriors(self, mel, mask):
        """Floored, scaled log-posteriors [batch, vocab, frames] at the mel's frame rate.

        Arguments
        ---------
        mel : torch.Tensor
            [batch, n_mels, frames] normalised (or dB, without a normaliser) source mel.
        mask : torch.Tensor
            [batch, frames] bool.
        """
        recognizer, normalizer = self.frozen.recognizer, self.frozen.normalizer
        if recognizer.device != mel.device:
            recognizer.to(mel.device)
        recognizer.eval()
        db = normalizer.denormalize(mel) if normalizer is not None else mel
        frames = mask.shape[-1]
        lengths = mask.sum(-1).clamp(min=1).float() / frames
        log_probs, _ = recognizer(db.float(), lengths)  # [B, T', V]
        log_probs = (log_probs / self.temperature).log_softmax(dim=-1)
        x = log_probs.clamp(min=self.floor) / -self.floor  # [-1, 0]
        # output frame j reads input frames j * s .. j * s + s - 1 (stride-s convolution)
        x = x.transpose(1, 2).repeat_interleave(self.subsampling, dim=-1)[..., :frames]
        if x.shape[-1] < frames:
            x = nn.functional.pad(x, (0, frames - x.shape[-1]), mode="replicate")
        return x.to(mel.dtype) * mask[:, None, :].to(mel.dtype)

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
            [batch, vocab, frames] the (frozen) posterior features.
        """
        code = self.posteriors(mel, mask)
        keep = mask[:, None, :].to(mel.dtype)
        return self.net(code) * keep, code

    def speaker_logits(self, code, mask):
        """Not available: this encoder has no adversarial head."""
        raise ValueError("the posterior content encoder has no speaker-adversarial head")


def content_encoder_for(
    kind,
    n_mels=80,
    hidden_dim=128,
    bottleneck_dim=16,
    num_layers=3,
    max_warp=0.12,
    max_gain=0.15,
    num_speakers=0,
    adversarial_scale=1.0,
    recognizer_folder=None,
    normalizer=None,
    posterior_hidden_dim=128,
    posterior_layers=2,
    temperature=1.0,
):
    """The spectrogram route's content encoder of a kind (used from YAML with ``!apply:``).

    Arguments
    ---------
    kind : str
        ``"mel"`` (``MelContentEncoder``: perturbation, instance norm, bottleneck) or
        ``"posteriors"`` (``PosteriorContentEncoder`` on the recogniser of
        ``recognizer_folder``).
    n_mels, hidden_dim, bottleneck_dim, num_layers, max_warp, max_gain, num_speakers,
    adversarial_scale
        ``MelContentEncoder``'s arguments (``n_mels`` is also the posterior encoder's
        ``out_dim``).
    recognizer_folder : str, optional
        An experiment folder of ``recipes/speechocean762/asr`` ("posteriors").
    normalizer : audiodiff.audio.SpectrogramNormalizer, optional
        The decoder's normaliser ("posteriors": inverted to dB for the recogniser).
    posterior_hidden_dim, posterior_layers, temperature
        ``PosteriorContentEncoder``'s ``hidden_dim``, ``num_layers`` and ``temperature``.

    Returns
    -------
    torch.nn.Module

    Example
    -------
    >>> type(content_encoder_for("mel", n_mels=8, hidden_dim=8)).__name__
    'MelContentEncoder'
    >>> content_encoder_for("posteriors")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: content_encoder_kind posteriors needs --content_recognizer_folder ...
    """
    if kind == "mel":
        return MelContentEncoder(
            n_mels=n_mels,
            hidden_dim=hidden_dim,
            bottleneck_dim=bottleneck_dim,
            num_layers=num_layers,
            max_warp=max_warp,
            max_gain=max_gain,
            num_speakers=num_speakers,
            adversarial_scale=adversarial_scale,
        )
    if kind == "posteriors":
        return PosteriorContentEncoder(
            load_content_recognizer(recognizer_folder),
            normalizer=normalizer,
            out_dim=n_mels,
            hidden_dim=posterior_hidden_dim,
            num_layers=posterior_layers,
            temperature=temperature,
        )
    raise ValueError(f"unknown content_encoder_kind {kind!r}: use mel or posteriors")
