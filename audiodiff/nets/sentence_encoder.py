"""Sentence embeddings that run offline: a small encoder trained with the TTS model, or a
user's local sentence-transformers folder.

With no model hub, a pretrained sentence encoder cannot be fetched. The default route is
``SentenceEncoder``: SentencePiece pieces (trained on the corpus text) -> a small transformer
(``TextEncoder``) -> masked mean pooling -> one vector, trained end to end by the diffusion
loss, so the vector keeps what the decoder needs. ``LocalSentenceEmbedder`` wraps a local
``sentence-transformers`` folder (e.g. a copy of all-MiniLM-L6-v2 a user already has),
frozen; its vectors are computed once per text and fed to the model like a pretrained
speaker embedding.
"""

import os

import torch
from torch import nn

from audiodiff.nets.speaker import masked_mean_std
from audiodiff.nets.text_encoder import TextEncoder


class SentenceEncoder(nn.Module):
    """Piece ids [batch, length] -> sentence vector [batch, out_dim].

    Arguments
    ---------
    vocab_size : int
        Piece ids (0 = padding).
    dim : int
        Transformer width.
    out_dim : int
        Output size.
    num_layers : int
        Transformer layers.
    num_heads : int
        Attention heads.
    dropout : float
        Dropout.

    Example
    -------
    >>> enc = SentenceEncoder(vocab_size=12, dim=16, out_dim=8, num_layers=1)
    >>> tokens = torch.tensor([[1, 5, 6, 1], [1, 7, 1, 0]])
    >>> enc(tokens, tokens > 0).shape
    torch.Size([2, 8])
    """

    def __init__(self, vocab_size, dim=192, out_dim=256, num_layers=2, num_heads=2, dropout=0.1):
        super().__init__()
        self.encoder = TextEncoder(
            vocab_size, dim, num_layers, num_heads, prenet_layers=0, dropout=dropout
        )
        self.out = nn.Linear(dim, out_dim)

    def forward(self, tokens, mask):
        """Embed sentences (see the class docstring)."""
        hidden, _ = self.encoder(tokens, mask)
        mean, _ = masked_mean_std(hidden.transpose(1, 2), mask)
        return self.out(mean)


class LocalSentenceEmbedder:
    """A local ``sentence-transformers`` model folder, frozen (nothing is downloaded).

    Arguments
    ---------
    folder : str
        A folder saved by ``SentenceTransformer.save`` (holds ``modules.json``).
    device : str
        Where it runs.

    Example (needs ``pip install sentence-transformers`` and a saved model folder)::

        embedder = LocalSentenceEmbedder("/models/all-MiniLM-L6-v2")
        embedder(["seven", "one two"]).shape  # torch.Size([2, 384])
    """

    def __init__(self, folder, device="cpu"):
        if not os.path.isfile(os.path.join(folder, "modules.json")):
            raise FileNotFoundError(
                f"'{folder}' is not a sentence-transformers folder (no modules.json); pass the "
                "folder a SentenceTransformer was saved to, or use the learned sentence encoder"
            )
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ImportError(
                "a local sentence-embedding folder needs `pip install sentence-transformers`"
            ) from None
        self.model = SentenceTransformer(folder, device=device, local_files_only=True)
        self.dim = int(self.model.get_sentence_embedding_dimension())

    @torch.no_grad()
    def __call__(self, texts):
        """[len(texts), dim] float32 embeddings on the CPU."""
        out = self.model.encode(list(texts), convert_to_tensor=True, show_progress_bar=False)
        return out.float().cpu()


def sentence_encoder_for(
    model_folder, vocab_size, dim=192, out_dim=256, num_layers=2, num_heads=2, dropout=0.1
):
    """The learned ``SentenceEncoder``, or None when a local sentence-transformers folder gives
    the embeddings (used from YAML with ``!apply:``).

    Example
    -------
    >>> sentence_encoder_for("/models/minilm", vocab_size=10) is None
    True
    >>> type(sentence_encoder_for(None, vocab_size=10, dim=8, num_layers=1)).__name__
    'SentenceEncoder'
    """
    if model_folder:
        return None
    return SentenceEncoder(vocab_size, dim, out_dim, num_layers, num_heads, dropout)


def sentence_vector_dim(model_folder, dim, embedding_dim):
    """Size of the sentence vector: ``embedding_dim`` with a local model folder, else ``dim``
    (the learned encoder's output; used from YAML with ``!apply:``).

    Example
    -------
    >>> sentence_vector_dim(None, 128, 384), sentence_vector_dim("/m", 128, 384)
    (128, 384)
    """
    return int(embedding_dim) if model_folder else int(dim)
