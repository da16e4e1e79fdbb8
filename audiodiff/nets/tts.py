"""``DiffusionTTS``: every trainable part of a diffusion TTS / voice-conversion model in one
module (so one EMA averages all of it), with the three content routes and three speaker
sources behind small methods. Losses and sampling live in ``audiodiff.training.tts``.

Content routes (``route``):

- ``"phoneme"`` (Grad-TTS): ``text_encoder`` gives hidden states and a per-token mel mean
  mu; monotonic alignment search (training) or ``duration_predictor`` (inference) expands
  mu to frames: the decoder's content map.
- ``"sentence"``: one sentence vector (``sentence_encoder``, or a precomputed embedding of a
  local sentence-transformers model) -> ``content_adapter`` context tokens; the number of
  frames comes from ``length_predictor``.
- ``"spectrogram"`` (voice conversion): ``content_encoder`` turns the source mel into a
  speaker-poor content map of the same length.

Speaker sources (``speaker_source``): ``"table"`` (closed set, ``SpeakerTable``),
``"reference"`` (``ReferenceEncoder`` on a reference mel, trained jointly) or
``"embedding"`` (a pretrained style encoder's vector, passed in). ``speaker_adapter`` turns
the vector into the decoder's speaker tokens.
"""

from torch import nn

ROUTES = ("phoneme", "sentence", "spectrogram")
SPEAKER_SOURCES = ("table", "reference", "embedding")


class DiffusionTTS(nn.Module):
    """Container of the TTS model's parts (see the module docstring).

    Arguments
    ---------
    route : str
        "phoneme", "sentence" or "spectrogram".
    decoder : audiodiff.nets.TTSDecoder
        The conditional mel denoiser.
    speaker_adapter : audiodiff.nets.EmbeddingAdapter
        Speaker vector -> speaker tokens.
    speaker_source : str
        "table", "reference" or "embedding".
    speaker_encoder : torch.nn.Module, optional
        ``SpeakerTable`` or ``ReferenceEncoder`` (None for "embedding").
    text_encoder, duration_predictor : torch.nn.Module, optional
        The phoneme route's parts.
    sentence_encoder : torch.nn.Module, optional
        The sentence route's learned encoder (None: precomputed embeddings).
    content_adapter : audiodiff.nets.EmbeddingAdapter, optional
        Sentence vector -> content tokens.
    length_predictor : audiodiff.nets.LengthPredictor, optional
        Sentence route: log frames from [sentence vector, speaker vector].
    content_encoder : audiodiff.nets.MelContentEncoder, optional
        The spectrogram route's encoder.

    Example
    -------
    >>> import torch
    >>> from audiodiff.nets import (EmbeddingAdapter, SpectrogramUNet, SpeakerTable,
    ...                             TTSDecoder, MelContentEncoder)
    >>> unet = SpectrogramUNet(in_channels=3, base_channels=8, channel_mults=(1, 2),
    ...     num_res_blocks=1, attention_levels=(1,), num_heads=2, cond_drop_prob=0.0,
    ...     context_dim=8)
    >>> model = DiffusionTTS("spectrogram", TTSDecoder(unet), EmbeddingAdapter(4, 8),
    ...     speaker_source="table", speaker_encoder=SpeakerTable(3, 4),
    ...     content_encoder=MelContentEncoder(n_mels=10, hidden_dim=8, bottleneck_dim=2))
    >>> model.speaker_vector(speaker=torch.tensor([2])).shape
    torch.Size([1, 4])
    """

    def __init__(
        self,
        route,
        decoder,
        speaker_adapter,
        speaker_source="reference",
        speaker_encoder=None,
        text_encoder=None,
        duration_predictor=None,
        sentence_encoder=None,
        content_adapter=None,
        length_predictor=None,
        content_encoder=None,
    ):
        super().__init__()
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; choose one of {ROUTES}")
        if speaker_source not in SPEAKER_SOURCES:
            raise ValueError(
                f"unknown speaker_source {speaker_source!r}; choose one of {SPEAKER_SOURCES}"
            )
        if (speaker_source == "embedding") != (speaker_encoder is None):
            raise ValueError(
                "speaker_encoder must be None exactly when speaker_source is "
                "'embedding' (a vector from a pretrained encoder)"
            )
        needs = {
            "phoneme": {"text_encoder": text_encoder, "duration_predictor": duration_predictor},
            "sentence": {"content_adapter": content_adapter, "length_predictor": length_predictor},
            "spectrogram": {"content_encoder": content_encoder},
        }[route]
        missing = [name for name, part in needs.items() if part is None]
        if missing:
            raise ValueError(f"the {route} route needs {missing}")
        self.route = route
        self.speaker_source = speaker_source
        self.decoder = decoder
        self.speaker_adapter = speaker_adapter
        self.speaker_encoder = speaker_encoder
        self.text_encoder = text_encoder
        self.duration_predictor = duration_predictor
        self.sentence_encoder = sentence_encoder
        self.content_adapter = content_adapter
        self.length_predictor = length_predictor
        self.content_encoder = content_encoder

    def speaker_vector(
        self, speaker=None, reference_mel=None, reference_mask=None, speaker_embedding=None
    ):
        """The speaker vector [batch, dim] from the input the speaker source reads.

        Arguments
        ---------
        speaker : torch.Tensor, optional
            [batch] long indices ("table").
        reference_mel, reference_mask : torch.Tensor, optional
            [batch, n_mels, frames] normalised mel and [batch, frames] bool ("reference").
        speaker_embedding : torch.Tensor, optional
            [batch, dim] pretrained embeddings ("embedding").
        """
        if self.speaker_source == "table":
            if speaker is None:
                raise ValueError("this model reads a speaker index (a closed-set table)")
            return self.speaker_encoder(speaker)
        if self.speaker_source == "reference":
            if reference_mel is None:
                raise ValueError("this model reads a reference mel")
            return self.speaker_encoder(reference_mel, reference_mask)
        if speaker_embedding is None:
            raise ValueError("this model reads a pretrained speaker embedding")
        return speaker_embedding

    def speaker_tokens(self, speaker_vec):
        """[batch, dim] -> [batch, k, context_dim] speaker context."""
        return self.speaker_adapter(speaker_vec)

    def encode_text(self, tokens, token_mask, speaker_vec=None):
        """Phoneme route: (hidden [B, L, d], mu [B, n_mels, L])."""
        return self.text_encoder(tokens, token_mask, condition=speaker_vec)

    def log_durations(self, hidden, token_mask, speaker_vec=None):
        """Phoneme route: predicted log durations [B, L] (hidden detached, as Grad-TTS)."""
        return self.duration_predictor(hidden.detach(), token_mask, condition=speaker_vec)

    def sentence_vector(self, tokens=None, token_mask=None, sentence_embedding=None):
        """Sentence route: [B, dim] from pieces (learned encoder) or a precomputed embedding."""
        if self.sentence_encoder is None:
            if sentence_embedding is None:
                raise ValueError("this model reads precomputed sentence embeddings")
            return sentence_embedding
        return self.sentence_encoder(tokens, token_mask)

    def log_frames(self, sentence_vec, speaker_vec):
        """Sentence route: predicted log frame count [B] from both vectors."""
        return self.length_predictor(sentence_vec, speaker_vec)

    def content_tokens(self, sentence_vec):
        """Sentence route: [B, dim] -> [B, k, context_dim] content context."""
        return self.content_adapter(sentence_vec)

    def encode_source(self, mel, mask):
        """Spectrogram route: (content map [B, n_mels, T], bottleneck code [B, c, T])."""
        return self.content_encoder(mel, mask)

    def forward(self, x, t, **conditions):
        """The decoder's prediction (``TTSDecoder.forward``)."""
        return self.decoder(x, t, **conditions)
