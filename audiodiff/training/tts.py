"""Diffusion TTS training and sampling around ``audiodiff.nets.DiffusionTTS``: the dataset of
utterances with a same-speaker reference, batching, the losses of each content route, and
sampling with one guidance scale per condition. Used by ``TTSBrain`` and by
``audiodiff.inference.TTS``.

Losses (Grad-TTS, Popov et al. 2021, eq. 14-15 and sec. 3.3):

- diffusion: the shared ``diffusion_loss`` on normalised mels, masked to the real frames;
- prior (phoneme route): mean of 0.5 * ((y - mu)^2 + log 2 pi) over the real frames and
  bands, mu the MAS-aligned per-token mean;
- duration (phoneme route): MSE of log durations against MAS's;
- length (sentence route): squared error of the log frame count;
- adversarial (spectrogram route): speaker cross-entropy through gradient reversal.
"""

import math
import random

import torch
import torch.nn.functional as F

from audiodiff.audio.mel import floor_db
from audiodiff.diffusion import diffusion_loss
from audiodiff.diffusion.generate import sample_from_model
from audiodiff.nets.alignment import (
    durations_to_path,
    expand_to_frames,
    gaussian_log_likelihood,
    monotonic_alignment_search,
)
from audiodiff.nets.duration import duration_loss, durations_from_log

LOSS_NAMES = ("diffusion", "prior", "duration", "length", "adversarial")


class TTSInputError(ValueError):
    """A synthesis request the model cannot serve (the message is one line for the user)."""


class TTSDataset(torch.utils.data.Dataset):
    """Utterances, each returned with a reference: another utterance of the same speaker.

    Arguments
    ---------
    items : list of dict
        One per utterance: ``mel_db`` [n_mels, frames] dB, ``speaker`` (int index; -1 for a
        speaker the model has no index for), optionally ``group`` (the key references are
        drawn by, default ``speaker``, e.g. the speaker's name), and as the route needs
        ``tokens`` ([length] long), ``speaker_embedding`` ([dim], a pretrained encoder's
        vector of this utterance), ``sentence_embedding`` ([dim]); plus ``id`` and
        ``text`` (kept as lists in the batch).
    max_reference_frames : int
        References are cropped at random to at most this many frames.
    same_reference : bool
        Use the utterance itself as its reference (False: another utterance of the speaker
        when there is one, so the reference cannot pass the content).

    Example
    -------
    >>> items = [{"mel_db": torch.zeros(4, 6), "speaker": s, "id": str(i), "text": "a"}
    ...          for i, s in enumerate([0, 0, 1])]
    >>> data = TTSDataset(items, max_reference_frames=3)
    >>> sorted(data[0])
    ['id', 'mel_db', 'ref_mel_db', 'reference', 'speaker', 'text']
    >>> data[0]["reference"], data[0]["ref_mel_db"].shape
    ('1', torch.Size([4, 3]))
    """

    def __init__(self, items, max_reference_frames=200, same_reference=False):
        self.items = items
        self.max_reference_frames = max_reference_frames
        self.same_reference = same_reference
        self.by_speaker = {}
        for index, item in enumerate(items):
            self.by_speaker.setdefault(self._group(item), []).append(index)

    @staticmethod
    def _group(item):
        return item.get("group", item["speaker"])

    def __len__(self):
        return len(self.items)

    def reference_index(self, index):
        """Index of the reference of item ``index`` (random among the speaker's others)."""
        if self.same_reference:
            return index
        pool = self.by_speaker[self._group(self.items[index])]
        others = [i for i in pool if i != index]
        return random.choice(others) if others else index

    def __getitem__(self, index):
        item = dict(self.items[index])
        ref = self.items[self.reference_index(index)]
        mel = ref["mel_db"]
        extra = mel.shape[-1] - self.max_reference_frames
        if extra > 0:
            start = random.randint(0, extra)
            mel = mel[:, start : start + self.max_reference_frames]
        item["ref_mel_db"] = mel
        item["reference"] = ref.get("id")
        if "speaker_embedding" in ref:
            item["speaker_embedding"] = ref["speaker_embedding"]
        return item


def _pad_stack(tensors, value):
    """Right-pad [..., length_i] tensors to the longest and stack: [batch, ..., length]."""
    longest = max(t.shape[-1] for t in tensors)
    return torch.stack([F.pad(t, (0, longest - t.shape[-1]), value=value) for t in tensors])


def collate_tts(items):
    """Batch ``TTSDataset`` items: mels padded with the dB floor, tokens with 0.

    Returns
    -------
    dict
        ``mel_db`` [B, n_mels, T], ``frames`` [B]; ``ref_mel_db`` [B, n_mels, R],
        ``ref_frames`` [B]; ``speaker`` [B]; ``tokens`` [B, L] (0 = padding), ``num_tokens``
        [B] when items have tokens; ``speaker_embedding`` / ``sentence_embedding`` [B, D]
        when present; lists ``id``, ``text``, ``reference``.

    Example
    -------
    >>> a = {"mel_db": torch.zeros(2, 3), "ref_mel_db": torch.zeros(2, 2), "speaker": 1,
    ...      "tokens": torch.tensor([1, 5, 1]), "id": "a", "text": "x"}
    >>> b = dict(a, mel_db=torch.zeros(2, 5), tokens=torch.tensor([1, 1]))
    >>> batch = collate_tts([a, b])
    >>> batch["mel_db"].shape, batch["frames"].tolist(), batch["tokens"].tolist()
    (torch.Size([2, 2, 5]), [3, 5], [[1, 5, 1], [1, 1, 0]])
    """
    floor = floor_db()
    batch = {
        "mel_db": _pad_stack([i["mel_db"].float() for i in items], floor),
        "frames": torch.tensor([i["mel_db"].shape[-1] for i in items]),
        "speaker": torch.tensor([int(i["speaker"]) for i in items]),  # -1: no index
    }
    if "ref_mel_db" in items[0]:
        batch["ref_mel_db"] = _pad_stack([i["ref_mel_db"].float() for i in items], floor)
        batch["ref_frames"] = torch.tensor([i["ref_mel_db"].shape[-1] for i in items])
    if items[0].get("tokens") is not None:
        batch["tokens"] = _pad_stack([i["tokens"] for i in items], 0)
        batch["num_tokens"] = torch.tensor([len(i["tokens"]) for i in items])
    for key in ("speaker_embedding", "sentence_embedding"):
        if key in items[0]:
            batch[key] = torch.stack([torch.as_tensor(i[key]).float() for i in items])
    for key in ("id", "text", "reference"):
        batch[key] = [i.get(key) for i in items]
    return batch


def length_mask(lengths, max_length=None):
    """[batch] lengths -> [batch, max_length] bool mask (True = valid).

    Example
    -------
    >>> length_mask(torch.tensor([1, 3])).tolist()
    [[True, False, False], [True, True, True]]
    """
    max_length = int(lengths.max()) if max_length is None else int(max_length)
    return torch.arange(max_length, device=lengths.device)[None] < lengths[:, None]


def normalized_mels(normalizer, mel_db, frames):
    """Normalised mels [B, n_mels, T] in [-1, 1] (padding at -1, silence) and their mask."""
    mask = length_mask(frames.to(mel_db.device), mel_db.shape[-1])
    y = normalizer.normalize(mel_db)
    return torch.where(mask[:, None, :], y, torch.full_like(y, -1.0)), mask


def speaker_inputs(model, batch, normalizer, device):
    """Keyword arguments of ``model.speaker_vector`` from a batch, for its speaker source."""
    if model.speaker_source == "table":
        return {"speaker": batch["speaker"].to(device)}
    if model.speaker_source == "reference":
        ref, ref_mask = normalized_mels(
            normalizer, batch["ref_mel_db"].to(device), batch["ref_frames"].to(device)
        )
        return {"reference_mel": ref, "reference_mask": ref_mask}
    if "speaker_embedding" not in batch:
        raise ValueError("this model reads pretrained speaker embeddings; the batch has none")
    return {"speaker_embedding": batch["speaker_embedding"].to(device)}


def prior_loss(y, mu, mask):
    """Grad-TTS's prior loss: mean over real frames and bands of 0.5 ((y - mu)^2 + log 2 pi).

    Example
    -------
    >>> y = torch.zeros(1, 2, 3)
    >>> round(float(prior_loss(y, y, torch.ones(1, 3, dtype=torch.bool))), 4)
    0.9189
    """
    keep = mask[:, None, :].to(y.dtype)
    err = 0.5 * ((y - mu) ** 2 + math.log(2 * math.pi)) * keep
    return err.sum() / (keep.sum() * y.shape[1]).clamp(min=1)


def tts_losses(model, batch, *, normalizer, schedule, prediction, adversarial=False):
    """Every loss of one training batch (see the module docstring).

    Arguments
    ---------
    model : audiodiff.nets.DiffusionTTS
        The model (training mode).
    batch : dict
        From :func:`collate_tts`.
    normalizer : audiodiff.audio.SpectrogramNormalizer
        Fitted dB -> [-1, 1] map.
    schedule : audiodiff.diffusion.NoiseSchedule
        The noise schedule.
    prediction : str
        "eps", "v" or "x0".
    adversarial : bool
        Compute the speaker-adversarial loss (spectrogram route, encoder with a head).

    Returns
    -------
    dict
        Name -> unweighted scalar tensor, for the names of ``LOSS_NAMES`` the route uses.
    """
    device = schedule.alpha_bar.device
    y, frame_mask = normalized_mels(
        normalizer, batch["mel_db"].to(device), batch["frames"].to(device)
    )
    spk = model.speaker_vector(**speaker_inputs(model, batch, normalizer, device))
    cond = {"frame_mask": frame_mask, "speaker_tokens": model.speaker_tokens(spk)}
    losses = {}
    if model.route == "phoneme":
        tokens = batch["tokens"].to(device)
        token_mask = tokens > 0
        hidden, mu_tokens = model.encode_text(tokens, token_mask, spk)
        log_p = gaussian_log_likelihood(mu_tokens, y)
        path = monotonic_alignment_search(log_p, token_mask.sum(-1), frame_mask.sum(-1))
        log_durations = model.log_durations(hidden, token_mask, spk)
        losses["duration"] = duration_loss(log_durations, path.sum(-1), token_mask)
        mu = expand_to_frames(mu_tokens.float(), path)
        losses["prior"] = prior_loss(y, mu, frame_mask)
        cond["content_map"] = mu
    elif model.route == "sentence":
        tokens = batch["tokens"].to(device) if "tokens" in batch else None
        embedding = batch.get("sentence_embedding")
        embedding = embedding.to(device) if embedding is not None else None
        token_mask = tokens > 0 if tokens is not None else None
        sentence = model.sentence_vector(tokens, token_mask, embedding)
        log_frames = model.log_frames(sentence, spk)
        target = torch.log(frame_mask.sum(-1).float())
        losses["length"] = torch.mean((log_frames.float() - target) ** 2)
        cond["content_tokens"] = model.content_tokens(sentence)
    else:
        content, code = model.encode_source(y, frame_mask)
        cond["content_map"] = content
        if adversarial and model.content_encoder.adversary is not None:
            logits = model.content_encoder.speaker_logits(code, frame_mask)
            losses["adversarial"] = F.cross_entropy(
                logits.float(), batch["speaker"].to(device), ignore_index=-1
            )
    losses["diffusion"] = diffusion_loss(
        model,
        y.unsqueeze(1),
        schedule,
        prediction=prediction,
        cond=cond,
        mask=frame_mask[:, None, None, :],
    )
    return losses


def _conditions(cond, keep_speaker, keep_content):
    batch = cond["frame_mask"].shape[0]
    device = cond["frame_mask"].device
    out = dict(cond)
    out["speaker_keep"] = torch.full((batch,), keep_speaker, dtype=torch.bool, device=device)
    out["content_keep"] = torch.full((batch,), keep_content, dtype=torch.bool, device=device)
    return out


def guidance_branches(cond, guidance_scale, speaker_guidance_scale=None):
    """(cond, uncond, scales) for ``sample_from_model``: one scale, or one per condition.

    Equal scales (or ``speaker_guidance_scale`` None): one null branch without speaker and
    content, eps = eps_u + s (eps_c - eps_u). Different scales: the chain
    [content only, nothing] with scales [speaker, content] (``guided_eps``):
    eps = eps(0, 0) + s_c (eps(c, 0) - eps(0, 0)) + s_s (eps(c, s) - eps(c, 0)).

    Example
    -------
    >>> cond = {"frame_mask": torch.ones(2, 3, dtype=torch.bool)}
    >>> c, u, s = guidance_branches(cond, 2.0, 3.0)
    >>> [b["speaker_keep"].tolist() for b in u], s
    ([[False, False], [False, False]], [3.0, 2.0])
    >>> [b["content_keep"].tolist() for b in u]
    [[True, True], [False, False]]
    """
    full = _conditions(cond, True, True)
    nothing = _conditions(cond, False, False)
    if speaker_guidance_scale is None or speaker_guidance_scale == guidance_scale:
        return full, nothing, float(guidance_scale)
    content_only = _conditions(cond, False, True)
    return full, [content_only, nothing], [float(speaker_guidance_scale), float(guidance_scale)]


@torch.no_grad()
def content_for_synthesis(
    model,
    spk,
    *,
    tokens=None,
    sentence_embedding=None,
    source_mel=None,
    source_frames=None,
    length_scale=1.0,
    max_frames=None,
    min_frames=4,
):
    """The decoder's conditions (without keep flags) and the output frame counts.

    Arguments
    ---------
    model : audiodiff.nets.DiffusionTTS
        The (EMA) model, eval mode.
    spk : torch.Tensor
        [B, dim] speaker vectors.
    tokens : torch.Tensor, optional
        [B, L] long ids, 0 = padding (phoneme and learned sentence routes).
    sentence_embedding : torch.Tensor, optional
        [B, dim] (sentence route with a pretrained embedder).
    source_mel, source_frames : torch.Tensor, optional
        [B, n_mels, T] normalised source mels and [B] frames (spectrogram route).
    length_scale : float
        Phoneme route: duration multiplier (> 1 slower).
    max_frames : int, optional
        Longest output allowed: longer raises :class:`TTSInputError`.
    min_frames : int
        Shortest output (sentence route).

    Returns
    -------
    cond : dict
        ``frame_mask``, ``speaker_tokens`` and ``content_map`` or ``content_tokens``.
    frames : torch.Tensor
        [B] long output lengths.
    """
    cond = {"speaker_tokens": model.speaker_tokens(spk)}
    if model.route == "phoneme":
        token_mask = tokens > 0
        hidden, mu_tokens = model.encode_text(tokens, token_mask, spk)
        log_durations = model.log_durations(hidden, token_mask, spk)
        durations = durations_from_log(log_durations, token_mask, length_scale)
        frames = durations.sum(-1)
        _check_frames(frames, max_frames)
        path = durations_to_path(durations, int(frames.max()))
        cond["content_map"] = expand_to_frames(mu_tokens.float(), path)
    elif model.route == "sentence":
        mask = tokens > 0 if tokens is not None else None
        sentence = model.sentence_vector(tokens, mask, sentence_embedding)
        frames = torch.round(model.log_frames(sentence, spk).float().exp()).long()
        frames = frames.clamp(min=min_frames)
        _check_frames(frames, max_frames)
        cond["content_tokens"] = model.content_tokens(sentence)
    else:
        frames = source_frames.to(source_mel.device).long()
        _check_frames(frames, max_frames)
        mask = length_mask(frames, source_mel.shape[-1])
        content, _ = model.encode_source(source_mel, mask)
        cond["content_map"] = content
    cond["frame_mask"] = length_mask(frames, int(frames.max()))
    if "content_map" in cond:
        cond["content_map"] = cond["content_map"][..., : int(frames.max())]
    return cond, frames


def _check_frames(frames, max_frames):
    if max_frames is not None and int(frames.max()) > max_frames:
        raise TTSInputError(
            f"the output would be {int(frames.max())} frames long; this model supports at most "
            f"{max_frames}: shorten the text (or the source)"
        )


@torch.no_grad()
def sample_tts(
    model,
    schedule,
    cond,
    frames,
    *,
    n_mels,
    prediction="v",
    sampler="dpm_solver",
    steps=20,
    guidance_scale=1.0,
    speaker_guidance_scale=None,
    eta=0.0,
    clip_x0=None,
    generator=None,
    autocast_dtype=None,
    progress=False,
):
    """Sample normalised mels for the conditions of :func:`content_for_synthesis`.

    Returns
    -------
    list of torch.Tensor
        One [n_mels, frames_i] normalised mel per request (cropped to its length).
    """
    full, uncond, scales = guidance_branches(cond, guidance_scale, speaker_guidance_scale)
    shape = (len(frames), 1, n_mels, int(frames.max()))
    x0 = sample_from_model(
        model,
        schedule,
        shape,
        prediction=prediction,
        cond=full,
        uncond=uncond,
        sampler=sampler,
        steps=steps,
        guidance_scale=scales,
        eta=eta,
        clip_x0=clip_x0,
        generator=generator,
        autocast_dtype=autocast_dtype,
        progress=progress,
    )
    return [x0[i, 0, :, : int(n)] for i, n in enumerate(frames)]


@torch.no_grad()
def synthesize_batch(
    model,
    batch,
    *,
    normalizer,
    schedule,
    vocoder,
    n_mels,
    length_scale=1.0,
    max_frames=None,
    vocoder_batch=64,
    **sampling,
):
    """Mels and waveforms for a batch of requests (a :func:`collate_tts` batch).

    What each route reads from ``batch``: ``tokens`` (phoneme; learned sentence encoder) or
    ``sentence_embedding`` (sentence with a pretrained embedder); ``mel_db`` + ``frames``
    (spectrogram: the source utterances); and the speaker source's input (``speaker``,
    ``ref_mel_db`` + ``ref_frames`` or ``speaker_embedding``).

    Arguments
    ---------
    model : audiodiff.nets.DiffusionTTS
        The model to sample (EMA copy), eval mode.
    batch : dict
        The requests.
    normalizer, schedule, vocoder
        Fitted normaliser, noise schedule (its device is used), ``audiodiff.audio.Vocoder``.
    n_mels : int
        Mel bands.
    length_scale, max_frames
        See :func:`content_for_synthesis`.
    vocoder_batch : int
        Mels vocoded at once.
    **sampling
        Keyword arguments of :func:`sample_tts` (sampler, steps, guidance scales, ...).

    Returns
    -------
    mel_db : list of torch.Tensor
        [n_mels, frames_i] dB mels.
    wavs : list of torch.Tensor
        [frames_i * hop_length] waveforms.
    """
    device = schedule.alpha_bar.device
    spk = model.speaker_vector(**speaker_inputs(model, batch, normalizer, device))
    inputs = {}
    if "tokens" in batch:
        inputs["tokens"] = batch["tokens"].to(device)
    if "sentence_embedding" in batch:
        inputs["sentence_embedding"] = batch["sentence_embedding"].to(device)
    if model.route == "spectrogram":
        source, _ = normalized_mels(normalizer, batch["mel_db"].to(device), batch["frames"])
        inputs.update(source_mel=source, source_frames=batch["frames"].to(device))
    cond, frames = content_for_synthesis(
        model, spk, length_scale=length_scale, max_frames=max_frames, **inputs
    )
    mels = sample_tts(model, schedule, cond, frames, n_mels=n_mels, **sampling)
    mel_db = [normalizer.denormalize(m) for m in mels]
    wavs = []
    floor = float(normalizer.low_db)
    for start in range(0, len(mel_db), vocoder_batch):
        chunk = mel_db[start : start + vocoder_batch]
        padded = _pad_stack(chunk, floor)
        out = vocoder(padded)
        for mel, wav in zip(chunk, out):
            wavs.append(wav[: mel.shape[-1] * vocoder.hop_length].float().cpu())
    return [m.float().cpu() for m in mel_db], wavs


class BucketBatchSampler(torch.utils.data.Sampler):
    """Batches of similar lengths, in random order: less padding for variable-length speech.

    Each epoch, the indices are shuffled, cut into pools of ``pool_batches * batch_size``,
    each pool sorted by length and cut into batches, and the batches shuffled.

    Arguments
    ---------
    lengths : list of int
        Length (frames) of every item.
    batch_size : int
        Items per batch.
    drop_last : bool
        Drop the last, smaller batch of each pool (unless there is no full batch at all).
    pool_batches : int
        Batches per sorted pool (larger: less padding, less randomness).
    seed : int
        Seed of the shuffles (epoch ``n`` uses ``seed + n``).

    Example
    -------
    >>> sampler = BucketBatchSampler([5, 1, 4, 2, 3, 6], batch_size=2, seed=0)
    >>> batches = list(sampler)
    >>> sorted(i for b in batches for i in b), len(sampler)
    ([0, 1, 2, 3, 4, 5], 3)
    """

    def __init__(self, lengths, batch_size, drop_last=False, pool_batches=50, seed=0):
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.pool_batches = pool_batches
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def _batches(self):
        rng = random.Random(self.seed + self.epoch)
        order = list(range(len(self.lengths)))
        rng.shuffle(order)
        pool = self.pool_batches * self.batch_size
        batches, partial = [], []
        for start in range(0, len(order), pool):
            chunk = sorted(order[start : start + pool], key=lambda i: self.lengths[i])
            for b in range(0, len(chunk), self.batch_size):
                batch = chunk[b : b + self.batch_size]
                full = len(batch) == self.batch_size or not self.drop_last
                (batches if full else partial).append(batch)
        batches = batches or partial  # fewer items than one batch: still train on them
        rng.shuffle(batches)
        return batches

    def __iter__(self):
        batches = self._batches()
        self.epoch += 1
        return iter(batches)

    def __len__(self):
        return len(self._batches())
