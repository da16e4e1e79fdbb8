"""A stand-in style encoder for the TTS tests: a fixed random projection of log-mel means.

It follows the ``audiodiff.inference.StyleEncoder`` interface (``sample_rate``,
``embedding_dim``, ``forward(wav, lengths)``, ``embed_wav``, ``embed_file``, ``embed_many``)
and subclasses it when this installation has it. Load it with
``--style_encoder standin_style_encoder:load`` (this folder on PYTHONPATH).
"""

import torch
import torchaudio

from audiodiff.audio import MelSpectrogram, amplitude_to_db, read_audio

try:
    from audiodiff.inference import StyleEncoder as _Base
except ImportError:  # before the speaker-encoder branch is merged
    _Base = torch.nn.Module


class MelMeanEncoder(_Base):
    """log-mel band means [40] -> a fixed random projection [16], unit norm."""

    sample_rate = 16000
    embedding_dim = 16

    def __init__(self):
        torch.nn.Module.__init__(self)
        self.mel = MelSpectrogram(self.sample_rate, n_mels=40)
        generator = torch.Generator().manual_seed(0)
        self.register_buffer("projection", torch.randn(40, self.embedding_dim, generator=generator))

    def forward(self, wav, lengths=None):
        db = amplitude_to_db(self.mel(wav))  # [B, 40, frames]
        return torch.nn.functional.normalize(db.mean(-1) @ self.projection, dim=-1)

    def embed_wav(self, wav, sample_rate):
        wav = torch.as_tensor(wav).float().reshape(-1)
        if sample_rate != self.sample_rate:
            wav = torchaudio.functional.resample(wav, sample_rate, self.sample_rate)
        with torch.no_grad():
            return self.forward(wav[None])[0]

    def embed_file(self, path):
        wav, _ = read_audio(path, sample_rate=self.sample_rate)
        return self.embed_wav(wav, self.sample_rate)

    def embed_many(self, items, sample_rate=None, batch_size=16, check=True):
        rate = sample_rate or self.sample_rate
        return torch.stack(
            [self.embed_file(i) if isinstance(i, str) else self.embed_wav(i, rate) for i in items]
        )


def load(folder):
    """The encoder (``folder`` is ignored: there are no weights)."""
    return MelMeanEncoder()
