"""Style / speaker embeddings of reference audio behind one interface (``StyleEncoder``).

- ``SpeakerEncoder.from_hparams(exp_dir)``: the project's ECAPA-TDNN speaker encoder, trained by
  ``recipes/speechocean762/speaker_encoder`` (16 kHz);
- ``ClapAudioEncoder.from_pretrained(local_folder)``: CLAP's audio embedding through
  ``transformers`` (48 kHz; optional extra ``audiodiff[clap]``).

Both: ``forward(wav [B, samples], lengths=None) -> [B, embedding_dim]`` (unit norm),
``embed_file(path)`` / ``embed_wav(wav, sample_rate)`` -> ``[embedding_dim]``,
``embed_many(items)`` -> ``[N, embedding_dim]``; bad references raise
``StyleEncoderInputError`` (one line).
"""

from audiodiff.inference.style.base import StyleEncoder, StyleEncoderInputError
from audiodiff.inference.style.clap import ClapAudioEncoder
from audiodiff.inference.style.speaker import SpeakerEncoder

__all__ = ["ClapAudioEncoder", "SpeakerEncoder", "StyleEncoder", "StyleEncoderInputError"]
