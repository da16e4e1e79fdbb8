"""Range normalisation of dB spectrograms to [-1, 1] for diffusion models."""

import torch
from torch import nn

from audiodiff.audio.mel import floor_db

LOW_PERCENTILE = 0.5
HIGH_PERCENTILE = 99.5
_MAX_FIT_VALUES = 1 << 24  # torch.quantile's input limit; larger inputs are strided down


class SpectrogramNormalizer(nn.Module):
    """Maps dB spectrograms linearly from [low_db, high_db] to [-1, 1] (clamped).

    ``low_db`` and ``high_db`` are buffers, so they are saved and restored with the model's
    ``state_dict`` (checkpoints carry the statistics). They are NaN until set, either by the
    constructor or by ``fit``; using an unfitted normaliser raises ``RuntimeError``.

    ``fit`` takes robust statistics: ``low_db`` is the 0.5th and ``high_db`` the 99.5th
    percentile of all values, ignoring values at or below the dB floor (padding and digital
    silence, which would otherwise pull ``low_db`` down to the floor). Values outside the range
    are clamped by ``normalize``.

    Arguments
    ---------
    low_db : float, optional
        dB value mapped to -1.
    high_db : float, optional
        dB value mapped to +1.

    Example
    -------
    >>> norm = SpectrogramNormalizer()
    >>> norm.is_fitted
    False
    >>> db = torch.linspace(-80.0, 20.0, 1001).reshape(1, 7, 143)
    >>> _ = norm.fit(db)
    >>> round(float(norm.low_db), 1), round(float(norm.high_db), 1)
    (-79.5, 19.5)
    >>> x = norm.normalize(db)
    >>> float(x.min()), float(x.max())
    (-1.0, 1.0)
    >>> norm.denormalize(torch.tensor([-1.0, 1.0]))
    tensor([-79.5000,  19.5000])
    """

    def __init__(self, low_db=None, high_db=None):
        super().__init__()
        nan = float("nan")
        self.register_buffer("low_db", torch.tensor(nan if low_db is None else float(low_db)))
        self.register_buffer("high_db", torch.tensor(nan if high_db is None else float(high_db)))

    @property
    def is_fitted(self):
        """bool: whether both statistics are set (not NaN)."""
        return bool(torch.isfinite(self.low_db) & torch.isfinite(self.high_db))

    def _check_fitted(self):
        if not self.is_fitted:
            raise RuntimeError(
                "normalizer not fitted: call fit(db_spectrograms) or load a checkpoint "
                "holding low_db/high_db before normalize/denormalize"
            )

    @torch.no_grad()
    def fit(self, db_batches, floor=None):
        """Sets ``low_db``/``high_db`` from robust percentiles of dB spectrograms.

        Arguments
        ---------
        db_batches : torch.Tensor or iterable of torch.Tensor
            [N, n_mels, frames] dB values (any shape works), or an iterable of such tensors.
        floor : float, optional
            Values at or below this dB level are ignored (default: the floor of
            ``amplitude_to_db``, -100 dB). Pass ``float("-inf")`` to keep every value.

        Returns
        -------
        SpectrogramNormalizer
            ``self``.
        """
        floor = floor_db() if floor is None else floor
        if isinstance(db_batches, torch.Tensor):
            db_batches = [db_batches]
        values = torch.cat([b.detach().float().reshape(-1).cpu() for b in db_batches])
        values = values[values > floor]
        if values.numel() == 0:
            raise ValueError("cannot fit normalizer: no dB values above the floor")
        if values.numel() > _MAX_FIT_VALUES:
            stride = -(-values.numel() // _MAX_FIT_VALUES)
            values = values[::stride]
        q = torch.tensor([LOW_PERCENTILE, HIGH_PERCENTILE]) / 100.0
        low, high = torch.quantile(values, q).tolist()
        if high <= low:
            high = low + 1.0
        self.low_db.fill_(low)
        self.high_db.fill_(high)
        return self

    def normalize(self, db):
        """Maps dB values to [-1, 1]: ``2 (db - low_db) / (high_db - low_db) - 1``, clamped.

        Arguments
        ---------
        db : torch.Tensor
            [batch, n_mels, frames] (any shape) in dB.

        Returns
        -------
        torch.Tensor
            Same shape, in [-1, 1].
        """
        self._check_fitted()
        x = 2.0 * (db - self.low_db) / (self.high_db - self.low_db) - 1.0
        return x.clamp(-1.0, 1.0)

    def denormalize(self, x):
        """Maps [-1, 1] back to dB (inputs are clamped to [-1, 1] first).

        Arguments
        ---------
        x : torch.Tensor
            Normalised values, any shape.

        Returns
        -------
        torch.Tensor
            Same shape, in dB, within [low_db, high_db].
        """
        self._check_fitted()
        x = x.clamp(-1.0, 1.0)
        return (x + 1.0) / 2.0 * (self.high_db - self.low_db) + self.low_db

    def extra_repr(self):
        return f"low_db={float(self.low_db):.2f}, high_db={float(self.high_db):.2f}"
