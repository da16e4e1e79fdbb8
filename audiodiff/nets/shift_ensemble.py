"""Average a patched waveform network over the sub-patch shifts of its input.

A waveform network that folds ``p`` consecutive samples into one time step (DiffWave's
``patch_size``) sees sample ``n`` at patch position ``n mod p``. Whatever it gets wrong in a
position-dependent way repeats with period ``p``: a spectral line at ``fs / p`` (4 kHz for
``p = 4`` at 16 kHz) and its multiples. Running the network on the input delayed by
``k = 0 .. p-1`` samples and averaging the re-aligned outputs puts every sample at every
patch position once, so a per-position error ``b[(n + k) mod p]`` averages to its mean
(a constant): the averaged network is equivariant to one-sample shifts. It costs ``p``
network calls per call, and changes nothing for ``p = 1``. Measured on trained patch-4 SC09
models, it lowers their 4 kHz line but does not remove it (+16.2 to +14.5 dB over the
neighbouring band on an H100-trained model, +26.9 to +14.1 dB at the 4 kHz bin on a CPU-trained
one, ``benchmarks/RESULTS.md``): those models also make random-phase oscillations at fs / p,
which no averaging of aligned outputs cancels.
"""

import torch  # noqa: F401 (the Example uses it)
import torch.nn.functional as F
from torch import nn


class ShiftEnsemble(nn.Module):
    """``model(x, *args, **kwargs)`` averaged over the input delayed by each of ``shifts``
    samples (default: ``0 .. model.patch_size - 1``), each output re-aligned to ``x``.

    Arguments
    ---------
    model : callable
        A network ``model(x, ...)`` with ``x`` and its output [batch, channels, samples];
        extra arguments pass through unchanged.
    shifts : int or list of int, optional
        The delays in samples: a list, or a count ``n`` for ``0 .. n-1``; default the
        model's ``patch_size`` (1 when it has none).

    Example
    -------
    >>> class Phase(nn.Module):  # a toy "patch 4" network: adds a bias per patch position
    ...     patch_size = 4
    ...     def forward(self, x, t):
    ...         bias = torch.tensor([1.0, -1.0, 2.0, -2.0]).repeat(-(-x.shape[-1] // 4))
    ...         return x + bias[: x.shape[-1]]
    >>> x = torch.zeros(1, 1, 8)
    >>> Phase()(x, 0)[0, 0].tolist()
    [1.0, -1.0, 2.0, -2.0, 1.0, -1.0, 2.0, -2.0]
    >>> ShiftEnsemble(Phase())(x, 0)[0, 0].tolist()  # the period-4 pattern averages out
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    """

    def __init__(self, model, shifts=None):
        super().__init__()
        if shifts is None:
            shifts = getattr(model, "patch_size", 1)
        if isinstance(shifts, int):
            if shifts < 1:
                raise ValueError(f"shifts must be >= 1, got {shifts}")
            shifts = range(shifts)
        self.shifts = [int(k) for k in shifts]
        if not self.shifts or min(self.shifts) < 0:
            raise ValueError(f"shifts must be non-negative delays, got {self.shifts}")
        self.model = model

    def forward(self, x, *args, **kwargs):
        """The mean over the shifts of ``model(delay(x, k), ...)`` advanced by ``k``."""
        length = x.shape[-1]
        total = None
        for k in self.shifts:
            out = self.model(F.pad(x, (k, 0)) if k else x, *args, **kwargs)[..., k : k + length]
            total = out.float() if total is None else total + out.float()
        return (total / len(self.shifts)).to(x.dtype)
