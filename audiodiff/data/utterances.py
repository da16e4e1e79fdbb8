"""Whole utterances (waveform + dB mel) of a manifest, and random aligned crops of them, for
vocoder training: the mel is computed once per utterance, so a crop's frames are the frames of
the whole recording (no edge effects at the crop's borders)."""

import contextlib
import logging

import torch
from tqdm import tqdm

from audiodiff.audio.io import AudioReadError, read_audio
from audiodiff.audio.mel import amplitude_to_db, floor_db
from audiodiff.data.manifest import read_manifest, warn_skipped

logger = logging.getLogger(__name__)


@torch.no_grad()
def load_utterances(manifest_path, mel, sample_rate, *, max_items=None, progress=True):
    """Read every utterance of a manifest and compute its dB mel spectrogram.

    Each wav is resampled to ``sample_rate`` (``read_audio``); its mel is
    ``amplitude_to_db(mel(wav))``, frames = samples // hop + 1, frame j centred on sample
    j * hop. Files that fail to read are skipped with one warning.

    Arguments
    ---------
    manifest_path : str or os.PathLike
        JSON manifest with a ``wav`` field per utterance.
    mel : audiodiff.audio.MelSpectrogram
        The mel transform (its ``sample_rate`` must equal ``sample_rate``).
    sample_rate : int
        Rate the audio is resampled to.
    max_items : int, optional
        Read only the first ``max_items`` utterances (in id order).
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict
        ``ids`` (list of str), ``wav`` (list of [samples] float32), ``mel_db`` (list of
        [n_mels, frames] float32), in id order.

    Example
    -------
    >>> import tempfile
    >>> from audiodiff.audio import MelSpectrogram
    >>> from audiodiff.data import BUNDLED_LJSPEECH, prepare_ljspeech
    >>> paths = prepare_ljspeech(BUNDLED_LJSPEECH, tempfile.mkdtemp(), phonemes=False)
    >>> data = load_utterances(paths["test"], MelSpectrogram(22050), 22050, max_items=1,
    ...                        progress=False)
    >>> data["wav"][0].shape[0] // 256 + 1 == data["mel_db"][0].shape[1]
    True
    """
    if getattr(mel, "sample_rate", sample_rate) != sample_rate:
        raise ValueError(
            f"the mel transform is for {mel.sample_rate} Hz but audio is read at {sample_rate} Hz"
        )
    manifest = read_manifest(manifest_path)
    ids = sorted(manifest)[:max_items]
    out = {"ids": [], "wav": [], "mel_db": []}
    skipped = []
    with one_thread():
        for utt_id in tqdm(ids, desc="reading audio", disable=not progress, leave=False):
            _read_one(manifest[utt_id]["wav"], utt_id, mel, sample_rate, out, skipped)
    warn_skipped(skipped, "unreadable audio files")
    if not out["ids"]:
        raise ValueError(f"no readable audio in {manifest_path}")
    return out


def _read_one(path, utt_id, mel, sample_rate, out, skipped):
    """Append one utterance's id, waveform and dB mel to ``out`` (or its error to
    ``skipped``)."""
    try:
        wav, _ = read_audio(path, sample_rate=sample_rate)
    except AudioReadError as err:
        skipped.append((path, str(err)))
        return
    out["ids"].append(utt_id)
    out["wav"].append(wav)
    out["mel_db"].append(amplitude_to_db(mel(wav))[0])


@contextlib.contextmanager
def one_thread():
    """torch on one CPU thread inside the block (the previous count restored after it).

    Thousands of short clips, each a few small ops (resampling, an STFT, a product), spend
    more time synchronising threads than computing: on 2 busy cores 600 FSDD clips take about
    1 s on one thread and 5 s on two, and several trainings preparing at once on one machine
    (each with a thread per core) are slower still.

    Example
    -------
    >>> before = torch.get_num_threads()
    >>> with one_thread():
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class RandomSegments(torch.utils.data.Dataset):
    """Random crops of ``segment_frames`` mel frames and the aligned ``segment_frames * hop``
    samples from whole utterances.

    Item i picks an utterance with probability proportional to its frame count, then a crop
    start frame j0 uniformly; the crop is frames j0 .. j0 + F - 1 and samples j0 * hop ..
    (j0 + F) * hop - 1, so frame j0 + k is centred on sample k * hop of the crop (the mel's
    own alignment). Utterances shorter than the crop are zero-padded (the mel with its dB
    floor: silence). With ``deterministic`` the draws of item i depend on i only (a fixed
    validation set); otherwise on torch's global generator (seeded by the recipe).

    Arguments
    ---------
    wavs : list of torch.Tensor
        [samples] waveforms.
    mels_db : list of torch.Tensor
        [n_mels, frames] their dB mels (frames = samples // hop + 1).
    segment_frames : int
        Frames F per crop.
    hop_length : int
        Samples per frame.
    num_items : int
        Items per epoch.
    deterministic : bool
        Crops fixed by the item index.
    seed : int
        Seed of the deterministic crops.

    Example
    -------
    >>> wavs = [torch.arange(1000.0)]
    >>> mels = [torch.zeros(4, 1000 // 10 + 1)]
    >>> crops = RandomSegments(wavs, mels, segment_frames=5, hop_length=10, num_items=3)
    >>> item = crops[0]
    >>> item["wav"].shape, item["mel_db"].shape, len(crops)
    (torch.Size([50]), torch.Size([4, 5]), 3)
    >>> int(item["wav"][0]) % 10
    0
    """

    def __init__(
        self,
        wavs,
        mels_db,
        segment_frames,
        hop_length,
        num_items,
        deterministic=False,
        seed=0,
    ):
        if len(wavs) != len(mels_db) or not wavs:
            raise ValueError("RandomSegments needs as many mels as waveforms (at least one)")
        self.wavs = wavs
        self.mels_db = mels_db
        self.segment_frames = int(segment_frames)
        self.hop_length = int(hop_length)
        self.num_items = int(num_items)
        self.deterministic = deterministic
        self.seed = seed
        self.weights = torch.tensor([float(m.shape[-1]) for m in mels_db])

    def __len__(self):
        return self.num_items

    def __getitem__(self, index):
        generator = None
        if self.deterministic:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + int(index))
        utt = int(torch.multinomial(self.weights, 1, generator=generator))
        wav, mel_db = self.wavs[utt], self.mels_db[utt]
        frames, hop, seg = mel_db.shape[-1], self.hop_length, self.segment_frames
        start = int(torch.randint(0, max(1, frames - seg + 1), (1,), generator=generator))
        mel = mel_db[:, start : start + seg]
        audio = wav[start * hop : (start + seg) * hop]
        if mel.shape[-1] < seg:
            mel = torch.nn.functional.pad(mel, (0, seg - mel.shape[-1]), value=floor_db())
        if audio.shape[-1] < seg * hop:
            audio = torch.nn.functional.pad(audio, (0, seg * hop - audio.shape[-1]))
        return {"wav": audio, "mel_db": mel}
