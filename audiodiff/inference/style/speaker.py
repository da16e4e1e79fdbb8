"""The project's own speaker encoder: 16 kHz log-mel -> ECAPA-TDNN embedding.

Trained by ``recipes/speechocean762/speaker_encoder`` (AAM-softmax over every real speaker the
project has); this class is the same pipeline the recipe trains and scores with:
wav -> ``MelSpectrogram`` -> dB -> per-utterance mean normalisation -> ECAPA-TDNN -> unit norm.
"""

import torch
import torch.nn.functional as F

from audiodiff.audio.mel import amplitude_to_db
from audiodiff.inference.experiment import load_module_experiment
from audiodiff.inference.style.base import StyleEncoder


def repeat_last_frame(feats, lengths):
    """Replaces frames past each item's relative length by its last valid frame.

    Arguments
    ---------
    feats : torch.Tensor
        [B, frames, channels].
    lengths : torch.Tensor
        [B] relative lengths in (0, 1].

    Returns
    -------
    torch.Tensor
        [B, frames, channels].

    Example
    -------
    >>> x = torch.arange(4.0).view(1, 4, 1).repeat(2, 1, 1)
    >>> repeat_last_frame(x, torch.tensor([0.5, 1.0]))[..., 0]
    tensor([[0., 1., 1., 1.],
            [0., 1., 2., 3.]])
    """
    frames = feats.shape[1]
    valid = (lengths.to(feats.device) * frames).round().long().clamp(1, frames)
    index = torch.minimum(torch.arange(frames, device=feats.device)[None, :], valid[:, None] - 1)
    return feats.gather(1, index[:, :, None].expand_as(feats))


class SpeakerEncoder(StyleEncoder):
    """Speaker embeddings from a mel front-end and an embedding network (e.g. ECAPA-TDNN).

    Arguments
    ---------
    mel : audiodiff.audio.MelSpectrogram
        Front-end; its ``sample_rate`` is the encoder's.
    embedding_model : torch.nn.Module
        ``model(feats [B, frames, n_mels], lengths) -> [B, 1, D]`` (SpeechBrain's
        ``ECAPA_TDNN`` signature) or ``[B, D]``.
    mean_norm : torch.nn.Module, optional
        ``norm(feats, lengths)`` applied first (SpeechBrain ``InputNormalization`` with
        ``norm_type="sentence"``, ``std_norm=False``: per-utterance mean removal).
    embedding_dim : int, optional
        Output size (default: read off ``embedding_model.fc``, else found by a dummy call).
    min_speech_seconds : float
        See :class:`StyleEncoder`.
    trim_db : float or None
        See :class:`StyleEncoder` (the recipe trims its training audio the same way).

    Example
    -------
    >>> from speechbrain.lobes.models.ECAPA_TDNN import ECAPA_TDNN
    >>> from audiodiff.audio import MelSpectrogram
    >>> net = ECAPA_TDNN(40, lin_neurons=16, channels=[8, 8, 8, 8, 24], attention_channels=4,
    ...                  se_channels=4, res2net_scale=2)
    >>> encoder = SpeakerEncoder(MelSpectrogram(n_mels=40), net).eval()
    >>> encoder.sample_rate, encoder.embedding_dim
    (16000, 16)
    >>> encoder(torch.randn(2, 16000), torch.tensor([1.0, 0.5])).shape
    torch.Size([2, 16])
    >>> round(encoder.embed_wav(0.1 * torch.randn(8000), 8000).norm().item(), 4)  # unit norm
    1.0
    """

    def __init__(
        self,
        mel,
        embedding_model,
        mean_norm=None,
        embedding_dim=None,
        min_speech_seconds=0.5,
        trim_db=40.0,
    ):
        super().__init__()
        self.mel = mel
        self.embedding_model = embedding_model
        self.mean_norm = mean_norm
        self.sample_rate = int(mel.sample_rate)
        # one clip per call by default: the convolutions see a clip's end differently when it
        # is padded to a longer batch mate (cosine to the unbatched embedding ~0.995)
        self.batch_size = 1
        self.min_speech_seconds = min_speech_seconds
        self.trim_db = trim_db
        if embedding_dim is None:
            fc = getattr(getattr(embedding_model, "fc", None), "conv", None)
            embedding_dim = getattr(fc, "out_channels", None)
        if embedding_dim is None:
            with torch.no_grad():
                was_training = embedding_model.training
                embedding_dim = self.embed_features(torch.zeros(2, 50, mel.n_mels)).shape[-1]
                embedding_model.train(was_training)
        self.embedding_dim = int(embedding_dim)

    def features(self, wav):
        """dB mel features [B, frames, n_mels] of waveforms [B, samples] (time first)."""
        return amplitude_to_db(self.mel(wav)).transpose(1, 2)

    def embed_features(self, feats, lengths=None):
        """Unit-norm embeddings [B, D] of dB mel features [B, frames, n_mels].

        This is what the recipe trains through (its crops are dB mels already). With
        ``lengths``, the frames past each clip's end are replaced by its last valid frame (as
        the recipe pads its crops), so that zero-padded audio does not reach the convolutions
        as -100 dB silence next to the speech.
        """
        x = feats.float()
        if lengths is not None:
            x = repeat_last_frame(x, lengths)
        if self.mean_norm is not None:
            x = self.mean_norm(x, lengths)
        emb = self.embedding_model(x, lengths)
        if emb.dim() == 3:
            emb = emb.squeeze(1)
        return F.normalize(emb.float(), dim=-1)

    def forward(self, wav, lengths=None):
        """Unit-norm embeddings [B, D] of waveforms [B, samples] at ``sample_rate``."""
        if wav.dim() == 1:
            wav = wav.unsqueeze(0)
        return self.embed_features(self.features(wav), lengths)

    @classmethod
    def from_hparams(cls, exp_dir, device=None):
        """Loads the encoder an experiment folder of the speaker-encoder recipe holds.

        The folder holds ``hyperparams.yaml`` (written by SpeechBrain at training time) and
        ``save/CKPT+*``; the newest checkpoint's ``embedding_model`` is loaded, and the
        encoder is put in eval mode on ``device`` (default: cuda when available).

        Arguments
        ---------
        exp_dir : str or os.PathLike
            E.g. ``results/speaker_encoder/1986``.
        device : str or torch.device, optional
            Where to run.

        Returns
        -------
        SpeakerEncoder

        Raises
        ------
        FileNotFoundError
            If the folder has no ``hyperparams.yaml`` or no checkpoint (one-line message).
        """
        hparams = load_module_experiment(  # the caller's random state is kept
            exp_dir,
            "embedding_model",
            kind="a speaker-encoder experiment folder",
            writer="recipes/speechocean762/speaker_encoder/train.py",
            train="train the speaker encoder first",
        )
        model = hparams["embedding_model"]
        encoder = cls(
            hparams["mel"],
            model,
            mean_norm=hparams.get("mean_norm"),
            min_speech_seconds=hparams.get("min_speech_seconds", 0.5),
            trim_db=hparams.get("trim_db", 40.0),
        )
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        return encoder.to(device).eval()
