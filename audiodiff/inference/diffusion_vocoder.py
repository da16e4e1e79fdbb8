"""A trained diffusion vocoder (recipes/LJSpeech/vocoder) as an ``audiodiff.audio.Vocoder``:
``DiffusionVocoder.from_hparams(DIR)``, ``.vocode(mel_db)``, ``.resynthesize(wav)``, and
``load_vocoder(folder, mel_settings)`` for recipes that replace Griffin-Lim with it."""

import logging
import math
import os

import torch
from speechbrain.utils.checkpoints import Checkpointer

from audiodiff.audio import DEFAULT_FLOOR, Vocoder, amplitude_to_db, floor_db
from audiodiff.inference.experiment import checkpoint_folder, read_experiment_hparams
from audiodiff.training.vocoding import choose_sampler, vocode_mel

logger = logging.getLogger(__name__)

# Keys of a training hparams file that inference must not instantiate (they write files).
# The MelSpectrogram settings two front-ends must share for a mel to be vocoded.
MEL_KEYS = ("sample_rate", "n_fft", "hop_length", "win_length", "n_mels", "f_min", "f_max", "power")


class VocoderMismatchError(ValueError):
    """A mel spectrogram (or a front-end) the vocoder was not trained on."""


def _same(key, ours, theirs):
    if key == "f_max":  # None means sample_rate / 2
        return ours == theirs or (ours is None) == (theirs is None)
    if isinstance(ours, (int, float)) and isinstance(theirs, (int, float)):
        return math.isclose(float(ours), float(theirs), rel_tol=1e-6, abs_tol=1e-9)
    return ours == theirs


def mel_settings_mismatch(ours, theirs):
    """The settings on which two mel front-ends differ: ``[(key, ours, theirs)]``.

    Compares ``MelSpectrogram.settings()`` keys (``MEL_KEYS``; ``win_length`` None = n_fft,
    ``f_max`` None = sample_rate / 2) and ``db_floor`` when both give it.

    Arguments
    ---------
    ours, theirs : dict
        Settings (e.g. ``MelSpectrogram(...).settings()``).

    Returns
    -------
    list of (str, object, object)

    Example
    -------
    >>> from audiodiff.audio import MelSpectrogram
    >>> mel_settings_mismatch(MelSpectrogram(22050).settings(), MelSpectrogram(16000).settings())
    [('sample_rate', 22050, 16000)]
    """

    def normal(settings):
        s = dict(settings)
        if s.get("win_length") is None:
            s["win_length"] = s.get("n_fft")
        if s.get("f_max") is None and s.get("sample_rate") is not None:
            s["f_max"] = s["sample_rate"] / 2
        return s

    ours, theirs = normal(ours), normal(theirs)
    keys = [k for k in MEL_KEYS if k in ours or k in theirs]
    if "db_floor" in ours and "db_floor" in theirs:
        keys.append("db_floor")
    return [
        (k, ours.get(k), theirs.get(k)) for k in keys if not _same(k, ours.get(k), theirs.get(k))
    ]


class DiffusionVocoder(Vocoder):
    """A mel-conditioned diffusion vocoder: dB mel [batch, n_mels, frames] -> wav
    [batch, frames * hop_length].

    Wraps the network (EMA weights), its noise schedule, its noise prior (DiffWave, PriorGrad
    or SpecGrad) and the mel front-end it was trained with; ``forward`` is ``vocode`` with the
    default settings, so it drops in wherever ``GriffinLimVocoder`` is used. Mels must come
    from the same front-end (``mel_settings``: sample rate, n_fft, hop, window, bands, band
    edges, magnitude power, ``amplitude_to_db`` with its -100 dB floor): ``check_mel`` refuses
    a wrong band count and values that cannot be this dB scale (below its floor, or all within
    [-12, 4]: a natural-log or normalised mel), ``check_mel_settings`` compares a front-end's
    settings.

    Arguments
    ---------
    model : torch.nn.Module
        The network ``model(x_t, t, mel=...)``.
    schedule : NoiseSchedule
        Its training schedule.
    prior : torch.nn.Module
        Its (fitted) noise prior.
    mel : audiodiff.audio.MelSpectrogram
        The front-end it was trained on.
    mel_offset_db, mel_scale_db : float
        The network input's affine map of the dB mel.
    sampler : str
        Default sampler ("fast" = DiffWave's 6 steps, "ddpm", "ddim", "dpm_solver").
    steps : int, optional
        Default steps (None: the sampler's own).
    fast_schedule : str or sequence
        Noise levels of the fast sampler ("diffwave6", "wg6").
    prediction : str
        What the network predicts.
    precondition : bool
        The network works in the prior's whitened domain (the experiment's
        ``prior_precondition``).
    compile : bool
        Run the network through ``torch.compile(mode="reduce-overhead")`` (CUDA graphs; the
        first call per input length compiles).
    seed : int
        Seed of the sampling noise (each call starts from it unless given a generator).

    Example (needs a trained experiment folder; ``tests/recipes`` runs this path)::

        vocoder = DiffusionVocoder.from_hparams("results/ljspeech_specgrad/1986")
        wav = vocoder.resynthesize(wav_22k)            # wav -> mel -> wav, same length
        wav = vocoder.vocode(mel_db, steps=50)         # the full 50-step chain
        wav = vocoder(mel_db)                          # as a Vocoder: 6 steps
    """

    def __init__(
        self,
        model,
        schedule,
        prior,
        mel,
        *,
        mel_offset_db=-40.0,
        mel_scale_db=40.0,
        sampler="fast",
        steps=None,
        fast_schedule="diffwave6",
        prediction="eps",
        precondition=False,
        compile=False,
        seed=0,
    ):
        super().__init__(mel.sample_rate, mel.hop_length)
        self.model = model.eval().requires_grad_(False)
        self.schedule = schedule
        self.prior = prior
        self.mel = mel
        self.mel_offset_db = float(mel_offset_db)
        self.mel_scale_db = float(mel_scale_db)
        self.sampler = sampler
        self.steps = steps
        self.fast_schedule = fast_schedule
        self.prediction = prediction
        self.precondition = bool(precondition)
        self.seed = seed
        # not a submodule (its parameters are the model's): kept out of state_dict and .to()
        compiled = torch.compile(self.model, mode="reduce-overhead") if compile else None
        object.__setattr__(self, "_compiled", compiled)
        self.experiment = None

    def train(self, mode=True):
        """Always in eval mode: a vocoder inside a training recipe's modules stays frozen."""
        return super().train(False)

    # ---- loading ------------------------------------------------------------------------------
    @classmethod
    def from_hparams(cls, source, device=None, checkpoint=None, compile=False, **kwargs):
        """Load a vocoder experiment folder (``hyperparams.yaml`` + ``save/CKPT+*``).

        The newest checkpoint's EMA weights (raw weights without EMA) and the prior's fitted
        statistics are loaded. ``kwargs`` override the constructor's defaults (``sampler``,
        ``steps``, ``fast_schedule``, ``seed``); the rest come from the recipe's hparams.

        Arguments
        ---------
        source : str
            The folder ``train.py`` wrote (e.g. ``results/ljspeech_specgrad/1986``).
        device : str, optional
            Default: cuda when available, else cpu.
        checkpoint : str, optional
            A checkpoint folder name (``CKPT+...``) instead of the newest.
        compile : bool
            CUDA graphs through ``torch.compile(mode="reduce-overhead")``.

        Returns
        -------
        DiffusionVocoder

        Raises
        ------
        FileNotFoundError
            If ``source`` is not an experiment folder or holds no checkpoint.
        """
        source = os.path.abspath(os.fspath(source))
        hparams = read_experiment_hparams(
            source,
            example="results/ljspeech_specgrad/1986",
            kind="a vocoder experiment folder",
            writer="recipes/LJSpeech/vocoder/train.py",
        )
        missing = [k for k in ("model", "schedule", "prior", "mel") if k not in hparams]
        if missing:
            raise FileNotFoundError(
                f"{source} is not a vocoder experiment: its hyperparams.yaml has no {missing}"
            )
        save_dir = checkpoint_folder(source, checkpoint)
        recoverables = {k: hparams[k] for k in ("model", "ema", "prior") if k in hparams}
        checkpointer = Checkpointer(save_dir, recoverables=recoverables)
        if checkpoint is not None:
            found = [c for c in checkpointer.list_checkpoints() if c.path.name == checkpoint]
            if not found:
                raise FileNotFoundError(f"no checkpoint {checkpoint} in {save_dir}")
            checkpointer.load_checkpoint(found[0])
        else:
            checkpointer.recover_if_possible()
        ema = hparams.get("ema")
        model = ema.averaged if ema is not None else hparams["model"]
        options = dict(
            mel_offset_db=hparams.get("mel_offset_db", -40.0),
            mel_scale_db=hparams.get("mel_scale_db", 40.0),
            sampler=hparams.get("sampler", "fast"),
            steps=hparams.get("sample_steps"),
            fast_schedule=hparams.get("fast_schedule", "diffwave6"),
            prediction=hparams.get("prediction", "eps"),
            precondition=hparams.get("prior_precondition", False),
        )
        options.update(kwargs)
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        vocoder = cls(
            model, hparams["schedule"], hparams["prior"], hparams["mel"], compile=compile, **options
        )
        vocoder.experiment = source
        return vocoder.to(device).eval()

    # ---- checks -------------------------------------------------------------------------------
    @property
    def mel_settings(self):
        """dict: the front-end a mel must come from (``MelSpectrogram.settings()`` + dB floor)."""
        return {**self.mel.settings(), "db_floor": DEFAULT_FLOOR, "scale": "20*log10"}

    def check_mel_settings(self, settings, what="the mel"):
        """Raise ``VocoderMismatchError`` unless ``settings`` (a front-end's
        ``MelSpectrogram.settings()``, optionally with ``db_floor``) match this vocoder's."""
        diff = mel_settings_mismatch(self.mel_settings, settings)
        if diff:
            listing = ", ".join(f"{k} {theirs} (vocoder: {ours})" for k, ours, theirs in diff)
            where = f" ({self.experiment})" if self.experiment else ""
            raise VocoderMismatchError(
                f"{what} was made with other mel settings than this vocoder{where} was trained "
                f"on: {listing}. Use a vocoder trained on the same front-end, or Griffin-Lim"
            )

    def check_mel(self, mel_db):
        """Raise ``VocoderMismatchError`` for a mel this vocoder cannot have been trained on:
        another band count, values below its dB floor (another scale), or every value within
        [-12, 4] (a natural-log or [-1, 1] / [0, 1]-normalised mel; a constant mel, e.g.
        digital silence, passes). Returns the [batch, n_mels, frames] mel."""
        if mel_db.dim() == 2:
            mel_db = mel_db.unsqueeze(0)
        if mel_db.dim() != 3:
            raise VocoderMismatchError(
                f"expected a mel [batch, n_mels, frames], got shape {tuple(mel_db.shape)}"
            )
        n_mels = self.mel.n_mels
        if mel_db.shape[1] != n_mels:
            raise VocoderMismatchError(
                f"the mel has {mel_db.shape[1]} bands, this vocoder was trained on {n_mels} "
                f"(mel settings {self.mel_settings})"
            )
        if not bool(torch.isfinite(mel_db).all()):
            raise VocoderMismatchError("the mel holds NaN or infinite values")
        low, high = float(mel_db.min()), float(mel_db.max())
        floor = floor_db()
        if low < floor - 1e-3:
            raise VocoderMismatchError(
                f"the mel goes down to {low:.1f}, below this vocoder's dB floor {floor:.0f}: "
                "pass amplitude_to_db(MelSpectrogram(...)(wav)) (20 log10 of a magnitude mel, "
                "floored at 1e-5), not another scale"
            )
        if -12.0 <= low and high <= 4.0 and high - low > 1e-3:
            raise VocoderMismatchError(
                f"the mel lies within [{low:.2f}, {high:.2f}]: it looks normalised (to [-1, 1] "
                "or [0, 1]) or natural-log, not dB (a dB mel of sound has bins far below "
                "-12 dB); pass the dB mel (SpectrogramNormalizer.denormalize first, or "
                "amplitude_to_db of the mel)"
            )
        return mel_db

    # ---- synthesis ----------------------------------------------------------------------------
    @property
    def device(self):
        """torch.device: where the network is."""
        return self.schedule.alpha_bar.device

    @torch.no_grad()
    def vocode(
        self, mel_db, *, steps=None, sampler=None, seed=None, generator=None, progress=False
    ):
        """Waveforms for dB mels.

        Arguments
        ---------
        mel_db : torch.Tensor
            [batch, n_mels, frames] or [n_mels, frames] dB mel from this vocoder's front-end.
        steps : int, optional
            Sampling steps: 6 (or None) = DiffWave's fast schedule, 50 (= T) the full chain,
            other values the ancestral chain respaced (see ``choose_sampler``).
        sampler : str, optional
            "fast", "ddpm", "ddim" or "dpm_solver" (default: from ``steps``).
        seed : int, optional
            Seed of the noise (default: the vocoder's ``seed``).
        generator : torch.Generator, optional
            Use this generator (on the vocoder's device) instead of a seeded one.
        progress : bool
            Progress bar over the steps.

        Returns
        -------
        torch.Tensor
            [batch, frames * hop_length] float32 waveforms, on the vocoder's device.
        """
        mel_db = self.check_mel(mel_db)
        if sampler is None and steps is None:
            sampler, steps = self.sampler, self.steps
        sampler, steps = choose_sampler(sampler, steps, self.fast_schedule)
        device = self.device
        if generator is None:
            generator = torch.Generator(device=device).manual_seed(
                self.seed if seed is None else seed
            )
        # ``is None``, never ``or``: bool() of torch.compile's OptimizedModule falls back to its
        # __len__, which raises TypeError for a module that is not a sequence (DiffWave)
        network = self.model if self._compiled is None else self._compiled
        return vocode_mel(
            network,
            self.schedule,
            self.prior,
            mel_db.to(device),
            hop_length=self.hop_length,
            mel_offset_db=self.mel_offset_db,
            mel_scale_db=self.mel_scale_db,
            sampler=sampler,
            steps=steps,
            fast_schedule=self.fast_schedule,
            prediction=self.prediction,
            precondition=self.precondition,
            generator=generator,
            autocast_dtype=torch.bfloat16 if device.type == "cuda" else None,
            progress=progress,
        )

    def forward(self, mel_db):
        """The ``Vocoder`` interface: ``vocode(mel_db)`` with the default settings."""
        return self.vocode(mel_db)

    @torch.no_grad()
    def mel_db_of(self, wav):
        """dB mel [batch, n_mels, frames] of waveforms [batch, samples] at this vocoder's rate."""
        wav = wav.to(self.device).float()
        return amplitude_to_db(self.mel.to(self.device)(wav))

    @torch.no_grad()
    def resynthesize(self, wav, sample_rate=None, **kwargs):
        """wav -> mel (this vocoder's front-end) -> wav, cut to the input's length.

        Arguments
        ---------
        wav : torch.Tensor
            [samples] or [batch, samples].
        sample_rate : int, optional
            The input's rate; another rate than the vocoder's is resampled to it (and the
            output is at the vocoder's rate).
        **kwargs
            ``steps``, ``sampler``, ``seed``, ``progress`` as in :meth:`vocode`.

        Returns
        -------
        torch.Tensor
            Same shape as ``wav`` (at the vocoder's rate), float32, on the CPU.
        """
        import torchaudio

        squeeze = wav.dim() == 1
        wav = wav.reshape(1, -1) if squeeze else wav
        if sample_rate is not None and int(sample_rate) != self.sample_rate:
            wav = torchaudio.functional.resample(wav.float(), int(sample_rate), self.sample_rate)
        out = self.vocode(self.mel_db_of(wav), **kwargs)[:, : wav.shape[-1]].cpu()
        return out[0] if squeeze else out

    def extra_repr(self):
        return (
            f"sample_rate={self.sample_rate}, hop_length={self.hop_length}, "
            f"sampler={self.sampler}, prior={type(self.prior).__name__}"
        )


def load_vocoder(vocoder, mel_settings=None, device=None, **kwargs):
    """The vocoder a recipe should use: a trained diffusion vocoder from its folder, checked
    against the recipe's mel front-end, or an already built ``Vocoder`` as it is.

    This is the one entry point for recipes that offer ``--vocoder DIR`` (digit recipes,
    sentence-spectrogram and TTS recipes): pass the folder and the recipe's
    ``hparams["mel"].settings()``; a vocoder trained on another front-end raises
    ``VocoderMismatchError`` naming each setting that differs.

    Arguments
    ---------
    vocoder : str, os.PathLike or audiodiff.audio.Vocoder
        An experiment folder of ``recipes/LJSpeech/vocoder`` (or a Vocoder object, returned
        unchanged after the settings check where it has ``check_mel_settings``).
    mel_settings : dict, optional
        The recipe's mel settings (``MelSpectrogram.settings()``); None: not checked.
    device : str, optional
        Device of the loaded vocoder (default: cuda when available).
    **kwargs
        Passed to :meth:`DiffusionVocoder.from_hparams` (``compile``, ``steps``, ...).

    Returns
    -------
    audiodiff.audio.Vocoder

    Raises
    ------
    FileNotFoundError
        If the folder is not a trained vocoder experiment.
    VocoderMismatchError
        If its mel settings differ from ``mel_settings``.

    Example
    -------
    >>> from audiodiff.audio import GriffinLimVocoder
    >>> gl = GriffinLimVocoder(n_iter=2)
    >>> load_vocoder(gl) is gl
    True
    """
    if isinstance(vocoder, Vocoder):
        if mel_settings is not None and hasattr(vocoder, "check_mel_settings"):
            vocoder.check_mel_settings(mel_settings, what="this recipe's mel front-end")
        return vocoder
    loaded = DiffusionVocoder.from_hparams(os.fspath(vocoder), device=device, **kwargs)
    if mel_settings is not None:
        loaded.check_mel_settings(mel_settings, what="this recipe's mel front-end")
    logger.info(f"Vocoder: {loaded.experiment} ({type(loaded.prior).__name__})")
    return loaded


def resolve_vocoder(hparams, device="cpu"):
    """Replace a folder given as a recipe's ``vocoder`` (``--vocoder DIR`` on the command line
    overrides the YAML's Griffin-Lim with a path) by the loaded, checked diffusion vocoder, in
    ``hparams["vocoder"]`` and ``hparams["modules"]["vocoder"]``.

    Arguments
    ---------
    hparams : dict
        Loaded recipe hparams with ``vocoder`` and ``mel``.
    device : str
        Where to load it (a Brain moves its modules later).

    Returns
    -------
    dict
        ``hparams`` (changed in place).

    Example
    -------
    >>> from audiodiff.audio import GriffinLimVocoder, MelSpectrogram
    >>> hp = {"vocoder": GriffinLimVocoder(n_iter=2), "mel": MelSpectrogram()}
    >>> resolve_vocoder(hp)["vocoder"] is hp["vocoder"]
    True
    """
    value = hparams.get("vocoder")
    if isinstance(value, (str, os.PathLike)):
        mel = hparams.get("mel")
        settings = mel.settings() if hasattr(mel, "settings") else None
        vocoder = load_vocoder(value, settings, device=device)
        hparams["vocoder"] = vocoder
        if isinstance(hparams.get("modules"), dict) and "vocoder" in hparams["modules"]:
            hparams["modules"]["vocoder"] = vocoder
    return hparams
