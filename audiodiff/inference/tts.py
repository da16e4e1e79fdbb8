"""Load a trained diffusion TTS experiment folder; synthesise text in a reference's voice, or
convert a source utterance to a reference's voice.

Bad input gets one clear line (:class:`TTSInputError`): an empty text, words, characters or
phonemes the model cannot read, text longer than the model supports, and a reference (or
source) that is missing, unreadable, silent, too short, or at too low a sample rate.
"""

import importlib
import json
import logging
import os

import torch
from speechbrain.utils.checkpoints import Checkpointer

from audiodiff.audio import AudioReadError, amplitude_to_db, read_audio
from audiodiff.inference.experiment import checkpoint_folder, read_experiment_hparams
from audiodiff.nets.tokenizers import TokenizationError, load_tokenizer
from audiodiff.training.tts import TTSInputError, collate_tts, synthesize_batch

logger = logging.getLogger(__name__)

TOKENIZER_FOLDER = "tokenizer"
SPEAKERS_FILE = "speakers.json"
MIN_REFERENCE_RATE = 8000
"""Lowest sample rate of a reference or source recording (FSDD's 8 kHz); others resample."""
SILENCE_RMS = 1e-4
"""A recording whose RMS is below this (-80 dBFS) counts as silent."""


def load_style_encoder(kind, folder, device="cpu"):
    """A pretrained style encoder (``audiodiff.inference.StyleEncoder`` interface).

    Arguments
    ---------
    kind : str
        ``"speaker"`` (the project's speaker encoder, ``SpeakerEncoder.from_hparams``),
        ``"clap"`` (``ClapAudioEncoder.from_pretrained``, a local CLAP folder) or
        ``"module.path:callable"`` (called with the folder; e.g. a user's own encoder).
    folder : str
        The encoder's folder.
    device : str
        Where it runs.

    Returns
    -------
    An object with ``sample_rate``, ``embedding_dim`` and ``embed_wav(wav, sample_rate)``.
    """
    if kind in ("speaker", "clap"):
        try:
            import audiodiff.inference as inference

            factory = (
                inference.SpeakerEncoder.from_hparams
                if kind == "speaker"
                else inference.ClapAudioEncoder.from_pretrained
            )
        except AttributeError:
            raise ImportError(
                f"style_encoder {kind!r} needs audiodiff.inference's speaker/CLAP encoders, "
                "which this installation lacks"
            ) from None
        encoder = factory(folder)
    elif ":" in str(kind):
        module, name = kind.split(":", 1)
        encoder = getattr(importlib.import_module(module), name)(folder)
    else:
        raise ValueError(f"unknown style_encoder {kind!r}: use speaker, clap or module:callable")
    if hasattr(encoder, "to"):
        encoder = encoder.to(device)
    if hasattr(encoder, "eval"):
        encoder.eval()
    return encoder


def load_tts_vocoder(folder, mel, fallback, device="cpu"):
    """The trained vocoder in ``folder`` (``audiodiff.inference.load_vocoder``), or ``fallback``.

    Arguments
    ---------
    folder : str or None
        A vocoder experiment folder; None: use ``fallback`` (Griffin-Lim).
    mel : audiodiff.audio.MelSpectrogram
        The TTS front-end (the vocoder must match it).
    fallback : audiodiff.audio.Vocoder
        Used without ``folder``.
    device : str
        Where the vocoder runs.

    Returns
    -------
    audiodiff.audio.Vocoder
    """
    if not folder:
        return fallback
    from audiodiff.inference.diffusion_vocoder import load_vocoder

    return load_vocoder(folder, mel.settings(), device)


def check_recording(wav, sample_rate, what, min_seconds):
    """Raise :class:`TTSInputError` for a silent or too short recording [samples]."""
    seconds = wav.numel() / sample_rate
    if seconds < min_seconds:
        raise TTSInputError(
            f"the {what} is too short: {seconds:.3f} s, at least {min_seconds} s is needed"
        )
    if float(wav.float().pow(2).mean().sqrt()) < SILENCE_RMS:
        raise TTSInputError(f"the {what} is silent (RMS below -80 dBFS): record some speech")


def read_recording(source, sample_rate, what, min_seconds, given_rate=None):
    """Mono waveform at ``sample_rate`` from a path or a [samples] tensor, checked.

    A tensor needs ``given_rate``; a file is read at its own rate. Rates below
    ``MIN_REFERENCE_RATE`` are refused; others are resampled.
    """
    if isinstance(source, (str, os.PathLike)):
        try:
            wav, rate = read_audio(source)
        except AudioReadError as err:
            raise TTSInputError(f"{what}: {err}") from None
    else:
        if given_rate is None:
            raise TTSInputError(
                f"the {what} is a waveform: give its sample rate (reference_sample_rate=...)"
            )
        wav, rate = torch.as_tensor(source).float().reshape(-1), int(given_rate)
    if rate < MIN_REFERENCE_RATE:
        raise TTSInputError(
            f"the {what} is sampled at {rate} Hz: at least {MIN_REFERENCE_RATE} Hz is needed "
            f"(the model works at {sample_rate} Hz)"
        )
    check_recording(wav, rate, what, min_seconds)
    if rate != sample_rate:
        import torchaudio

        wav = torchaudio.functional.resample(wav, rate, sample_rate)
    return wav, rate


class TTS:
    """Synthesise speech (or convert voices) with a trained ``recipes/FSDD/tts`` experiment.

    Arguments
    ---------
    hparams : dict
        The loaded hyperparameters (see :meth:`from_hparams`).
    tokenizer : object or None
        The experiment's tokenizer (None for the spectrogram route).
    speakers : list of str
        Training speakers (the table's rows).
    device : str
        Where to run.
    vocoder : audiodiff.audio.Vocoder, optional
        Replaces the experiment's vocoder.

    Example (needs a trained experiment; ``tests/recipes/test_fsdd_tts.py`` runs this path)::

        tts = TTS.from_hparams("results/tts_phoneme/1986")
        out = tts.synthesize("seven", "bundled_data/fsdd/recordings/7_theo_3.wav",
                             guidance_scale=2.0)
        out["wav"].shape, out["sample_rate"]
    """

    def __init__(self, hparams, tokenizer, speakers, device="cpu", vocoder=None):
        self.hparams = hparams
        self.tokenizer = tokenizer
        self.speakers = list(speakers)
        self.device = torch.device(device)
        modules = hparams["modules"]
        for name in ("model", "ema", "normalizer", "schedule", "vocoder"):
            if modules.get(name) is not None:
                modules[name].to(self.device).eval()
        self.modules = modules
        self.model = modules["ema"].averaged if modules.get("ema") is not None else modules["model"]
        self.vocoder = (vocoder or modules["vocoder"]).to(self.device)
        self.sample_rate = int(hparams["sample_rate"])
        self.route = self.model.route
        self.style_encoder = None
        if self.model.speaker_source == "embedding":
            self.style_encoder = load_style_encoder(
                hparams["style_encoder"], hparams["style_encoder_folder"], self.device
            )
        self.sentence_embedder = None
        if self.route == "sentence" and self.model.sentence_encoder is None:
            from audiodiff.nets.sentence_encoder import LocalSentenceEmbedder

            self.sentence_embedder = LocalSentenceEmbedder(
                hparams["sentence_model_folder"], device=str(self.device)
            )

    @classmethod
    def from_hparams(cls, source, device=None, checkpoint=None, vocoder=None):
        """Load the experiment folder ``source`` (newest checkpoint unless one is named).

        Arguments
        ---------
        source : str
            Folder written by ``train.py`` (``hyperparams.yaml``, ``save/CKPT+*``,
            ``tokenizer/``, ``speakers.json``).
        device : str, optional
            Default: cuda when available.
        checkpoint : str, optional
            A checkpoint folder name in ``save/``.
        vocoder : str, optional
            A trained vocoder folder (default: the experiment's ``vocoder`` folder, else
            Griffin-Lim).
        """
        source = os.path.abspath(source)
        hparams = read_experiment_hparams(source, example="results/tts_phoneme/1986")
        save_dir = checkpoint_folder(source, checkpoint)
        modules = hparams["modules"]
        recoverables = {k: modules[k] for k in ("model", "ema", "normalizer") if k in modules}
        checkpointer = Checkpointer(save_dir, recoverables=recoverables)
        if checkpoint is not None:
            ckpt = next(c for c in checkpointer.list_checkpoints() if c.path.name == checkpoint)
            checkpointer.load_checkpoint(ckpt)
        else:
            checkpointer.recover_if_possible()
        tokenizer = None
        if os.path.isdir(os.path.join(source, TOKENIZER_FOLDER)):
            tokenizer = load_tokenizer(os.path.join(source, TOKENIZER_FOLDER))
        speakers = []
        if os.path.isfile(os.path.join(source, SPEAKERS_FILE)):
            with open(os.path.join(source, SPEAKERS_FILE), encoding="utf-8") as f:
                speakers = list(json.load(f))
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        voc = None
        vocoder = vocoder or hparams.get("vocoder")  # the folder it was trained with
        if vocoder:
            voc = load_tts_vocoder(vocoder, hparams["mel"], hparams["griffin_lim"], device)
        return cls(hparams, tokenizer, speakers, device=device, vocoder=voc)

    # ---- inputs -----------------------------------------------------------------------------
    def tokens(self, text):
        """Token ids of ``text`` ([length] long), checked against the model's limits."""
        if self.tokenizer is None:
            raise TTSInputError("this model converts voices (spectrogram route): use convert()")
        try:
            ids = self.tokenizer(text)
        except TokenizationError as err:
            raise TTSInputError(str(err)) from None
        limit = self.hparams.get("max_tokens")
        if limit is not None and len(ids) > limit:
            raise TTSInputError(
                f"the text is {len(ids)} tokens long; this model supports at most {limit}: "
                "split it into shorter sentences"
            )
        return ids

    def mel_db(self, wav):
        """dB mel [n_mels, frames] of a [samples] waveform at the model's rate."""
        mel = self.hparams["mel"].to(self.device)
        return amplitude_to_db(mel(wav.to(self.device).unsqueeze(0)))[0].cpu()

    def _item(
        self,
        text=None,
        reference=None,
        speaker=None,
        source=None,
        reference_sample_rate=None,
        source_sample_rate=None,
    ):
        """One ``TTSDataset``-like item for a request (errors as ``TTSInputError``)."""
        hp = self.hparams
        min_seconds = float(hp.get("min_reference_seconds", 0.1))
        item = {"text": text, "id": None, "speaker": 0}
        if self.route == "spectrogram":
            if source is None:
                raise TTSInputError("this model converts voices: give a source recording")
            wav, _ = read_recording(
                source, self.sample_rate, "source", min_seconds, source_sample_rate
            )
            item["mel_db"] = self.mel_db(wav)
        else:
            if not isinstance(text, str) or not text.strip():
                raise TTSInputError("the text is empty: give at least one word")
            if self.sentence_embedder is not None:
                item["sentence_embedding"] = self.sentence_embedder([text])[0]
            else:
                item["tokens"] = self.tokens(text)
            item["mel_db"] = torch.zeros(1, 1)  # unused: the output length is predicted
        source_kind = self.model.speaker_source
        if source_kind == "table":
            if speaker is None:
                raise TTSInputError(
                    f"this model has a closed set of speakers: give speaker= one of "
                    f"{', '.join(self.speakers)}"
                )
            if str(speaker) not in self.speakers:
                raise TTSInputError(
                    f"unknown speaker {speaker!r}: this model knows {', '.join(self.speakers)}"
                )
            item["speaker"] = self.speakers.index(str(speaker))
            item["ref_mel_db"] = torch.zeros(1, 1)
            return item
        if reference is None:
            raise TTSInputError("give a reference recording of the target voice")
        if source_kind == "reference":
            wav, _ = read_recording(
                reference, self.sample_rate, "reference", min_seconds, reference_sample_rate
            )
            ref = self.mel_db(wav)
            max_ref = int(hp.get("max_reference_frames", ref.shape[-1]))
            item["ref_mel_db"] = ref[:, :max_ref]
        else:
            rate = self.style_encoder.sample_rate
            wav, _ = read_recording(
                reference, rate, "reference", min_seconds, reference_sample_rate
            )
            try:
                item["speaker_embedding"] = self.style_encoder.embed_wav(wav, rate).float().cpu()
            except Exception as err:  # StyleEncoderInputError and kin: one line
                raise TTSInputError(f"reference: {err}") from None
            item["ref_mel_db"] = torch.zeros(1, 1)
        return item

    # ---- synthesis --------------------------------------------------------------------------
    @torch.no_grad()
    def generate(
        self,
        items,
        *,
        guidance_scale=None,
        speaker_guidance_scale=None,
        steps=None,
        sampler=None,
        length_scale=None,
        seed=0,
        batch_size=64,
    ):
        """Synthesise a list of request items (from ``_item``): (mel_db list, wav list)."""
        hp = self.hparams
        generator = torch.Generator(device=self.device).manual_seed(seed)
        autocast = torch.bfloat16 if self.device.type == "cuda" else None
        mels, wavs = [], []
        for start in range(0, len(items), batch_size):
            batch = collate_tts(items[start : start + batch_size])
            mel_db, wav = synthesize_batch(
                self.model,
                batch,
                normalizer=self.modules["normalizer"],
                schedule=self.modules["schedule"],
                vocoder=self.vocoder,
                n_mels=hp["n_mels"],
                length_scale=hp.get("length_scale", 1.0) if length_scale is None else length_scale,
                max_frames=hp["max_frames"],
                prediction=hp["prediction"],
                sampler=sampler or hp["sampler"],
                steps=steps or hp["sample_steps"],
                guidance_scale=hp["guidance_scale"] if guidance_scale is None else guidance_scale,
                speaker_guidance_scale=(
                    hp["speaker_guidance_scale"]
                    if speaker_guidance_scale is None
                    else speaker_guidance_scale
                ),
                eta=hp.get("eta", 0.0),
                clip_x0=hp.get("clip_x0"),
                generator=generator,
                autocast_dtype=autocast,
            )
            mels += mel_db
            wavs += wav
        return mels, wavs

    def synthesize(
        self,
        text,
        reference_wav=None,
        *,
        speaker=None,
        reference_sample_rate=None,
        guidance_scale=None,
        speaker_guidance_scale=None,
        **kwargs,
    ):
        """Speak ``text`` in the voice of ``reference_wav`` (or of ``speaker`` for a table).

        Arguments
        ---------
        text : str
            What to say.
        reference_wav : str or torch.Tensor, optional
            A recording of the target voice (path, or [samples] with
            ``reference_sample_rate``); not needed with a closed-set table.
        speaker : str, optional
            A training speaker's name (models with a speaker table).
        reference_sample_rate : int, optional
            Rate of a tensor reference.
        guidance_scale : float, optional
            Classifier-free guidance scale of the content (and of the speaker, unless
            ``speaker_guidance_scale`` is given); default: the recipe's.
        speaker_guidance_scale : float, optional
            A separate scale for the speaker condition.
        **kwargs
            ``steps``, ``sampler``, ``length_scale``, ``seed`` (see :meth:`generate`).

        Returns
        -------
        dict
            ``wav`` [samples] at ``sample_rate``, ``mel_db`` [n_mels, frames], ``sample_rate``.
        """
        if self.route == "spectrogram":
            raise TTSInputError("this model converts voices (spectrogram route): use convert()")
        item = self._item(
            text=text,
            reference=reference_wav,
            speaker=speaker,
            reference_sample_rate=reference_sample_rate,
        )
        mels, wavs = self.generate(
            [item],
            guidance_scale=guidance_scale,
            speaker_guidance_scale=speaker_guidance_scale,
            **kwargs,
        )
        return {"wav": wavs[0], "mel_db": mels[0], "sample_rate": self.sample_rate}

    def convert(
        self,
        source_wav,
        reference_wav=None,
        *,
        speaker=None,
        source_sample_rate=None,
        reference_sample_rate=None,
        guidance_scale=None,
        speaker_guidance_scale=None,
        **kwargs,
    ):
        """Say what ``source_wav`` says in the voice of ``reference_wav`` (spectrogram route).

        The output has the source's number of frames. Arguments as :meth:`synthesize`, with
        ``source_wav`` (a path, or [samples] with ``source_sample_rate``) instead of a text.
        """
        if self.route != "spectrogram":
            raise TTSInputError(f"this model reads text ({self.route} route): use synthesize()")
        item = self._item(
            source=source_wav,
            reference=reference_wav,
            speaker=speaker,
            reference_sample_rate=reference_sample_rate,
            source_sample_rate=source_sample_rate,
        )
        mels, wavs = self.generate(
            [item],
            guidance_scale=guidance_scale,
            speaker_guidance_scale=speaker_guidance_scale,
            **kwargs,
        )
        return {"wav": wavs[0], "mel_db": mels[0], "sample_rate": self.sample_rate}
