"""The training data's mean square, kept in the experiment folder for sampling.

A recipe with ``sample_data_variance: auto`` measures E[x0^2] of its training split when it
starts. It writes the value to ``data_stats.json`` beside ``labels.json``. The brain's epoch
samples and ``generate.py`` (through ``SpectrogramGenerator`` / ``WaveformGenerator``) start
their samplers from the matching marginal std (``audiodiff.diffusion.samplers.start``).
"""

import json
import os

DATA_STATS_FILE = "data_stats.json"


def measure_data_stats(x0):
    """``{"mean_square": E[x0^2], "num_items": N}`` of training data in the network's units.

    Arguments
    ---------
    x0 : torch.Tensor
        [N, ...] training data (e.g. [N, samples] waveforms).

    Returns
    -------
    dict

    Example
    -------
    >>> import torch
    >>> measure_data_stats(torch.full((2, 4), 0.5))
    {'mean_square': 0.25, 'num_items': 2}
    """
    return {"mean_square": float(x0.double().pow(2).mean()), "num_items": int(x0.shape[0])}


def write_data_stats(folder, stats):
    """Write ``stats`` (:func:`measure_data_stats`) to ``folder/data_stats.json``.

    Example
    -------
    >>> import tempfile, torch
    >>> folder = tempfile.mkdtemp()
    >>> write_data_stats(folder, measure_data_stats(torch.ones(1, 2)))
    >>> read_data_stats(folder)["mean_square"]
    1.0
    """
    with open(os.path.join(folder, DATA_STATS_FILE), "w", encoding="utf-8") as f:
        json.dump(stats, f, indent=1)


def read_data_stats(folder):
    """The dict of ``folder/data_stats.json``, or None when the file is absent.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> read_data_stats(folder) is None
    True
    """
    path = os.path.join(folder, DATA_STATS_FILE)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def sampling_data_variance(value, data_stats=None):
    """The ``data_variance`` a sampler gets from the hparam ``sample_data_variance``.

    Arguments
    ---------
    value : None, float or "auto"
        None: unit-variance start (the usual); a number: that mean square; "auto": the
        measured one in ``data_stats``.
    data_stats : dict, optional
        What :func:`read_data_stats` (or training) gave.

    Returns
    -------
    float or None

    Raises
    ------
    ValueError
        For "auto" without measured statistics, or a value that is neither.

    Example
    -------
    >>> sampling_data_variance("auto", {"mean_square": 0.002})
    0.002
    >>> sampling_data_variance(None) is None
    True
    """
    if value is None:
        return None
    if value == "auto":
        if not data_stats or "mean_square" not in data_stats:
            raise ValueError(
                f"sample_data_variance is 'auto' but the experiment has no {DATA_STATS_FILE} "
                "(written when training starts): retrain, or pass a number (or null)"
            )
        return float(data_stats["mean_square"])
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"sample_data_variance must be null, a number or 'auto', got {value!r}"
        ) from None
