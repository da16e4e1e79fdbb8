"""Name, write and plot generated samples: ``<folder>/wav/digit7_spk3_000.wav`` + a PNG grid."""

import json
import os
import re

import torch

from audiodiff.audio import plot_spectrograms, write_audio

# Short tags used in sample file names, one per label name.
LABEL_TAGS = {"digit": "digit", "speaker": "spk"}
_NAME_RE = re.compile(r"([a-z]+)(\d+)")


def sample_name(labels, index):
    """Return the file stem of one sample from its labels.

    Arguments
    ---------
    labels : dict
        Label name -> int (e.g. ``{"digit": 7, "speaker": 3}``); empty for unconditional.
    index : int
        Running index of the sample among those with the same labels.

    Returns
    -------
    str

    Example
    -------
    >>> sample_name({"digit": 7, "speaker": 3}, 0)
    'digit7_spk3_000'
    >>> sample_name({}, 12)
    'uncond_012'
    """
    parts = [f"{LABEL_TAGS.get(k, k)}{int(v)}" for k, v in labels.items()]
    return "_".join(parts or ["uncond"]) + f"_{index:03d}"


def parse_sample_name(name):
    """Recover the labels from a sample file name written by :func:`sample_name`.

    Arguments
    ---------
    name : str
        File name or path, e.g. ``.../digit7_spk3_000.wav``.

    Returns
    -------
    dict
        Label name -> int.

    Example
    -------
    >>> parse_sample_name("out/wav/digit7_spk3_000.wav")
    {'digit': 7, 'speaker': 3}
    """
    stem = os.path.splitext(os.path.basename(name))[0]
    tags = {tag: label for label, tag in LABEL_TAGS.items()}
    labels = {}
    for part in stem.split("_"):
        match = _NAME_RE.fullmatch(part)
        if match and match.group(1) in tags:
            labels[tags[match.group(1)]] = int(match.group(2))
    return labels


def label_grid(label_classes, per_label, values=None):
    """Every combination of the conditioning labels, ``per_label`` times each.

    Arguments
    ---------
    label_classes : dict
        Label name -> number of classes (empty dict: unconditional).
    per_label : int
        Samples per combination (or in all, for unconditional).
    values : dict, optional
        Label name -> list of values to use instead of all classes.

    Returns
    -------
    list of dict
        One label dict per sample.

    Example
    -------
    >>> label_grid({"digit": 2}, 2)
    [{'digit': 0}, {'digit': 0}, {'digit': 1}, {'digit': 1}]
    >>> len(label_grid({}, 3))
    3
    """
    combos = [{}]
    for name, num in label_classes.items():
        choices = (values or {}).get(name, range(num))
        combos = [{**c, name: int(v)} for c in combos for v in choices]
    return [dict(c) for c in combos for _ in range(per_label)]


def labels_to_tensors(grid, device=None):
    """Stack a list of label dicts into label tensors ([n] long each).

    Example
    -------
    >>> labels_to_tensors([{"digit": 1}, {"digit": 4}])
    {'digit': tensor([1, 4])}
    """
    names = grid[0].keys() if grid else []
    return {n: torch.tensor([g[n] for g in grid], dtype=torch.long, device=device) for n in names}


def write_sample_folder(folder, wavs, mels_db, grid, sample_rate, label_names=None, max_plots=16):
    """Write ``folder/wav/<name>.wav`` for every sample and ``folder/spectrograms.png``.

    Arguments
    ---------
    folder : str
        Output folder (created).
    wavs : torch.Tensor
        [n, samples] waveforms.
    mels_db : torch.Tensor
        [n, n_mels, frames] dB mel spectrograms (plotted).
    grid : list of dict
        The labels of each sample (see :func:`label_grid`).
    sample_rate : int
        Sample rate of ``wavs``.
    label_names : dict, optional
        Label name -> list of class names (e.g. speaker names), saved in ``labels.json``.
    max_plots : int
        How many spectrograms go into the PNG grid.

    Returns
    -------
    list of str
        Paths of the written wav files.

    Example
    -------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> paths = write_sample_folder(out, torch.zeros(2, 1600), torch.zeros(2, 8, 5),
    ...                             [{"digit": 1}, {"digit": 1}], 16000)
    >>> [os.path.basename(p) for p in paths]
    ['digit1_000.wav', 'digit1_001.wav']
    """
    wav_dir = os.path.join(folder, "wav")
    os.makedirs(wav_dir, exist_ok=True)
    counts, paths, titles = {}, [], []
    for wav, labels in zip(wavs.detach().cpu(), grid):
        key = tuple(sorted(labels.items()))
        counts[key] = counts.get(key, -1) + 1
        stem = sample_name(labels, counts[key])
        path = os.path.join(wav_dir, stem + ".wav")
        write_audio(path, wav, sample_rate)
        paths.append(path)
        titles.append(stem)
    show = min(max_plots, len(paths))
    if show:
        plot_spectrograms(
            mels_db[:show].detach().float().cpu(),
            os.path.join(folder, "spectrograms.png"),
            titles=titles[:show],
        )
    with open(os.path.join(folder, "labels.json"), "w") as f:
        json.dump({"samples": dict(zip(titles, grid)), "label_names": label_names or {}}, f)
    return paths


_SLUG_RE = re.compile(r"[^0-9a-z]+")


def tts_sample_name(text, speaker, index, max_text=40):
    """File stem of a synthesised utterance: ``<text slug>__<speaker slug>_<index>``.

    Arguments
    ---------
    text : str
        The text spoken (or the source utterance's id for voice conversion).
    speaker : str
        The target speaker (name, or the reference's id).
    index : int
        Running index among samples with the same text and speaker.
    max_text : int
        Longest text slug kept.

    Returns
    -------
    str

    Example
    -------
    >>> tts_sample_name("Seven!", "jackson", 2)
    'seven__jackson_002'
    >>> tts_sample_name("We call it bear", "SPEAKER 1099", 0)
    'we-call-it-bear__speaker-1099_000'
    """
    slug = lambda s: _SLUG_RE.sub("-", str(s).lower()).strip("-") or "x"  # noqa: E731
    return f"{slug(text)[:max_text].rstrip('-')}__{slug(speaker)}_{index:03d}"


def write_tts_samples(folder, wavs, mels_db, infos, sample_rate, max_plots=16):
    """Write ``folder/wav/<text>__<speaker>_NNN.wav``, ``spectrograms.png`` and ``labels.json``.

    Arguments
    ---------
    folder : str
        Output folder (created).
    wavs : list of torch.Tensor
        [samples_i] waveforms (any lengths).
    mels_db : list of torch.Tensor
        [n_mels, frames_i] dB mels (plotted).
    infos : list of dict
        Per sample: ``text`` and ``speaker`` (used in the name) and anything else worth
        keeping (reference, digit, source); saved in ``labels.json`` under ``samples``.
    sample_rate : int
        Sample rate of ``wavs``.
    max_plots : int
        Spectrograms in the PNG grid.

    Returns
    -------
    list of str
        Paths of the wav files, in the order of ``wavs``.

    Example
    -------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> paths = write_tts_samples(out, [torch.zeros(800)] * 2, [torch.zeros(8, 5)] * 2,
    ...                           [{"text": "one", "speaker": "theo"}] * 2, 16000)
    >>> [os.path.basename(p) for p in paths]
    ['one__theo_000.wav', 'one__theo_001.wav']
    """
    wav_dir = os.path.join(folder, "wav")
    os.makedirs(wav_dir, exist_ok=True)
    counts, paths, stems = {}, [], []
    for wav, info in zip(wavs, infos):
        key = (info["text"], info["speaker"])
        counts[key] = counts.get(key, -1) + 1
        stem = tts_sample_name(info["text"], info["speaker"], counts[key])
        path = os.path.join(wav_dir, stem + ".wav")
        write_audio(path, wav.detach().float().cpu().reshape(-1), sample_rate)
        paths.append(path)
        stems.append(stem)
    show = min(max_plots, len(paths))
    if show:
        grid = [m.detach().float().cpu() for m in mels_db[:show]]
        plot_spectrograms(grid, os.path.join(folder, "spectrograms.png"), titles=stems[:show])
    with open(os.path.join(folder, "labels.json"), "w", encoding="utf-8") as f:
        json.dump({"samples": dict(zip(stems, infos))}, f, indent=1)
    return paths
