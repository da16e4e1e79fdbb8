"""Spectrogram figures (PNG grids) for sample inspection."""

import math
import os

import numpy as np
import torch


def plot_spectrograms(specs, path, titles=None, ncols=4, vmin=None, vmax=None):
    """Writes a grid of spectrogram images to a PNG file.

    matplotlib is imported here, with the non-interactive Agg backend, so importing audiodiff
    never needs a display; the figure is closed after saving.

    Arguments
    ---------
    specs : torch.Tensor, numpy.ndarray or list
        [N, n_mels, frames] tensor/array, or a list of [n_mels, frames] tensors/arrays
        (frame counts may differ).
    path : str or os.PathLike
        Output PNG file; parent folders are created.
    titles : list of str, optional
        One title per spectrogram.
    ncols : int
        Number of grid columns.
    vmin, vmax : float, optional
        Colour range shared by all panels (default: each panel's own range).

    Returns
    -------
    str
        ``path``.

    Example
    -------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "specs.png")
    >>> _ = plot_spectrograms(torch.randn(3, 8, 10), path, titles=["a", "b", "c"], ncols=2)
    >>> os.path.getsize(path) > 0
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if isinstance(specs, (torch.Tensor, np.ndarray)) and specs.ndim == 2:
        specs = [specs]
    arrays = [
        s.detach().float().cpu().numpy() if isinstance(s, torch.Tensor) else np.asarray(s)
        for s in specs
    ]
    if len(arrays) == 0:
        raise ValueError("plot_spectrograms needs at least one spectrogram")
    if titles is not None and len(titles) != len(arrays):
        raise ValueError(f"got {len(titles)} titles for {len(arrays)} spectrograms")
    ncols = max(1, min(ncols, len(arrays)))
    nrows = math.ceil(len(arrays) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3 * ncols, 2.5 * nrows), squeeze=False)
    try:
        for i, ax in enumerate(axes.flat):
            if i >= len(arrays):
                ax.axis("off")
                continue
            ax.imshow(arrays[i], origin="lower", aspect="auto", vmin=vmin, vmax=vmax)
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.tight_layout()
        path = os.fspath(path)
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return path
