import numpy as np
import pytest
import torch

from audiodiff.audio.plotting import plot_spectrograms


def test_writes_png_grid(tmp_path):
    specs = [torch.randn(80, 64), np.random.randn(80, 40), torch.randn(80, 10)]
    path = plot_spectrograms(specs, tmp_path / "out" / "grid.png", titles=["a", "b", "c"])
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_tensor_batch_and_shared_range(tmp_path):
    path = tmp_path / "batch.png"
    plot_spectrograms(torch.randn(5, 20, 30), path, ncols=2, vmin=-1, vmax=1)
    assert path.stat().st_size > 1000
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []  # figure closed


def test_title_count_checked(tmp_path):
    with pytest.raises(ValueError, match="titles"):
        plot_spectrograms(torch.randn(2, 8, 8), tmp_path / "x.png", titles=["only one"])
