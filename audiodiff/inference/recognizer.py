"""A trained CTC character recogniser (``recipes/speechocean762/asr``) for intelligibility scores.

Pipeline (what the recipe trains through): wav at 16 kHz -> ``MelSpectrogram`` (the TTS
recipes' front-end) -> dB -> ``relative_db`` (each utterance's levels below its loudest bin,
clamped at ``range_db``) -> per-utterance mean / variance normalisation of each band
(SpeechBrain ``InputNormalization(norm_type="sentence")``) -> ``CTCRecognizer`` -> greedy CTC
decoding (``speechbrain.decoders.ctc_greedy_decode``) -> characters.
"""

import torch
import torchaudio
from speechbrain.decoders import ctc_greedy_decode
from torch import nn

from audiodiff.audio.io import read_audio
from audiodiff.audio.mel import amplitude_to_db, floor_db, relative_db
from audiodiff.diffusion.ema import unwrap_model
from audiodiff.inference.experiment import load_module_experiment
from audiodiff.metrics.intelligibility import error_rates


class RecognizerInputError(ValueError):
    """A waveform the recogniser cannot read (the message is one line)."""


def pad_features(feats, value=None):
    """Right-pad [n_mels, frames_i] features to the longest: ([B, n_mels, T], [B] relative
    lengths).

    Arguments
    ---------
    feats : list of torch.Tensor
        [n_mels, frames_i] each.
    value : float, optional
        Padding value (default: the dB floor, ``floor_db()``).

    Returns
    -------
    (torch.Tensor, torch.Tensor)

    Example
    -------
    >>> x, lengths = pad_features([torch.zeros(2, 3), torch.zeros(2, 4)])
    >>> x.shape, lengths.tolist(), x[0, 0, -1].item()
    (torch.Size([2, 2, 4]), [0.75, 1.0], -100.0)
    """
    value = floor_db() if value is None else value
    longest = max(f.shape[-1] for f in feats)
    batch = torch.stack(
        [nn.functional.pad(f.float(), (0, longest - f.shape[-1]), value=value) for f in feats]
    )
    lengths = torch.tensor([f.shape[-1] / longest for f in feats])
    return batch, lengths


class Recognizer(nn.Module):
    """Transcribe speech with a CTC character model (see the module docstring).

    Arguments
    ---------
    mel : audiodiff.audio.MelSpectrogram
        Front-end; its ``sample_rate`` is the recogniser's.
    model : torch.nn.Module
        ``model(feats [B, n_mels, T], lengths) -> log-probs [B, T', V]`` with an
        ``output_frames(frames)`` method (``audiodiff.nets.CTCRecognizer``).
    vocabulary : audiodiff.nets.CharacterVocabulary
        Ids -> characters (blank = 0).
    input_norm : torch.nn.Module, optional
        ``norm(feats [B, T, n_mels], lengths)``: SpeechBrain ``InputNormalization`` with
        ``norm_type="sentence"``; None: features only clamped by ``range_db``.
    range_db : float, optional
        ``relative_db`` range (None: absolute dB).
    batch_size : int
        Utterances per forward pass in :meth:`transcribe` (sorted by length first).

    Example
    -------
    >>> from audiodiff.audio import MelSpectrogram
    >>> from audiodiff.nets import CharacterVocabulary, CTCRecognizer
    >>> vocab = CharacterVocabulary()
    >>> model = CTCRecognizer(n_mels=80, vocab_size=len(vocab), conv_channels=8, hidden_dim=4,
    ...                       num_layers=1)
    >>> asr = Recognizer(MelSpectrogram(), model, vocab).eval()
    >>> texts = asr.transcribe([0.1 * torch.randn(8000), torch.zeros(100)], 16000)
    >>> isinstance(texts[0], str), texts[1]
    (True, '')
    >>> sorted(asr.error_rates([torch.zeros(800)], ["one"], 8000).items())[:3]
    [('cer', 1.0), ('char_edits', 3), ('chars', 3)]
    """

    def __init__(self, mel, model, vocabulary, input_norm=None, range_db=80.0, batch_size=16):
        super().__init__()
        self.mel = mel
        self.model = model
        self.input_norm = input_norm
        self.vocabulary = vocabulary
        self.range_db = range_db
        self.batch_size = batch_size
        self.sample_rate = int(mel.sample_rate)

    @property
    def device(self):
        return next(self.model.parameters()).device

    # ---- features -> log-probabilities (what the recipe trains) -----------------------------
    def normalize(self, feats_db, lengths=None):
        """dB mels [B, n_mels, T] -> the model's input [B, n_mels, T]."""
        x = relative_db(feats_db.float(), self.range_db)
        if self.input_norm is not None:
            if lengths is None:
                lengths = torch.ones(x.shape[0], device=x.device)
            x = self.input_norm(x.transpose(1, 2), lengths.to(x.device)).transpose(1, 2)
        return x

    def forward(self, feats_db, lengths=None, augment=None):
        """Log-probabilities of dB mel features.

        Arguments
        ---------
        feats_db : torch.Tensor
            [B, n_mels, T] dB mels (padded with the dB floor).
        lengths : torch.Tensor, optional
            [B] relative lengths.
        augment : callable, optional
            Applied to the normalised features first (training: SpecAugment).

        Returns
        -------
        (torch.Tensor, torch.Tensor)
            [B, T', V] log-probabilities and [B] relative output lengths.
        """
        x = self.normalize(feats_db, lengths)
        if augment is not None:
            x = augment(x)
        log_probs = self.model(x, lengths)
        if lengths is None:
            return log_probs, torch.ones(x.shape[0], device=x.device)
        frames = (lengths.to(x.device) * x.shape[-1]).round().clamp(min=1)
        out = unwrap_model(self.model).output_frames(frames).clamp(max=log_probs.shape[1])
        return log_probs, out / log_probs.shape[1]

    def decode(self, log_probs, out_lengths):
        """Greedy CTC texts of [B, T', V] log-probabilities with [B] relative lengths."""
        ids = ctc_greedy_decode(log_probs, out_lengths, blank_id=self.vocabulary.blank_id)
        return [self.vocabulary.decode(seq) for seq in ids]

    # ---- waveforms -> text ------------------------------------------------------------------
    def features(self, wav):
        """dB mel [n_mels, frames] of a [samples] waveform at ``sample_rate``."""
        mel = self.mel.to(wav.device)
        return amplitude_to_db(mel(wav.unsqueeze(0)))[0]

    def _check(self, wav, sample_rate, index):
        if not isinstance(sample_rate, int) or isinstance(sample_rate, bool) or sample_rate <= 0:
            raise RecognizerInputError(
                f"sample_rate must be a positive integer (Hz), got {sample_rate!r}"
            )
        wav = torch.as_tensor(wav)
        if wav.dim() == 2 and wav.shape[0] == 1:
            wav = wav[0]
        if wav.dim() != 1:
            raise RecognizerInputError(
                f"waveform {index} has shape {tuple(wav.shape)}: give 1-D [samples] mono audio"
            )
        wav = wav.float()
        if not torch.isfinite(wav).all():
            raise RecognizerInputError(f"waveform {index} holds NaN or infinite samples")
        if sample_rate != self.sample_rate and wav.numel() > 0:
            wav = torchaudio.functional.resample(wav, sample_rate, self.sample_rate)
        return wav

    @torch.no_grad()
    def transcribe(self, wavs, sample_rate):
        """Texts of waveforms (greedy CTC; upper case, words separated by single spaces).

        Audio at another rate is resampled to ``sample_rate`` (16 kHz): audio recorded at a
        lower rate lacks the upper bands and is recognised worse. An empty or all-zero
        waveform is not run through the model: its text is ``""`` (scored as every
        reference character deleted).

        Arguments
        ---------
        wavs : list of torch.Tensor
            [samples] mono waveforms (or [1, samples]).
        sample_rate : int
            Their sample rate.

        Returns
        -------
        list of str

        Raises
        ------
        RecognizerInputError
            For a non-mono waveform, NaN / inf samples or a bad ``sample_rate`` (one line).
        """
        wavs = [self._check(w, sample_rate, i) for i, w in enumerate(wavs)]
        texts = [""] * len(wavs)
        audible = [i for i, w in enumerate(wavs) if w.numel() > 0 and bool(w.abs().max() > 0)]
        audible.sort(key=lambda i: wavs[i].numel())
        device = self.device
        for start in range(0, len(audible), self.batch_size):
            chunk = audible[start : start + self.batch_size]
            feats, lengths = pad_features([self.features(wavs[i].to(device)) for i in chunk])
            log_probs, out_lengths = self(feats.to(device), lengths.to(device))
            for i, text in zip(chunk, self.decode(log_probs.float().cpu(), out_lengths.cpu())):
                texts[i] = text
        return texts

    def transcribe_files(self, paths):
        """Texts of audio files (read with soundfile, resampled to ``sample_rate``)."""
        return self.transcribe(
            [read_audio(p, self.sample_rate)[0] for p in paths], self.sample_rate
        )

    def error_rates(self, wavs, texts, sample_rate):
        """CER / WER of the transcripts of ``wavs`` against ``texts``.

        Returns
        -------
        dict
            ``audiodiff.metrics.intelligibility.error_rates``: ``cer``, ``wer``, ``n``, the
            counts, and ``hypotheses`` (the recognised texts, in order).
        """
        hyps = self.transcribe(wavs, sample_rate)
        return {**error_rates(hyps, texts), "hypotheses": hyps}

    @classmethod
    def from_hparams(cls, exp_dir, device=None):
        """Loads the recogniser an experiment folder of ``recipes/speechocean762/asr`` holds.

        The folder holds ``hyperparams.yaml`` (written at training time) and ``save/CKPT+*``;
        the newest checkpoint's ``model`` is loaded, in eval mode on ``device`` (default:
        cuda when available).

        Arguments
        ---------
        exp_dir : str or os.PathLike
            E.g. ``results/asr_ctc/1986``.
        device : str or torch.device, optional
            Where to run.

        Returns
        -------
        Recognizer

        Raises
        ------
        FileNotFoundError
            If the folder has no ``hyperparams.yaml`` or no checkpoint (one-line message).
        """
        hparams = load_module_experiment(  # the caller's random state is kept
            exp_dir,
            "model",
            kind="a recogniser experiment folder",
            writer="recipes/speechocean762/asr/train.py",
            train="train the recogniser first",
        )
        model = hparams["model"]
        recognizer = cls(
            hparams["mel"],
            model,
            hparams["vocabulary"],
            input_norm=hparams.get("input_norm"),
            range_db=hparams.get("range_db"),
        )
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        return recognizer.to(device).eval()
