"""Score a set of generated spectrograms against real speech: frame statistics, modulation
spectrum, memorisation, beside the two controls (held-out real crops, shuffled real frames).

Every set is first clamped to the normaliser's range ``[low_db, high_db]`` (the range the
model can produce: ``denormalize(normalize(x))``), so real silence below ``low_db`` does not
count against the model. Sets:

- ``samples``: the generated spectrograms [N, n_mels, F];
- ``heldout``: ``num_heldout`` crops of F frames of held-out real clips (never trained on);
- ``valid`` (optional, ``valid_clips``): crops of validation clips, never trained on but
  drawn from the same random split as the training clips, so from the training distribution.
  A held-out passage (the last N ids of LJSpeech are one continuous chapter) can sit further
  from the training crops than the training distribution does; a model that matches that
  distribution then looks "memorised" against it. The validation crops are the fairer
  reference of the two, and every held-out comparison is repeated against them;
- ``shuffled``: the held-out crops with all their frames permuted (:func:`shuffle_frames`):
  real frame statistics, no temporal structure;
- reference for the Frechet distance: every frame of every training clip; for memorisation:
  every F-frame window of every training clip.
"""

import glob
import os

import torch

from audiodiff.data.crops import evaluation_crops
from audiodiff.metrics.spectrogram import (
    MODULATION_BAND,
    frame_frechet_distance,
    memorisation_ratio,
    modulation_distance,
    modulation_share,
    modulation_spectrum,
    nearest_crop_distances,
    shuffle_frames,
)

SETS = ("samples", "heldout", "valid", "shuffled")  # the order of tables; valid is optional
SET_TITLES = {
    "samples": "generated samples",
    "heldout": "held-out real crops",
    "valid": "validation real crops",
    "shuffled": "shuffled real frames",
}


def _summary(values):
    values = torch.as_tensor(values, dtype=torch.float64)
    return {
        "mean": float(values.mean()),
        "median": float(values.quantile(0.5)),
        "std": float(values.std()) if values.numel() > 1 else 0.0,
    }


def _clamp(normalizer, mel_db):
    """``mel_db`` clamped to the normaliser's dB range (float32)."""
    return normalizer.denormalize(normalizer.normalize(mel_db.detach().float().cpu()))


def evaluation_sets(
    samples_db,
    heldout_clips,
    normalizer,
    *,
    num_heldout=None,
    heldout_ids=None,
    valid_clips=None,
    valid_ids=None,
    seed=0,
):
    """The compared sets (module docstring), clamped to the normaliser's range.

    Held-out and validation crops are drawn alike (:func:`evaluation_crops`, ``num_heldout``
    of each, the same ``seed``).

    Returns
    -------
    sets : dict
        ``samples``, ``heldout``, ``shuffled`` (and ``valid`` when ``valid_clips`` is given)
        -> [n, n_mels, F] float32 dB (CPU).
    names : dict
        ``heldout`` (and ``valid``) -> list of ``<clip id>@<start frame>``, one per crop.

    Example
    -------
    >>> from audiodiff.audio import SpectrogramNormalizer
    >>> clips = [torch.randn(4, 40) * 10 - 40 for _ in range(3)]
    >>> sets, names = evaluation_sets(torch.randn(2, 4, 16) - 40, clips[:2],
    ...     SpectrogramNormalizer(-70.0, -10.0), valid_clips=clips[2:], valid_ids=["v"])
    >>> sorted(sets), [n.split("@")[0] for n in names["valid"]], sets["valid"].shape
    (['heldout', 'samples', 'shuffled', 'valid'], ['v', 'v'], torch.Size([2, 4, 16]))
    """
    num_frames = samples_db.shape[-1]
    num = num_heldout or len(samples_db)
    heldout, heldout_names = evaluation_crops(
        heldout_clips, num_frames, num, seed=seed, ids=heldout_ids
    )
    sets = {"samples": _clamp(normalizer, samples_db), "heldout": _clamp(normalizer, heldout)}
    sets["shuffled"] = shuffle_frames(sets["heldout"], torch.Generator().manual_seed(seed + 1))
    names = {"heldout": heldout_names}
    if valid_clips is not None:
        valid, names["valid"] = evaluation_crops(
            valid_clips, num_frames, num, seed=seed, ids=valid_ids
        )
        sets["valid"] = _clamp(normalizer, valid)
    return sets, names


@torch.no_grad()
def evaluate_spectrograms(
    samples_db,
    heldout_clips,
    train_clips,
    normalizer,
    frame_rate,
    *,
    num_heldout=None,
    heldout_ids=None,
    valid_clips=None,
    valid_ids=None,
    stride=1,
    band=MODULATION_BAND,
    seed=0,
    device=None,
):
    """Every metric of the module docstring, as a JSON-ready dict.

    Arguments
    ---------
    samples_db : torch.Tensor
        [N, n_mels, F] generated dB spectrograms.
    heldout_clips : list of torch.Tensor
        [n_mels, frames_i] dB spectrograms of held-out real clips.
    train_clips : list of torch.Tensor
        [n_mels, frames_i] dB spectrograms of the training clips.
    normalizer : audiodiff.audio.SpectrogramNormalizer
        The model's (fitted) normaliser.
    frame_rate : float
        Frames per second (sample_rate / hop_length).
    num_heldout : int, optional
        Held-out crops, and validation crops (default N).
    heldout_ids : list of str, optional
        Names of the held-out clips (for ``heldout_crops`` in the result).
    valid_clips : list of torch.Tensor, optional
        [n_mels, frames_i] dB spectrograms of validation clips (never trained on, from the
        training distribution): a second real control, the ``valid`` set.
    valid_ids : list of str, optional
        Their names (for ``valid_crops``).
    stride : int
        Start-frame step of the nearest-training-crop search (1: every frame).
    band : tuple of float
        Modulation band in Hz.
    seed : int
        Seed of the held-out (and validation) crops and of the shuffle.
    device : str or torch.device, optional
        Where the nearest-crop search runs (default: the samples' device).

    Returns
    -------
    dict
        ``counts``, ``settings``, ``frechet_frames`` (to the training frames, per set, plus
        ``samples_to_heldout``), ``modulation_share`` (per set: mean/median/std),
        ``modulation_distance`` (L1 between mean modulation spectra), ``modulation_spectrum``
        (frequencies and mean spectrum per set), ``nearest_train_distance`` (per set),
        ``memorisation`` (:func:`memorisation_ratio` of samples and of the shuffled control
        against held-out), ``goals`` and ``heldout_crops`` (their names). With
        ``valid_clips``, also: the ``valid`` set in every per-set entry,
        ``frechet_frames["samples_to_valid"]``, ``modulation_distance["samples_to_valid"]``
        and ``["valid_to_heldout"]``, ``memorisation_valid`` (samples against validation
        crops), ``memorisation_heldout_vs_valid`` (held-out crops against validation crops:
        below 1 when the held-out clips sit further from the training data than the training
        distribution does), ``goals["not_memorised_vs_valid"]`` and ``valid_crops``.

    Example
    -------
    >>> from audiodiff.audio import SpectrogramNormalizer
    >>> clips = [torch.randn(4, 40) * 10 - 40 for _ in range(5)]
    >>> norm = SpectrogramNormalizer(-70.0, -10.0)
    >>> out = evaluate_spectrograms(torch.randn(3, 4, 16) * 10 - 40, clips[:2], clips[2:4],
    ...                             norm, frame_rate=20.0, valid_clips=clips[4:])
    >>> sorted(out["frechet_frames"]), out["counts"]["valid"]
    (['heldout', 'samples', 'samples_to_heldout', 'samples_to_valid', 'shuffled', 'valid'], 3)
    """
    device = torch.device(device) if device is not None else samples_db.device
    normalizer = normalizer.to("cpu")
    sets, names = evaluation_sets(
        samples_db,
        heldout_clips,
        normalizer,
        num_heldout=num_heldout,
        heldout_ids=heldout_ids,
        valid_clips=valid_clips,
        valid_ids=valid_ids,
        seed=seed,
    )
    present = [name for name in SETS if name in sets]
    num_frames = sets["samples"].shape[-1]
    train_frames = torch.cat([_clamp(normalizer, c) for c in train_clips], dim=-1)[None]

    frechet = {name: frame_frechet_distance(sets[name], train_frames) for name in present}
    frechet["samples_to_heldout"] = frame_frechet_distance(sets["samples"], sets["heldout"])
    shares = {name: _summary(modulation_share(sets[name], frame_rate, band)) for name in present}
    freqs, _ = modulation_spectrum(sets["heldout"], frame_rate)
    spectra = {name: modulation_spectrum(sets[name], frame_rate)[1].mean(0) for name in present}
    pairs = [("samples", "heldout"), ("samples", "shuffled"), ("heldout", "shuffled")]
    if "valid" in sets:
        frechet["samples_to_valid"] = frame_frechet_distance(sets["samples"], sets["valid"])
        pairs += [("samples", "valid"), ("valid", "heldout")]
    distances = {f"{a}_to_{b}": modulation_distance(sets[a], sets[b], frame_rate) for a, b in pairs}

    train_norm = [normalizer.normalize(c.float()).to(device) for c in train_clips]
    nearest = {}
    for name in present:
        queries = normalizer.normalize(sets[name]).to(device)
        nearest[name], _ = nearest_crop_distances(queries, train_norm, stride=stride)
    memorisation = memorisation_ratio(nearest["samples"], nearest["heldout"])
    shuffled_ratio = memorisation_ratio(nearest["shuffled"], nearest["heldout"])

    goals = {
        "modulation_closer_to_real_than_to_shuffled": distances["samples_to_heldout"]
        < distances["samples_to_shuffled"],
        "not_memorised": memorisation["ratio_median"] >= 1.0,
        "frame_fd_ratio_to_heldout": frechet["samples"] / max(frechet["heldout"], 1e-12),
    }
    counts = {
        "samples": len(samples_db),
        "heldout": len(sets["heldout"]),
        "heldout_clips": len(heldout_clips),
        "train_clips": len(train_clips),
        "train_frames": int(train_frames.shape[-1]),
    }
    extra = {}
    if "valid" in sets:
        counts["valid"], counts["valid_clips"] = len(sets["valid"]), len(valid_clips)
        extra["memorisation_valid"] = memorisation_ratio(nearest["samples"], nearest["valid"])
        extra["memorisation_heldout_vs_valid"] = memorisation_ratio(
            nearest["heldout"], nearest["valid"]
        )
        goals["not_memorised_vs_valid"] = extra["memorisation_valid"]["ratio_median"] >= 1.0
        goals["frame_fd_ratio_to_valid"] = frechet["samples"] / max(frechet["valid"], 1e-12)
        extra["valid_crops"] = names["valid"]
    return {
        "counts": counts,
        "settings": {
            "num_frames": num_frames,
            "frame_rate_hz": frame_rate,
            "modulation_band_hz": list(band),
            "clamp_db": [float(normalizer.low_db), float(normalizer.high_db)],
            "nearest_crop_stride": stride,
            "seed": seed,
            "distance": "RMS over the normalised [-1, 1] image",
        },
        "frechet_frames": frechet,
        "modulation_share": shares,
        "modulation_distance": distances,
        "modulation_spectrum": {
            "freqs_hz": [round(float(f), 4) for f in freqs],
            **{name: [float(v) for v in spectra[name]] for name in present},
        },
        "nearest_train_distance": {name: _summary(nearest[name]) for name in present},
        "memorisation": memorisation,
        "memorisation_shuffled_control": shuffled_ratio,
        "goals": goals,
        "heldout_crops": names["heldout"],
        **extra,
    }


def _memorisation_line(mem, reference, goal):
    return (
        f"- memorisation ratio (median sample / median {reference} nearest-train distance): "
        f"{mem['ratio_median']:.3f} (means: {mem['ratio_mean']:.3f}; samples nearer than every"
        f" {reference} crop: {mem['fraction_below_heldout_min']:.1%}; not memorised: {goal})"
    )


def format_spectrogram_table(result):
    """A markdown table of :func:`evaluate_spectrograms`' result (plus the memorisation and
    goal lines; with a ``valid`` set, its row and the same lines against it).

    Example
    -------
    >>> from audiodiff.audio import SpectrogramNormalizer
    >>> clips = [torch.randn(4, 40) * 10 - 40 for _ in range(4)]
    >>> out = evaluate_spectrograms(torch.randn(3, 4, 16) * 10 - 40, clips[:2], clips[2:],
    ...                             SpectrogramNormalizer(-70.0, -10.0), frame_rate=20.0)
    >>> format_spectrogram_table(out).splitlines()[0].startswith("| set |")
    True
    """
    band = result["settings"]["modulation_band_hz"]
    lines = [
        f"| set | n | frame FD to train (dB^2) | {band[0]:g}-{band[1]:g} Hz modulation share "
        "(mean +- sd) | modulation L1 to held-out | nearest-train RMS distance (median) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    modulation = result["modulation_distance"]
    to_heldout = {
        "samples": modulation["samples_to_heldout"],
        "heldout": 0.0,
        "valid": modulation.get("valid_to_heldout"),
        "shuffled": modulation["heldout_to_shuffled"],
    }
    counts = dict(result["counts"], shuffled=result["counts"]["heldout"])
    for name in SETS:
        if name not in result["modulation_share"]:
            continue
        share = result["modulation_share"][name]
        lines.append(
            f"| {SET_TITLES[name]} | {counts[name]} | {result['frechet_frames'][name]:.1f} | "
            f"{share['mean']:.3f} +- {share['std']:.3f} | {to_heldout[name]:.3f} | "
            f"{result['nearest_train_distance'][name]['median']:.4f} |"
        )
    goals = result["goals"]
    lines += [
        "",
        f"- frame FD samples to held-out: {result['frechet_frames']['samples_to_heldout']:.1f}"
        f" dB^2; samples' FD to train / held-out's: {goals['frame_fd_ratio_to_heldout']:.2f}",
        f"- modulation L1: samples to held-out {modulation['samples_to_heldout']:.3f}, to "
        f"shuffled {modulation['samples_to_shuffled']:.3f} (closer to real: "
        f"{goals['modulation_closer_to_real_than_to_shuffled']})",
        _memorisation_line(result["memorisation"], "held-out", goals["not_memorised"]),
    ]
    if "memorisation_valid" in result:
        between = result["memorisation_heldout_vs_valid"]["ratio_median"]
        lines += [
            f"- validation crops (never trained on, training distribution): frame FD samples to"
            f" validation {result['frechet_frames']['samples_to_valid']:.1f} dB^2; samples' FD"
            f" to train / validation's: {goals['frame_fd_ratio_to_valid']:.2f}; modulation L1"
            f" samples to validation {modulation['samples_to_valid']:.3f}",
            _memorisation_line(
                result["memorisation_valid"], "validation", goals["not_memorised_vs_valid"]
            ),
            f"- held-out / validation median nearest-train distance: {between:.3f}",
        ]
    return "\n".join(lines)


def write_comparison_grid(sets, names, path, clamp_db, num=8):
    """PNG: ``num`` generated spectrograms (top rows) beside ``num`` held-out real crops.

    Arguments
    ---------
    sets, names : dict
        From :func:`evaluation_sets`.
    path : str
        The PNG file.
    clamp_db : tuple of float
        The colour range shared by all panels (the normaliser's dB range).
    num : int
        Panels of each kind.

    Returns
    -------
    str
        ``path``.
    """
    from audiodiff.audio import plot_spectrograms

    num = min(num, len(sets["samples"]), len(sets["heldout"]))
    specs = torch.cat([sets["samples"][:num], sets["heldout"][:num]])
    titles = [f"sample {i}" for i in range(num)] + [f"real {n}" for n in names["heldout"][:num]]
    low, high = clamp_db
    return plot_spectrograms(specs, path, titles=titles, ncols=4, vmin=low, vmax=high)


def load_sample_spectrograms(folder, mel=None, num_frames=None):
    """The generated dB spectrograms of a sample folder.

    ``folder/mel_db.pt`` ([N, n_mels, frames], written by ``generate.py``) when it exists:
    the model's own output. Otherwise every ``folder/wav/*.wav`` (sorted) is analysed with
    ``mel`` (so any folder of wavs can be scored; the vocoder's losses then count too) and
    cropped to ``num_frames``.

    Returns
    -------
    mel_db : torch.Tensor
        [N, n_mels, frames] float32.
    source : str
        ``"mel_db.pt"`` or ``"wav"``.
    """
    from audiodiff.audio import amplitude_to_db, read_audio

    path = os.path.join(folder, "mel_db.pt")
    if os.path.isfile(path):
        mel_db = torch.load(path, map_location="cpu", weights_only=True).float()
        return (mel_db[..., :num_frames] if num_frames else mel_db), "mel_db.pt"
    wavs = sorted(glob.glob(os.path.join(folder, "wav", "*.wav")))
    if not wavs:
        raise FileNotFoundError(f"{folder} holds neither mel_db.pt nor wav/*.wav")
    if mel is None:
        raise ValueError("scoring wav files needs the mel transform (mel=...)")
    specs = []
    for wav_path in wavs:
        wav, _ = read_audio(wav_path, sample_rate=mel.sample_rate)
        spec = amplitude_to_db(mel(wav.unsqueeze(0)))[0]
        specs.append(spec[..., :num_frames] if num_frames else spec)
    frames = min(s.shape[-1] for s in specs)
    return torch.stack([s[..., :frames] for s in specs]), "wav"
