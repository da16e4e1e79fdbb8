"""Variable-length dB mel features of many utterances in one tensor, and batches cut from it.

A ``FeatureBank`` holds every utterance's ``[frames, n_mels]`` dB mel one after the other
(``features[offsets[i]:offsets[i + 1]]`` is utterance ``i``) with per-utterance metadata
(``id``, ``speaker``, ``split``, ...) and the settings it was computed with. It is built from
manifests (audio read, resampled, leading/trailing silence trimmed, mel, dB) or loaded from a
compact file: dB quantised to ``uint8`` steps, coded as frame-to-frame differences and
LZMA-compressed (about 1.2 kB per second of speech at 40 bands and 62.5 frames/s), small
enough to carry to a GPU machine that has no copy of the corpus. ``RandomCropBatches`` cuts
speaker-balanced random crops from it, a whole batch per item, with tensor ops only (no
per-utterance Python work).
"""

import io
import logging
import lzma
import os

import torch
from tqdm import tqdm

from audiodiff.audio.activity import trim_silence
from audiodiff.audio.io import AudioReadError, read_audio
from audiodiff.audio.mel import amplitude_to_db, floor_db
from audiodiff.data.manifest import read_manifest, warn_skipped

logger = logging.getLogger(__name__)

BANK_VERSION = 1


class FeatureBankError(ValueError):
    """A feature-bank file is missing, unreadable, or was built with other settings."""


class FeatureBank:
    """dB mel features of variable-length utterances, concatenated along time.

    Arguments
    ---------
    features : torch.Tensor
        [total_frames, n_mels] float dB mels (time first), utterances one after the other.
    offsets : torch.Tensor or list of int
        [N + 1] start frame of each utterance, then ``total_frames``.
    meta : dict
        Field name -> list of N values (str or int); ``speaker`` at least.
    settings : dict, optional
        How the features were made (mel settings, trimming); compared by users of the bank.

    Example
    -------
    >>> bank = FeatureBank(torch.randn(7, 4), [0, 3, 7], {"speaker": ["a", "b"], "id": ["x", "y"]})
    >>> len(bank), bank.n_mels, bank.lengths.tolist(), bank.utterance(1).shape
    (2, 4, [3, 4], torch.Size([4, 4]))
    >>> bank.indices(speaker="b")
    [1]
    """

    def __init__(self, features, offsets, meta, settings=None, step_db=None):
        self.features = torch.as_tensor(features, dtype=torch.float32)
        self.step_db = step_db  # the quantisation step of a bank read from a file
        self.offsets = torch.as_tensor(offsets, dtype=torch.long)
        self.meta = {k: list(v) for k, v in meta.items()}
        self.settings = dict(settings or {})
        if self.features.dim() != 2 or self.offsets.dim() != 1 or len(self.offsets) < 1:
            raise ValueError("features must be [total_frames, n_mels] and offsets [N + 1]")
        if int(self.offsets[-1]) != self.features.shape[0]:
            raise ValueError("offsets[-1] must equal the number of feature frames")
        for key, values in self.meta.items():
            if len(values) != len(self):
                raise ValueError(f"meta[{key!r}] has {len(values)} values for {len(self)} items")

    def __len__(self):
        return len(self.offsets) - 1

    @property
    def n_mels(self):
        """Number of mel bands."""
        return self.features.shape[1]

    @property
    def lengths(self):
        """[N] frames of each utterance."""
        return self.offsets[1:] - self.offsets[:-1]

    def utterance(self, index):
        """[frames, n_mels] dB mel of utterance ``index``."""
        return self.features[self.offsets[index] : self.offsets[index + 1]]

    def indices(self, **conditions):
        """Indices whose metadata match: ``field=value`` or ``field=(value, ...)``.

        Example
        -------
        >>> bank = FeatureBank(torch.zeros(3, 2), [0, 1, 2, 3], {"split": ["a", "b", "a"]})
        >>> bank.indices(split="a"), bank.indices(split=("a", "b"))
        ([0, 2], [0, 1, 2])
        """
        keep = []
        for i in range(len(self)):
            ok = True
            for key, wanted in conditions.items():
                wanted = wanted if isinstance(wanted, (tuple, list, set)) else (wanted,)
                ok = ok and self.meta[key][i] in wanted
            if ok:
                keep.append(i)
        return keep

    def select(self, indices):
        """A new bank holding the utterances ``indices`` (in that order)."""
        indices = [int(i) for i in indices]
        chunks = [self.utterance(i) for i in indices]
        lengths = torch.tensor([len(c) for c in chunks], dtype=torch.long)
        offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])
        features = torch.cat(chunks) if chunks else self.features[:0]
        meta = {k: [v[i] for i in indices] for k, v in self.meta.items()}
        return FeatureBank(features, offsets, meta, self.settings, self.step_db)

    @classmethod
    def concat(cls, banks):
        """One bank from several with the same settings and metadata fields.

        Example
        -------
        >>> a = FeatureBank(torch.zeros(2, 3), [0, 2], {"speaker": ["a"]})
        >>> b = FeatureBank(torch.ones(3, 3), [0, 1, 3], {"speaker": ["b", "c"]})
        >>> both = FeatureBank.concat([a, b])
        >>> both.lengths.tolist(), both.meta["speaker"]
        ([2, 1, 2], ['a', 'b', 'c'])
        """
        banks = list(banks)
        if not banks:
            raise ValueError("concat needs at least one bank")
        fields = set(banks[0].meta)
        for bank in banks[1:]:
            if bank.settings != banks[0].settings or set(bank.meta) != fields:
                raise ValueError("banks differ in settings or metadata fields")
        features = torch.cat([b.features for b in banks])
        lengths = torch.cat([b.lengths for b in banks])
        offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])
        meta = {k: [v for b in banks for v in b.meta[k]] for k in banks[0].meta}
        steps = [b.step_db for b in banks if b.step_db is not None]
        return cls(features, offsets, meta, banks[0].settings, max(steps) if steps else None)

    def batches(self, indices, batch_size, labels=None):
        """Whole utterances, padded, in batches of similar length (for embedding / scoring).

        Arguments
        ---------
        indices : list of int
            Utterances to batch.
        batch_size : int
            Utterances per batch.
        labels : torch.Tensor, optional
            [N] long label of every utterance of the bank, copied into the batches.

        Returns
        -------
        list of dict
            ``feats`` [B, frames, n_mels] (padded by repeating the last frame), ``lens`` [B]
            relative lengths, ``index`` [B] bank indices (and ``label`` [B]).

        Example
        -------
        >>> bank = FeatureBank(torch.randn(6, 2), [0, 1, 6], {"speaker": ["a", "b"]})
        >>> [b["feats"].shape for b in bank.batches([0, 1], batch_size=2)]
        [torch.Size([2, 5, 2])]
        >>> bank.batches([0, 1], batch_size=2)[0]["lens"]
        tensor([0.2000, 1.0000])
        """
        order = sorted(indices, key=lambda i: int(self.lengths[i]))
        out = []
        for start in range(0, len(order), batch_size):
            chunk = torch.tensor(order[start : start + batch_size], dtype=torch.long)
            batch = pad_crops(self, chunk, torch.zeros_like(chunk), int(self.lengths[chunk].max()))
            batch["index"] = chunk
            if labels is not None:
                batch["label"] = labels[chunk]
            out.append(batch)
        return out

    # ---- files ------------------------------------------------------------------------------
    def save(self, path, step_db=1.0):
        """Writes the bank as LZMA-compressed ``uint8`` dB codes (lossy: ``step_db`` steps).

        Codes are ``round((dB - floor) / step_db)`` with the -100 dB floor, clipped to 0..255
        (-100 dB .. +155 dB at 1 dB steps), stored as differences between consecutive frames
        (modulo 256: lossless, and a quarter smaller once compressed). Written to a temporary
        file, then renamed.

        Arguments
        ---------
        path : str or os.PathLike
            Output file (``.xz`` by convention).
        step_db : float
            Quantisation step in dB.

        Example
        -------
        >>> import tempfile
        >>> feats = torch.tensor([[-100.0, -3.2], [0.4, 20.0]])
        >>> bank = FeatureBank(feats, [0, 2], {"speaker": ["a"]})
        >>> path = os.path.join(tempfile.mkdtemp(), "bank.xz")
        >>> bank.save(path)
        >>> FeatureBank.load(path).features
        tensor([[-100.,   -3.],
                [   0.,   20.]])
        """
        floor = floor_db()
        codes = ((self.features - floor) / step_db).round().clamp(0, 255).to(torch.int16)
        deltas = torch.cat([codes[:1], codes[1:] - codes[:-1]]).remainder(256).to(torch.uint8)
        payload = {
            "version": BANK_VERSION,
            "coding": "uint8 time deltas",
            "codes": deltas,
            "offsets": self.offsets,
            "meta": self.meta,
            "settings": self.settings,
            "floor_db": floor,
            "step_db": float(step_db),
        }
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        path = os.fspath(path)
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(lzma.compress(buffer.getvalue(), preset=6))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path):
        """Reads a file written by :meth:`save`.

        Raises
        ------
        FeatureBankError
            If the file is missing, corrupt, or of another format version.
        """
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FeatureBankError(f"feature bank '{path}' not found")
        try:
            with open(path, "rb") as f:
                payload = torch.load(
                    io.BytesIO(lzma.decompress(f.read())), map_location="cpu", weights_only=True
                )
        except Exception as err:  # lzma.LZMAError, pickle errors, truncated files
            raise FeatureBankError(f"feature bank '{path}' is unreadable ({err})") from None
        if not isinstance(payload, dict) or payload.get("version") != BANK_VERSION:
            raise FeatureBankError(f"feature bank '{path}' has an unknown format version")
        codes = torch.cumsum(payload["codes"].to(torch.int64), dim=0).remainder(256)
        features = codes.float() * payload["step_db"] + payload["floor_db"]
        return cls(
            features, payload["offsets"], payload["meta"], payload["settings"], payload["step_db"]
        )


def pad_crops(bank, utterances, starts, num_frames):
    """Crops ``[start, start + num_frames)`` of bank utterances, padded past each end.

    Arguments
    ---------
    bank : FeatureBank
        Source.
    utterances, starts : torch.Tensor
        [B] long utterance indices and start frames.
    num_frames : int
        Crop length.

    Returns
    -------
    dict
        ``feats`` [B, num_frames, n_mels] (the last frame repeated past an utterance's end),
        ``lens`` [B] relative valid lengths in (0, 1].

    Example
    -------
    >>> bank = FeatureBank(torch.arange(5.0)[:, None], [0, 2, 5], {"speaker": ["a", "b"]})
    >>> out = pad_crops(bank, torch.tensor([0, 1]), torch.tensor([0, 1]), 3)
    >>> out["feats"][..., 0].tolist(), out["lens"]
    ([[0.0, 1.0, 1.0], [3.0, 4.0, 4.0]], tensor([0.6667, 0.6667]))
    """
    device = bank.offsets.device
    utterances, starts = utterances.to(device), starts.to(device)
    first = bank.offsets[utterances]
    last = bank.offsets[utterances + 1] - 1
    index = first[:, None] + starts[:, None] + torch.arange(num_frames, device=device)[None, :]
    valid = (last - first - starts + 1).clamp(min=1, max=num_frames)
    index = torch.minimum(index, last[:, None])
    return {"feats": bank.features[index], "lens": valid.float() / num_frames}


class RandomCropBatches(torch.utils.data.Dataset):
    """Batches of random crops from a bank; every item is a whole batch.

    Each batch draws ``batch_size`` classes uniformly (``balance="class"``) and one utterance
    of each, or utterances uniformly (``balance="utterance"``), one crop length for the batch
    uniformly in ``[min_frames, max_frames]``, and a uniform start in each utterance
    (utterances shorter than the crop are taken whole and padded; ``lens`` marks them). The
    draws come from the dataset's own generator, so consecutive epochs differ; use it with a
    ``DataLoader(batch_size=None)`` and ``num_workers=0``. ``dither_db`` adds uniform noise of
    that width (the quantisation step of a bank read from a file: the crops are continuous
    again, like features computed from audio).

    Arguments
    ---------
    bank : FeatureBank
        Source features.
    indices : list of int
        The utterances to draw from.
    labels : torch.Tensor
        [len(bank)] long class of every bank utterance (e.g. the speaker index).
    batch_size : int
        Crops per batch.
    min_frames, max_frames : int
        Range of the crop length.
    batches_per_epoch : int
        ``len()`` of the dataset.
    balance : str
        ``"class"`` or ``"utterance"``.
    seed : int
        Seed of the generator.
    dither_db : float
        Width of the uniform noise added to the crops (0: none).
    device : str or torch.device, optional
        Where the batches are cut (a copy of the features goes there; e.g. the GPU, so that no
        batch crosses from the CPU). The draws stay on the CPU, reproducible on any device.

    Example
    -------
    >>> bank = FeatureBank(torch.randn(30, 4), [0, 10, 12, 30], {"speaker": ["a", "a", "b"]})
    >>> crops = RandomCropBatches(bank, [0, 1, 2], torch.tensor([0, 0, 1]), batch_size=5,
    ...                           min_frames=6, max_frames=6, batches_per_epoch=2)
    >>> batch = crops[0]
    >>> len(crops), batch["feats"].shape, batch["label"].shape
    (2, torch.Size([5, 6, 4]), torch.Size([5]))
    """

    def __init__(
        self,
        bank,
        indices,
        labels,
        batch_size,
        min_frames,
        max_frames,
        batches_per_epoch,
        balance="class",
        seed=0,
        dither_db=0.0,
        device=None,
    ):
        if balance not in ("class", "utterance"):
            raise ValueError(f"balance must be 'class' or 'utterance', not {balance!r}")
        if not indices:
            raise ValueError("RandomCropBatches needs at least one utterance")
        if not 1 <= min_frames <= max_frames:
            raise ValueError("need 1 <= min_frames <= max_frames")
        self.bank = bank
        self.indices = torch.as_tensor(list(indices), dtype=torch.long)
        self.labels = torch.as_tensor(labels, dtype=torch.long)
        self.batch_size = batch_size
        self.min_frames, self.max_frames = int(min_frames), int(max_frames)
        self.batches_per_epoch = batches_per_epoch
        self.balance = balance
        self.dither_db = float(dither_db or 0.0)
        self.generator = torch.Generator().manual_seed(seed)
        self.device = torch.device(device) if device is not None else bank.features.device
        self.source = FeatureBank(
            bank.features.to(self.device), bank.offsets.to(self.device), {}, bank.settings
        )
        self.noise_generator = torch.Generator(device=self.device).manual_seed(seed + 1)
        classes = self.labels[self.indices]
        self.class_ids, counts = torch.unique(classes, return_counts=True)
        table = torch.zeros(len(self.class_ids), int(counts.max()), dtype=torch.long)
        for row, cls in enumerate(self.class_ids):
            members = self.indices[classes == cls]
            table[row, : len(members)] = members
        self.table, self.counts = table, counts

    def __len__(self):
        return self.batches_per_epoch

    def __getitem__(self, item):
        g, b = self.generator, self.batch_size
        if self.balance == "class":
            rows = torch.randint(len(self.class_ids), (b,), generator=g)
            picks = (torch.rand(b, generator=g) * self.counts[rows]).long()
            utterances = self.table[rows, picks]
        else:
            utterances = self.indices[torch.randint(len(self.indices), (b,), generator=g)]
        length = int(torch.randint(self.min_frames, self.max_frames + 1, (1,), generator=g))
        room = (self.bank.lengths[utterances] - length + 1).clamp(min=1)
        starts = (torch.rand(b, generator=g) * room).long()
        batch = pad_crops(self.source, utterances, starts, length)
        if self.dither_db:
            shape, device = batch["feats"].shape, self.device
            noise = torch.rand(shape, generator=self.noise_generator, device=device) - 0.5
            batch["feats"] = batch["feats"] + self.dither_db * noise
        batch["label"] = self.labels[utterances].to(self.device)
        return batch


@torch.no_grad()
def build_feature_bank(
    manifests,
    mel,
    *,
    sample_rate,
    speaker_prefix="",
    trim_db=40.0,
    max_seconds=None,
    fields=(),
    progress=True,
):
    """Computes a :class:`FeatureBank` from manifests: read, resample, trim, mel, dB.

    Each manifest's utterances get ``split`` = its name. Leading and trailing silence is cut
    with :func:`audiodiff.audio.trim_silence` (``trim_db`` below the loudest frame; None keeps
    everything); ``max_seconds`` keeps the first seconds of longer utterances. Unreadable
    files are skipped with one warning.

    Arguments
    ---------
    manifests : dict
        Split name -> manifest path (entries with ``wav`` and ``speaker``).
    mel : torch.nn.Module
        wav [batch, samples] -> mel [batch, n_mels, frames] (e.g. ``MelSpectrogram``).
    sample_rate : int
        Rate the audio is resampled to (the mel's).
    speaker_prefix : str
        Prepended to speaker names (keeps corpora apart: ``"fsdd_"``).
    trim_db : float or None
        Silence-trimming threshold.
    max_seconds : float, optional
        Longest utterance kept (its start).
    fields : tuple of str
        Further manifest fields copied into ``meta`` (as strings; missing ones are ``""``).
    progress : bool
        Show a progress bar.

    Returns
    -------
    FeatureBank
        ``meta``: ``id``, ``speaker``, ``split`` and ``fields``; ``settings``: the mel's
        ``settings()``, ``trim_db``, ``max_seconds``.

    Example
    -------
    >>> import tempfile, torch
    >>> from audiodiff.audio import MelSpectrogram, write_audio
    >>> from audiodiff.data.manifest import write_manifest
    >>> folder = tempfile.mkdtemp()
    >>> write_audio(f"{folder}/a.wav", 0.1 * torch.randn(16000), 16000)
    >>> write_manifest(f"{folder}/m.json", {"a": {"wav": f"{folder}/a.wav", "speaker": "x"}})
    >>> bank = build_feature_bank({"train": f"{folder}/m.json"}, MelSpectrogram(n_mels=40),
    ...                           sample_rate=16000, speaker_prefix="c_", progress=False)
    >>> bank.features.shape, bank.meta["speaker"], bank.meta["split"]
    (torch.Size([63, 40]), ['c_x'], ['train'])
    """
    mel_rate = getattr(mel, "sample_rate", sample_rate)
    if mel_rate != sample_rate:
        raise ValueError(f"sample_rate={sample_rate} differs from the mel's {mel_rate}")
    settings = feature_settings(mel, trim_db, max_seconds)
    hop = getattr(mel, "hop_length", None)
    max_frames = None
    if max_seconds is not None and hop:
        max_frames = int(max_seconds * sample_rate / hop) + 1
    chunks, meta, skipped = [], {"id": [], "speaker": [], "split": []}, []
    meta.update({f: [] for f in fields})
    jobs = [
        (split, utt_id, entry)
        for split, path in manifests.items()
        for utt_id, entry in read_manifest(path).items()
    ]
    for split, utt_id, entry in tqdm(jobs, desc="speaker features", disable=not progress):
        try:
            wav, _ = read_audio(entry["wav"], sample_rate=sample_rate)
        except AudioReadError as err:
            skipped.append((entry["wav"], str(err)))
            continue
        if trim_db is not None:
            wav = trim_silence(wav, sample_rate, threshold_db=trim_db)
        mel_db = amplitude_to_db(mel(wav.unsqueeze(0)))[0].T  # [frames, n_mels]
        chunks.append(mel_db[:max_frames] if max_frames else mel_db)
        meta["id"].append(str(utt_id))
        meta["speaker"].append(f"{speaker_prefix}{entry['speaker']}")
        meta["split"].append(split)
        for f in fields:
            meta[f].append("" if entry.get(f) is None else str(entry[f]))
    warn_skipped(skipped, "unreadable audio files")
    if not chunks:
        raise FeatureBankError(f"no readable audio in the manifests {sorted(manifests)}")
    lengths = torch.tensor([len(c) for c in chunks], dtype=torch.long)
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])
    return FeatureBank(torch.cat(chunks), offsets, meta, settings)


def feature_settings(mel, trim_db, max_seconds=None):
    """The ``settings`` a bank records: the mel's settings plus trimming (no ``max_seconds``:
    cropping long utterances does not change what a frame means).

    Example
    -------
    >>> from audiodiff.audio import MelSpectrogram
    >>> feature_settings(MelSpectrogram(n_mels=40), 40.0)["mel"]["n_mels"]
    40
    """
    mel_settings = mel.settings() if hasattr(mel, "settings") else {"repr": repr(mel)}
    return {"mel": mel_settings, "trim_db": trim_db}
