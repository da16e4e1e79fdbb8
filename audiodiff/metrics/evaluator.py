"""Score generated spoken digits (wav files) with a trained evaluation classifier.

``SampleEvaluator.from_experiment(folder)`` loads a folder written by the classifier recipe
(``recipes/AudioMNIST/classifier``): ``hyperparams.yaml`` (mel settings, model), ``labels.json``
(digit and speaker names) and ``save/CKPT+*`` (model weights and the dB normaliser, best
validation accuracy). Each wav is read at any sample rate, resampled to the classifier's rate,
turned into the dB mel features the classifier was trained on (left-aligned, padded or cropped
to its frame count with the -100 dB floor), normalised and classified. A classifier trained
with ``level_range_db`` (per-clip level normalisation, ``audiodiff.audio.relative_db``) gets
its features the same way, so its scores do not depend on the level the audio is at (e.g.
peak-normalised samples against real clips at their recorded level).

Metrics (see ``audiodiff.metrics.generative``): label accuracy against the labels in the file
names (``digit7_spk3_000.wav``, ``audiodiff.training.samples``); IS, mIS and AM on the digit
probabilities; FID between the embeddings of the samples and of the real test split; NDB/K
against the real train split. The real splits' outputs are computed once from the
classifier's prepared data and cached in ``folder/reference_features.pt``.
"""

import contextlib
import glob
import json
import os
import random

import numpy as np
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.checkpoints import Checkpointer

from audiodiff.audio import amplitude_to_db, floor_db, pad_or_crop, read_audio, relative_db
from audiodiff.data import compute_features
from audiodiff.data.cache import load_cache, save_cache
from audiodiff.metrics.generative import (
    am_score,
    frechet_distance,
    inception_score,
    label_accuracy,
    modified_inception_score,
    ndb_score,
)
from audiodiff.training.samples import parse_sample_name

TRAIN_HINT = (
    "train one with: python recipes/AudioMNIST/classifier/train.py "
    "recipes/AudioMNIST/classifier/hparams/train.yaml (then pass its output folder, e.g. "
    "results/classifier_fsdd/1986)"
)
REFERENCE_FILE = "reference_features.pt"
_REFERENCE_VERSION = 1
# Keys of the training hparams that loading must not instantiate (they write files).
_TRAINING_ONLY = {"checkpointer": None, "train_logger": None}
SCALAR_METRICS = (
    "digit_acc",
    "speaker_acc",
    "max_speaker_share",
    "is",
    "mis",
    "am",
    "fid",
    "ndb_k",
)
"""The single-number metrics, in the order tools print them."""


class EvaluationError(Exception):
    """A classifier folder or a sample folder cannot be used (the message says why)."""


@contextlib.contextmanager
def _kept_rng_state():
    """Restore the Python, NumPy and torch (CPU + CUDA) random states on exit.

    Loading hyperparams.yaml re-runs its ``seed_everything``; a training run that loads the
    evaluator at an epoch end must not have its random stream reset.
    """
    py_state, np_state = random.getstate(), np.random.get_state()
    cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
    devices = list(range(torch.cuda.device_count())) if cuda else []
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


def sample_paths(folder):
    """The wav files of a sample folder: ``folder/wav/*.wav``, else ``folder/*.wav``, sorted.

    Arguments
    ---------
    folder : str
        A folder written by ``write_sample_folder`` / ``generate.py``, or any folder of wavs.

    Returns
    -------
    list of str

    Raises
    ------
    EvaluationError
        If the folder does not exist or holds no wav files.

    Example
    -------
    >>> import tempfile
    >>> sample_paths(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    audiodiff.metrics.evaluator.EvaluationError: no .wav files in ...
    """
    if not os.path.isdir(folder):
        raise EvaluationError(f"sample folder '{folder}' not found")
    for sub in (os.path.join(folder, "wav"), folder):
        paths = sorted(glob.glob(os.path.join(glob.escape(sub), "*.wav")))
        if paths:
            return paths
    raise EvaluationError(f"no .wav files in {folder} (nor in {os.path.join(folder, 'wav')})")


def sample_label_names(folder):
    """Label names saved beside generated samples (``labels.json``), or {} when absent.

    Accepts the sample-folder format (``{"samples": ..., "label_names": {...}}``) and the
    experiment format (``{"digit": [...], "speaker": [...]}``).

    Example
    -------
    >>> import tempfile
    >>> sample_label_names(tempfile.mkdtemp())
    {}
    """
    path = os.path.join(folder, "labels.json")
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as err:
        raise EvaluationError(f"cannot read {path}: {err}") from None
    return data.get("label_names", data) if isinstance(data, dict) else {}


def speaker_shares(speaker_probs, speakers):
    """Fraction of the samples whose most probable speaker (argmax) is each speaker.

    Arguments
    ---------
    speaker_probs : torch.Tensor
        [N, num_speakers] probabilities (or logits) of the classifier's speaker head.
    speakers : list of str
        Speaker names in index order (index numbers as names when empty).

    Returns
    -------
    dict
        ``speaker_shares``: {name: fraction} over every speaker (0 included), summing to 1;
        ``max_speaker_share``: the largest fraction; ``max_speaker``: its name.

    Example
    -------
    >>> probs = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    >>> speaker_shares(probs, ["jackson", "theo"])
    {'speaker_shares': {'jackson': 0.75, 'theo': 0.25}, 'max_speaker_share': 0.75, \
'max_speaker': 'jackson'}
    """
    num = speaker_probs.shape[-1]
    names = [str(s) for s in speakers] if speakers else [str(i) for i in range(num)]
    if len(names) != num or speaker_probs.shape[0] == 0:
        raise ValueError(f"{len(names)} speaker names for {num} speaker outputs, or no samples")
    counts = torch.bincount(speaker_probs.argmax(-1), minlength=num).double()
    shares = (counts / counts.sum()).tolist()
    best = max(range(num), key=shares.__getitem__)
    return {
        "speaker_shares": dict(zip(names, shares)),
        "max_speaker_share": shares[best],
        "max_speaker": names[best],
    }


class SampleEvaluator:
    """Classifier-based scores of generated spoken digits.

    Arguments
    ---------
    model : audiodiff.nets.SpectrogramClassifier
        Trained classifier (``forward(mel) -> {"digit", "speaker", "embedding"}``).
    normalizer : audiodiff.audio.SpectrogramNormalizer
        The fitted dB normaliser the classifier was trained with.
    mel : torch.nn.Module
        Mel transform of the training features (``MelSpectrogram``).
    num_frames : int
        Frames per example (features are padded or cropped to it).
    sample_rate : int
        Sample rate of the features; every file is resampled to it.
    speakers : list of str
        Speaker names of the classifier's speaker head, in index order.
    reference : dict, optional
        Outputs on the real splits (see :meth:`reference_features`); computed on demand.
    reference_loader : callable, optional
        No-argument function returning ``reference`` (used by :meth:`from_experiment`).
    level_range_db : float, optional
        The classifier's ``level_range_db``: None (features at the recorded level), or the
        range of the per-clip level normalisation (``audiodiff.audio.relative_db``) applied to
        the dB features before the normaliser.
    device : str or torch.device
        Where the classifier runs.

    Example
    -------
    >>> from audiodiff.audio import MelSpectrogram, SpectrogramNormalizer
    >>> from audiodiff.nets import SpectrogramClassifier
    >>> model = SpectrogramClassifier(n_mels=80, num_speakers=2, channels=(4, 8))
    >>> evaluator = SampleEvaluator(model, SpectrogramNormalizer(-100.0, 0.0), MelSpectrogram(),
    ...                             num_frames=16, sample_rate=16000, speakers=["a", "b"])
    >>> out = evaluator.predict(evaluator.features_from_waveforms([torch.zeros(4000)]))
    >>> out["digit_probs"].shape, out["embedding"].shape
    (torch.Size([1, 10]), torch.Size([1, 128]))
    """

    def __init__(
        self,
        model,
        normalizer,
        mel,
        *,
        num_frames,
        sample_rate,
        speakers,
        reference=None,
        reference_loader=None,
        level_range_db=None,
        device="cpu",
    ):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.normalizer = normalizer.to(self.device)
        self.mel = mel.to(self.device)
        self.num_frames = int(num_frames)
        self.sample_rate = int(sample_rate)
        self.speakers = [str(s) for s in speakers]
        self._reference = reference
        self._reference_loader = reference_loader
        self.level_range_db = None if level_range_db is None else float(level_range_db)

    # ---- loading ----------------------------------------------------------------------------
    @classmethod
    def from_experiment(cls, folder, device=None, checkpoint=None):
        """Load a classifier folder written by ``recipes/AudioMNIST/classifier/train.py``.

        Arguments
        ---------
        folder : str
            The recipe's output folder (holds ``hyperparams.yaml``, ``labels.json``,
            ``save/CKPT+*``).
        device : str, optional
            Default: cuda when available, else cpu.
        checkpoint : str, optional
            Name of a checkpoint folder in ``save/``; default: best validation accuracy.

        Returns
        -------
        SampleEvaluator

        Raises
        ------
        EvaluationError
            If the folder is not a trained classifier experiment (the message says how to
            train one).
        """
        folder = os.path.abspath(os.fspath(folder))
        hparams_path = os.path.join(folder, "hyperparams.yaml")
        if not os.path.isfile(hparams_path):
            problem = "not found" if not os.path.isdir(folder) else "has no hyperparams.yaml"
            raise EvaluationError(f"classifier folder '{folder}' {problem}: {TRAIN_HINT}")
        try:
            with _kept_rng_state(), open(hparams_path, encoding="utf-8") as f:
                hparams = load_hyperpyyaml(f, _TRAINING_ONLY, overrides_must_match=False)
        except Exception as err:  # a YAML of another recipe, or a broken one
            raise EvaluationError(f"cannot load {hparams_path}: {err}") from None
        missing = [k for k in ("model", "normalizer", "mel", "num_frames") if k not in hparams]
        if missing or not hasattr(hparams["model"], "digit_head"):
            raise EvaluationError(
                f"{folder} is not a classifier experiment (hyperparams.yaml lacks a "
                f"SpectrogramClassifier model, normalizer, mel or num_frames): {TRAIN_HINT}"
            )
        save_dir = os.path.join(folder, "save")
        recoverables = {"model": hparams["model"], "normalizer": hparams["normalizer"]}
        checkpointer = Checkpointer(save_dir, recoverables=recoverables)
        checkpoints = checkpointer.list_checkpoints() if os.path.isdir(save_dir) else []
        if checkpoint is not None:
            chosen = [c for c in checkpoints if c.path.name == checkpoint]
        elif checkpoints:  # best validation accuracy, else the newest
            scored = any("acc" in c.meta for c in checkpoints)
            chosen = [checkpointer.find_checkpoint(max_key="acc" if scored else None)]
        else:
            chosen = []
        if not chosen:
            what = f"checkpoint {checkpoint}" if checkpoint else "checkpoint"
            raise EvaluationError(
                f"no {what} in {save_dir}: train the classifier first (with --debug, add "
                f"--debug_persistently so the checkpoint is kept); {TRAIN_HINT}"
            )
        checkpointer.load_checkpoint(chosen[0])
        names = sample_label_names(folder)
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        evaluator = cls(
            hparams["model"],
            hparams["normalizer"],
            hparams["mel"],
            num_frames=hparams["num_frames"],
            sample_rate=hparams.get("sample_rate", getattr(hparams["mel"], "sample_rate", 16000)),
            speakers=names.get("speaker", []),
            level_range_db=hparams.get("level_range_db"),
            device=device,
        )
        prepare = hparams.get("prepare_folder")
        candidates = [prepare] if prepare else []
        candidates.append(os.path.join(folder, "prepared"))
        evaluator._reference_loader = lambda: evaluator._cached_reference(
            os.path.join(folder, REFERENCE_FILE), chosen[0].path.name, candidates
        )
        return evaluator

    def _cached_reference(self, cache_path, checkpoint_name, prepare_candidates):
        """Load ``cache_path`` if it belongs to ``checkpoint_name``, else compute and save it."""
        key = {"version": _REFERENCE_VERSION, "checkpoint": checkpoint_name}
        if self.level_range_db is not None:  # (older caches, without the key, stay valid)
            key["level_range_db"] = self.level_range_db
        cached = load_cache(cache_path, key, "reference features")
        if cached is not None:
            return cached
        for prepare in prepare_candidates:
            manifests = {s: os.path.join(prepare, f"{s}.json") for s in ("train", "test")}
            if all(os.path.isfile(p) for p in manifests.values()):
                break
        else:
            raise EvaluationError(
                f"no reference features in {cache_path} and no prepared train.json/test.json "
                f"in {' or '.join(prepare_candidates)}: re-run the classifier recipe"
            )
        reference = self.reference_features(manifests)
        save_cache(cache_path, key, reference)
        return reference

    # ---- features and predictions -----------------------------------------------------------
    def classifier_input(self, mel_db):
        """The classifier's input from dB mel features: level-normalised (with
        ``level_range_db``), then normalised to [-1, 1], as in its training.

        Arguments
        ---------
        mel_db : torch.Tensor
            [N, n_mels, frames] dB features (``amplitude_to_db``, padded with the floor).

        Returns
        -------
        torch.Tensor
            [N, n_mels, frames] normalised features.
        """
        return self.normalizer.normalize(relative_db(mel_db, self.level_range_db))

    @torch.no_grad()
    def features_from_waveforms(self, wavs):
        """Normalised classifier input from waveforms at ``self.sample_rate``.

        Arguments
        ---------
        wavs : list of torch.Tensor
            [samples] waveforms (any lengths).

        Returns
        -------
        torch.Tensor
            [N, n_mels, num_frames] normalised features, on ``self.device``.
        """
        feats = []
        for wav in wavs:
            db = amplitude_to_db(self.mel(wav.to(self.device).unsqueeze(0)))[0]
            feats.append(pad_or_crop(db, self.num_frames, pad_value=floor_db()))
        return self.classifier_input(torch.stack(feats))

    def features_from_files(self, paths):
        """Normalised classifier input of audio files (any sample rate; resampled).

        Raises
        ------
        audiodiff.audio.AudioReadError
            If a file is missing, corrupt or empty.
        """
        wavs = [read_audio(path, sample_rate=self.sample_rate)[0] for path in paths]
        return self.features_from_waveforms(wavs)

    @torch.no_grad()
    def predict(self, features, batch_size=256):
        """Digit/speaker probabilities (float64 softmax) and embeddings of normalised features.

        Arguments
        ---------
        features : torch.Tensor
            [N, n_mels, frames] normalised features.
        batch_size : int
            Examples per forward pass.

        Returns
        -------
        dict
            ``digit_probs`` [N, num_digits] float64, ``speaker_probs`` [N, num_speakers]
            float64 or None, ``embedding`` [N, D] float32; all on the CPU.
        """
        out = {"digit_probs": [], "speaker_probs": [], "embedding": []}
        for start in range(0, len(features), batch_size):
            pred = self.model(features[start : start + batch_size].to(self.device))
            out["digit_probs"].append(pred["digit"].double().softmax(-1).cpu())
            if pred["speaker"] is not None:
                out["speaker_probs"].append(pred["speaker"].double().softmax(-1).cpu())
            out["embedding"].append(pred["embedding"].float().cpu())
        return {k: torch.cat(v) if v else None for k, v in out.items()}

    def reference_features(self, manifests):
        """Classifier outputs on the real train and test splits (the metrics' reference).

        Arguments
        ---------
        manifests : dict
            ``{"train": path, "test": path}`` JSON manifests; mel features are cached next to
            them as ``features_<split>.pt`` (the classifier recipe's cache).

        Returns
        -------
        dict
            ``{"train": outputs, "test": outputs}`` with ``digit_probs`` and ``embedding``
            (see :meth:`predict`).
        """
        reference = {}
        for split in ("train", "test"):
            feats = compute_features(
                manifests[split],
                self.mel,
                sample_rate=self.sample_rate,
                num_frames=self.num_frames,
                cache_path=os.path.join(os.path.dirname(manifests[split]), f"features_{split}.pt"),
                progress=False,
            )
            x = self.classifier_input(feats["mel_db"].to(self.device))
            pred = self.predict(x)
            reference[split] = {k: pred[k] for k in ("digit_probs", "embedding")}
        return reference

    def reference(self):
        """The cached outputs on the real splits (computed on first use)."""
        if self._reference is None:
            if self._reference_loader is None:
                raise EvaluationError(
                    "this evaluator has no reference features: build it with "
                    "SampleEvaluator.from_experiment or pass reference="
                )
            self._reference = self._reference_loader()
        return self._reference

    # ---- metrics ----------------------------------------------------------------------------
    def _speaker_targets(self, labels, speaker_names):
        """Map each sample's speaker label to the classifier's index (-1: no label, -2: unknown)."""
        targets = []
        for lab in labels:
            if "speaker" not in lab:
                targets.append(-1)
                continue
            index = lab["speaker"]
            if speaker_names:
                if not 0 <= index < len(speaker_names):
                    targets.append(-2)
                    continue
                name = str(speaker_names[index])
                targets.append(self.speakers.index(name) if name in self.speakers else -2)
            else:
                targets.append(index if 0 <= index < len(self.speakers) else -2)
        return torch.tensor(targets, dtype=torch.long)

    def speaker_shares(self, outputs):
        """Share of the samples heard as each of the classifier's speakers.

        Arguments
        ---------
        outputs : dict
            :meth:`predict` output with ``speaker_probs``.

        Returns
        -------
        dict
            See :func:`speaker_shares` (names from ``self.speakers``).

        Raises
        ------
        EvaluationError
            If the classifier has no speaker head.
        """
        if outputs.get("speaker_probs") is None:
            raise EvaluationError("the classifier has no speaker head (trained without speakers)")
        return speaker_shares(outputs["speaker_probs"], self.speakers)

    def evaluate_outputs(self, outputs, labels, speaker_names=None, num_bins=50):
        """Metrics of classifier outputs (see :meth:`predict`) of N generated samples.

        Arguments
        ---------
        outputs : dict
            ``digit_probs``, ``speaker_probs`` and ``embedding`` of the samples.
        labels : list of dict
            The labels each sample was generated for (``{}`` for unconditional ones).
        speaker_names : list of str, optional
            Names of the generator's speaker indices; None: the classifier's own order.
        num_bins : int
            NDB bins K (at most the number of train examples).

        Returns
        -------
        dict
            ``num_samples``; ``digit_acc``, ``digit_acc_per_digit``, ``num_digit_scored``
            (samples with a digit label); ``speaker_acc``, ``num_speaker_scored``,
            ``num_speaker_unknown`` (speakers the classifier does not know); ``is``, ``mis``,
            ``am``, ``fid`` (None for fewer than 2 samples), ``ndb``, ``ndb_k``,
            ``ndb_bins``; ``predicted_digit_histogram``; with a speaker head,
            ``speaker_shares``, ``max_speaker_share``, ``max_speaker`` (:func:`speaker_shares`).
        """
        probs, embedding = outputs["digit_probs"], outputs["embedding"]
        num = probs.shape[0]
        if len(labels) != num:
            raise ValueError(f"{len(labels)} label dicts for {num} samples")
        result = {"num_samples": num}
        pred_digit = probs.argmax(-1)
        has_digit = torch.tensor(["digit" in lab for lab in labels], dtype=torch.bool)
        if has_digit.any():
            target = torch.tensor([lab.get("digit", -1) for lab in labels])
            result["digit_acc"] = label_accuracy(pred_digit[has_digit], target[has_digit])
            result["num_digit_scored"] = int(has_digit.sum())
            result["digit_acc_per_digit"] = {
                str(d): label_accuracy(pred_digit[target == d], target[target == d])
                for d in sorted(set(target[has_digit].tolist()))
            }
        speaker_target = self._speaker_targets(labels, speaker_names)
        if outputs.get("speaker_probs") is not None and (speaker_target != -1).any():
            known = speaker_target >= 0
            result["num_speaker_scored"] = int(known.sum())
            result["num_speaker_unknown"] = int((speaker_target == -2).sum())
            if known.any():
                pred_speaker = outputs["speaker_probs"].argmax(-1)
                result["speaker_acc"] = label_accuracy(pred_speaker[known], speaker_target[known])
        if outputs.get("speaker_probs") is not None:
            result.update(self.speaker_shares(outputs))
        reference = self.reference()
        result["is"] = inception_score(probs)
        result["mis"] = modified_inception_score(probs)
        result["am"] = am_score(probs, reference["train"]["digit_probs"])
        result["fid"] = (
            frechet_distance(embedding, reference["test"]["embedding"]) if num >= 2 else None
        )
        train_embedding = reference["train"]["embedding"]
        bins = min(num_bins, train_embedding.shape[0])
        ndb = ndb_score(train_embedding, embedding, num_bins=bins)
        result.update(ndb=ndb["ndb"], ndb_k=ndb["ndb_over_k"], ndb_bins=ndb["bins"])
        hist = torch.bincount(pred_digit, minlength=probs.shape[1])
        result["predicted_digit_histogram"] = hist.tolist()
        return result

    def evaluate_files(self, paths, labels=None, speaker_names=None, num_bins=50):
        """Metrics of audio files; labels parsed from their names unless given.

        Arguments
        ---------
        paths : list of str
            Audio files (any sample rate).
        labels : list of dict, optional
            Labels per file; default: ``parse_sample_name`` of each file name.
        speaker_names : list of str, optional
            Names of the speaker indices in the labels (see :meth:`evaluate_outputs`).
        num_bins : int
            NDB bins.

        Returns
        -------
        dict
            See :meth:`evaluate_outputs`.
        """
        if not paths:
            raise EvaluationError("no audio files to evaluate")
        labels = [parse_sample_name(p) for p in paths] if labels is None else labels
        outputs = self.predict(self.features_from_files(paths))
        return self.evaluate_outputs(outputs, labels, speaker_names, num_bins)

    def evaluate_folder(self, folder, num_bins=50):
        """Metrics of a sample folder (``folder/wav/*.wav`` + ``labels.json``).

        Example (needs a trained classifier; ``tests/unittests/test_metrics_evaluator.py``
        runs this path)::

            evaluator = SampleEvaluator.from_experiment("results/classifier_fsdd/1986")
            evaluator.evaluate_folder("samples/10")["digit_acc"]
        """
        names = sample_label_names(folder).get("speaker")
        return self.evaluate_files(sample_paths(folder), speaker_names=names, num_bins=num_bins)


def format_table(result, title=None):
    """A readable two-column table of the scalar metrics of ``result``.

    Example
    -------
    >>> print(format_table({"num_samples": 4, "digit_acc": 0.5, "fid": 12.345}))
    metric          value
    num_samples         4
    digit_acc      50.00%
    fid            12.345
    """
    rows = [("num_samples", str(result.get("num_samples", "")))]
    for key in SCALAR_METRICS:
        value = result.get(key)
        if value is None:
            continue
        percent = key.endswith(("_acc", "_share"))
        text = f"{100 * value:.2f}%" if percent else f"{value:.3f}"
        rows.append((key, text))
    width = max(12, *(len(k) + 1 for k, _ in rows))
    lines = [f"{title}"] if title else []
    lines.append(f"{'metric':<{width}}{'value':>9}")
    lines += [f"{k:<{width}}{v:>9}" for k, v in rows]
    return "\n".join(lines)
