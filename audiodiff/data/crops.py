"""Fixed-size spectrogram images from whole clips: random training crops, fixed evaluation crops.

Padding policy (clips shorter than the image): the clip is left-aligned and the rest of the
image is filled with the dB floor (silence); ``lengths`` gives the valid fraction, so the
training loss can mask the padding out (``relative_length_mask``). Nothing is invented: the
model never learns the fill, and no clip end is joined to its start (padding by repetition
would teach the model an abrupt jump that real speech does not have).
"""

import os

import torch

from audiodiff.audio.mel import floor_db, pad_or_crop
from audiodiff.data.errors import DataFolderError
from audiodiff.data.features import compute_features
from audiodiff.data.manifest import manifest_paths


def _crop(clip, offset, num_frames, pad_value):
    """``(image [n_mels, num_frames] float32, valid fraction)`` of ``clip`` from ``offset``."""
    frames = clip.shape[-1]
    image = pad_or_crop(clip[..., offset : offset + num_frames].float(), num_frames, pad_value)
    return image, min(frames - offset, num_frames) / num_frames


class RandomCropDataset(torch.utils.data.Dataset):
    """Fixed-size crops of variable-length dB spectrograms, a new crop each time one is drawn.

    Item ``i`` comes from clip ``i % num_clips`` (``crops_per_clip`` items per clip per
    epoch). With ``random=True``, each draw picks a variant of the clip uniformly (the clip
    itself or one of its augmented copies) and a start frame uniformly in
    ``[0, frames - num_frames]``, from torch's global generator (seeded by the recipe; each
    DataLoader worker has its own stream). With ``random=False``, the variant (the original)
    and the start of every item are fixed at construction from ``seed``: a stable validation
    set. Clips shorter than ``num_frames`` start at 0 and are padded (module docstring).

    Arguments
    ---------
    clips : list of torch.Tensor
        [n_mels, frames_i] dB spectrograms (any float dtype; items are float32).
    num_frames : int
        Frames per image.
    variants : list of list of torch.Tensor, optional
        Augmented copies of each clip (the same length as ``clips``).
    crops_per_clip : int
        Items per clip in one epoch.
    pad_value : float
        Fill value of padded frames (default: the dB floor).
    random : bool
        Draw a new crop at each access (training) or fix them (validation).
    seed : int
        Seed of the fixed crops (``random=False``).

    Example
    -------
    >>> clips = [torch.randn(4, 10), torch.randn(4, 3)]
    >>> data = RandomCropDataset(clips, num_frames=6, crops_per_clip=2)
    >>> len(data), data[0]["mel_db"].shape, data[1]["lengths"]
    (4, torch.Size([4, 6]), 0.5)
    >>> fixed = RandomCropDataset(clips, num_frames=6, random=False)
    >>> torch.equal(fixed[0]["mel_db"], fixed[0]["mel_db"])
    True
    """

    def __init__(
        self,
        clips,
        num_frames,
        *,
        variants=None,
        crops_per_clip=1,
        pad_value=None,
        random=True,
        seed=0,
    ):
        if not clips:
            raise ValueError("RandomCropDataset needs at least one clip")
        if variants is not None and len(variants) != len(clips):
            raise ValueError(f"got {len(variants)} variant lists for {len(clips)} clips")
        if crops_per_clip < 1:
            raise ValueError(f"crops_per_clip must be >= 1, got {crops_per_clip}")
        self.clips = list(clips)
        self.variants = [list(v) for v in variants] if variants is not None else None
        self.num_frames = int(num_frames)
        self.crops_per_clip = int(crops_per_clip)
        self.pad_value = floor_db() if pad_value is None else float(pad_value)
        self.random = random
        self.fixed_offsets = None
        if not random:
            generator = torch.Generator().manual_seed(seed)
            self.fixed_offsets = [
                self._draw_offset(self.clips[i % len(self.clips)], generator)
                for i in range(len(self))
            ]

    def __len__(self):
        return len(self.clips) * self.crops_per_clip

    def _draw_offset(self, clip, generator=None):
        room = max(clip.shape[-1] - self.num_frames, 0)
        return int(torch.randint(0, room + 1, (1,), generator=generator))

    def __getitem__(self, index):
        clip_index = index % len(self.clips)
        if self.random:
            choices = [self.clips[clip_index]]
            if self.variants is not None:
                choices += self.variants[clip_index]
            clip = choices[int(torch.randint(0, len(choices), (1,)))]
            offset = self._draw_offset(clip)
        else:
            clip, offset = self.clips[clip_index], self.fixed_offsets[index]
        image, length = _crop(clip, offset, self.num_frames, self.pad_value)
        return {"mel_db": image, "lengths": length}


def evaluation_crops(clips, num_frames, num_crops, seed=0, ids=None):
    """``num_crops`` fixed-size crops spread evenly over the clips at least ``num_frames`` long.

    Crop ``k`` comes from the ``k % n``-th eligible clip (n of them, in order), at a start
    frame drawn uniformly from a generator seeded with ``seed``; shorter clips are left out
    (a padded crop would add silence that generated images do not have).

    Arguments
    ---------
    clips : list of torch.Tensor
        [n_mels, frames_i] dB spectrograms.
    num_frames : int
        Frames per crop.
    num_crops : int
        How many crops.
    seed : int
        Seed of the start frames.
    ids : list of str, optional
        Clip names, for the returned ``names``.

    Returns
    -------
    crops : torch.Tensor
        [num_crops, n_mels, num_frames] float32.
    names : list of str
        ``"<id or index>@<start frame>"`` of each crop.

    Example
    -------
    >>> crops, names = evaluation_crops([torch.zeros(2, 9), torch.zeros(2, 4)], 5, 3)
    >>> crops.shape, [n.split("@")[0] for n in names]
    (torch.Size([3, 2, 5]), ['0', '0', '0'])
    """
    eligible = [i for i, clip in enumerate(clips) if clip.shape[-1] >= num_frames]
    if not eligible:
        raise ValueError(f"no clip has the {num_frames} frames a crop needs")
    generator = torch.Generator().manual_seed(seed)
    crops, names = [], []
    for k in range(num_crops):
        index = eligible[k % len(eligible)]
        clip = clips[index]
        room = clip.shape[-1] - num_frames
        offset = int(torch.randint(0, room + 1, (1,), generator=generator))
        crops.append(clip[..., offset : offset + num_frames].float())
        names.append(f"{ids[index] if ids is not None else index}@{offset}")
    return torch.stack(crops), names


def split_clips(
    prepare_folder,
    split,
    mel,
    *,
    sample_rate,
    num_frames=None,
    dtype=torch.float16,
    augment=None,
    progress=True,
):
    """dB spectrograms of one split of a prepared folder, through its feature cache.

    Reads ``prepare_folder/<split>.json`` (written by a prepare function such as
    ``prepare_ljspeech``) and computes, or loads from ``prepare_folder/features_<split>.pt``
    (zlib-compressed), :func:`audiodiff.data.compute_features` of it. The folder with its
    manifests and caches is all a machine without the audio needs, as long as the mel
    settings, ``num_frames``, ``dtype`` and ``augment`` match the ones it was built with.

    Arguments
    ---------
    prepare_folder : str
        Folder of the manifests and caches.
    split : str
        "train", "valid" or "test".
    mel : MelSpectrogram
        The analysis.
    sample_rate : int
        Sample rate of the analysis.
    num_frames : int, optional
        None: whole clips (variable length); else every clip padded or cropped to it.
    dtype : torch.dtype
        Storage dtype (float16 halves the cache).
    augment : object, optional
        See :func:`audiodiff.data.compute_features`.
    progress : bool
        Progress bar while computing.

    Returns
    -------
    dict
        ``clips`` (list of [n_mels, frames_i] tensors), ``augmented`` (list of lists, or
        None), ``ids`` (list of str), ``frames`` ([N] long).

    Raises
    ------
    DataFolderError
        No manifest for ``split``, or no readable audio for a cache that has to be computed.
    """
    manifest = manifest_paths(prepare_folder, names=(split,))[split]
    if not os.path.isfile(manifest):
        raise DataFolderError(
            f"no {split} manifest in {prepare_folder}: prepare it first (run without "
            "--skip_prep, or build the folder with the recipe's --prepare_only true)"
        )
    try:
        feats = compute_features(
            manifest,
            mel,
            sample_rate=sample_rate,
            num_frames=num_frames,
            cache_path=os.path.join(prepare_folder, f"features_{split}.pt"),
            dtype=dtype,
            augment=augment,
            compress=True,
            progress=progress,
        )
    except ValueError as err:
        raise DataFolderError(
            f"{err}; the features cached in {prepare_folder} (if any) were made with other "
            "settings (mel, image mode, dtype or augmentation): rebuild them where the audio is"
        ) from None
    clips = list(feats["mel_db"])
    return {
        "clips": clips,
        "augmented": feats.get("augmented"),
        "ids": feats["ids"],
        "frames": feats["frames"],
    }
