"""The style-encoder interface: reference audio -> one embedding vector per clip.

Every encoder (the project's speaker encoder, CLAP's audio tower, ...) is a
``torch.nn.Module`` with

- ``sample_rate`` (what ``forward`` expects) and ``embedding_dim``;
- ``forward(wav [batch, samples], lengths=None) -> [batch, embedding_dim]``, unit L2 norm,
  ``lengths`` SpeechBrain relative lengths (None: every clip is full length);
- ``embed_wav(wav, sample_rate)`` / ``embed_file(path)`` -> ``[embedding_dim]`` and
  ``embed_many(items)`` -> ``[N, embedding_dim]``, which resample, check and trim references.

A reference that cannot serve (unreadable, not mono, NaN, a wrong sample rate, silent, or with
less than ``min_speech_seconds`` of sound) raises :class:`StyleEncoderInputError` with a
one-line message; a command-line tool prints it as ``error: ...``.
"""

import numbers
import os

import torch
import torch.nn.functional as F
import torchaudio

from audiodiff.audio.activity import speech_seconds, trim_silence
from audiodiff.audio.io import AudioReadError, read_audio

MIN_SAMPLE_RATE = 4000
"""References recorded below this rate are refused (too little bandwidth for a voice)."""


class StyleEncoderInputError(ValueError):
    """A reference clip cannot be embedded; the message is one line naming the clip."""


class StyleEncoder(torch.nn.Module):
    """Base class: subclasses set ``sample_rate`` and ``embedding_dim`` and implement
    ``forward``; the reading, checking, trimming and batching here are shared.

    Attributes
    ----------
    sample_rate : int
        Sample rate ``forward`` expects.
    embedding_dim : int
        Size of the embeddings.
    min_speech_seconds : float
        Least sound (active frames, :func:`audiodiff.audio.speech_seconds`) a checked
        reference must hold (0.5 s; lower it for very short clips such as single digits).
    trim_db : float or None
        Leading / trailing silence more than this many dB below the loudest frame is cut from
        references before embedding (None: no trimming).
    batch_size : int
        Clips per ``forward`` call in :meth:`embed_many` when none is given (1 where padding
        changes an embedding, as for convolutional encoders).
    """

    sample_rate = None
    embedding_dim = None
    min_speech_seconds = 0.5
    trim_db = 40.0
    batch_size = 16

    def forward(self, wav, lengths=None):
        """[batch, samples] at ``sample_rate`` (+ relative lengths) -> [batch, embedding_dim]."""
        raise NotImplementedError

    @property
    def device(self):
        """Device of the encoder's first parameter or buffer (CPU when it has none)."""
        for tensor in self.parameters():
            return tensor.device
        for tensor in self.buffers():
            return tensor.device
        return torch.device("cpu")

    # ---- input checks -------------------------------------------------------------------------
    def load(self, path):
        """Reads a reference file at ``sample_rate`` (soundfile); unreadable files raise
        :class:`StyleEncoderInputError`."""
        try:
            wav, _ = read_audio(path, sample_rate=self.sample_rate)
        except AudioReadError as err:
            raise StyleEncoderInputError(str(err)) from None
        return wav

    def prepare(self, wav, sample_rate=None, name="reference", check=True):
        """A reference as a 1-D float waveform at ``sample_rate``, trimmed, checked.

        Arguments
        ---------
        wav : torch.Tensor or numpy.ndarray
            [samples] (or [1, samples]) waveform.
        sample_rate : int, optional
            Its rate (default ``self.sample_rate``); resampled when different.
        name : str
            How error messages call the clip (a file name).
        check : bool
            Refuse silent and too short clips (False: embed anything, padding very short
            clips with silence to 0.25 s).

        Returns
        -------
        torch.Tensor
            [samples] float32 on the CPU.

        Raises
        ------
        StyleEncoderInputError
            Not mono, empty, NaN / inf, a sample rate below 4 kHz, silent, or (``check``) less
            than ``min_speech_seconds`` of sound.
        """
        sample_rate = self.sample_rate if sample_rate is None else sample_rate
        whole = isinstance(sample_rate, numbers.Integral) or (
            isinstance(sample_rate, numbers.Real) and float(sample_rate).is_integer()
        )
        if isinstance(sample_rate, bool) or not whole:
            raise StyleEncoderInputError(f"{name}: sample rate must be an integer (Hz)")
        sample_rate = int(sample_rate)
        if sample_rate < MIN_SAMPLE_RATE:
            raise StyleEncoderInputError(
                f"{name}: sample rate {sample_rate} Hz is too low (at least {MIN_SAMPLE_RATE} Hz)"
            )
        wav = torch.as_tensor(wav).detach().float().cpu()
        if wav.dim() == 2 and 1 in wav.shape:
            wav = wav.reshape(-1)
        if wav.dim() != 1:
            raise StyleEncoderInputError(
                f"{name}: expected a mono waveform [samples], got shape {tuple(wav.shape)}"
            )
        if wav.numel() == 0:
            raise StyleEncoderInputError(f"{name} is empty (0 samples)")
        if not torch.isfinite(wav).all():
            raise StyleEncoderInputError(f"{name} holds NaN or infinite samples")
        if sample_rate != self.sample_rate:
            wav = torchaudio.functional.resample(wav, sample_rate, self.sample_rate)
        if check:
            seconds = speech_seconds(wav, self.sample_rate)
            if seconds == 0.0:
                raise StyleEncoderInputError(f"{name} is silent")
            if seconds < self.min_speech_seconds:
                raise StyleEncoderInputError(
                    f"{name} holds {seconds:.2f} s of sound: at least "
                    f"{self.min_speech_seconds:.2f} s needed"
                )
        if self.trim_db is not None:
            wav = trim_silence(wav, self.sample_rate, threshold_db=self.trim_db)
        shortest = int(0.25 * self.sample_rate)
        if not check and wav.numel() < shortest:
            wav = F.pad(wav, (0, shortest - wav.numel()))
        return wav

    # ---- embedding ----------------------------------------------------------------------------
    def embed_wav(self, wav, sample_rate):
        """[embedding_dim] embedding of one checked, trimmed reference waveform."""
        return self.embed_many([wav], sample_rate)[0]

    def embed_file(self, path):
        """[embedding_dim] embedding of one reference file (read with soundfile)."""
        return self.embed_many([path])[0]

    @torch.no_grad()
    def embed_many(self, items, sample_rate=None, batch_size=None, check=True):
        """Embeddings of many clips, batched by length.

        Arguments
        ---------
        items : list
            File paths (``str`` / ``os.PathLike``) or 1-D waveforms.
        sample_rate : int, optional
            Rate of the waveforms (default ``self.sample_rate``); files carry their own.
        batch_size : int, optional
            Clips per ``forward`` call (default ``self.batch_size``); clips are padded to the
            longest of their batch.
        check : bool
            Apply the reference checks (see :meth:`prepare`).

        Returns
        -------
        torch.Tensor
            [N, embedding_dim] float32, unit norm, on the encoder's device.
        """
        wavs = []
        for i, item in enumerate(items):
            if isinstance(item, (str, os.PathLike)):
                wavs.append(self.prepare(self.load(item), None, os.fspath(item), check))
            else:
                wavs.append(self.prepare(item, sample_rate, f"reference {i}", check))
        if not wavs:
            return torch.zeros(0, self.embedding_dim, device=self.device)
        batch_size = batch_size or self.batch_size
        order = sorted(range(len(wavs)), key=lambda i: wavs[i].numel())
        out = [None] * len(wavs)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            longest = max(wavs[i].numel() for i in chunk)
            batch = torch.stack([F.pad(wavs[i], (0, longest - wavs[i].numel())) for i in chunk])
            lengths = torch.tensor([wavs[i].numel() / longest for i in chunk])
            emb = self(batch.to(self.device), lengths.to(self.device)).float()
            for row, i in enumerate(chunk):
                out[i] = emb[row]
        return F.normalize(torch.stack(out), dim=-1)
