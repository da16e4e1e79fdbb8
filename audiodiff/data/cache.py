"""A keyed ``torch.save`` cache for prepared tensors (features, waveforms).

A cache file is either a plain ``torch.save`` file or, when written with ``compress=True``,
the bytes ``ADZ1`` followed by the zlib-compressed ``torch.save`` bytes; both are read back the
same way.
"""

import io
import logging
import os
import zlib

import torch

logger = logging.getLogger(__name__)

_ZLIB_MAGIC = b"ADZ1"


def load_cache(cache_path, key, what="data"):
    """The value cached in ``cache_path`` under ``key``, or None (missing, stale, unreadable).

    Arguments
    ---------
    cache_path : str or os.PathLike
        File written by :func:`save_cache`.
    key : str
        Hash of everything the cached value depends on.
    what : str
        Name used in log messages ("features", "waveforms").

    Returns
    -------
    The cached value, or None.

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mkdtemp() + "/c.pt"
    >>> load_cache(path, "k1") is None
    True
    >>> save_cache(path, "k1", {"x": torch.ones(2)})
    >>> load_cache(path, "k1")["x"].tolist(), load_cache(path, "k2") is None
    ([1.0, 1.0], True)
    >>> save_cache(path, "k3", {"x": torch.zeros(1000)}, compress=True)
    >>> os.path.getsize(path) < 1000, load_cache(path, "k3")["x"].shape
    (True, torch.Size([1000]))
    """
    if cache_path is None or not os.path.isfile(cache_path):
        return None
    try:
        with open(cache_path, "rb") as f:
            data = f.read()
        if data.startswith(_ZLIB_MAGIC):
            data = zlib.decompress(data[len(_ZLIB_MAGIC) :])
        cached = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:  # unreadable cache: recompute
        logger.warning("ignoring unreadable %s cache %s (%s)", what, cache_path, err)
        return None
    if not isinstance(cached, dict) or cached.get("key") != key or "value" not in cached:
        return None
    logger.info("loaded %s from cache %s", what, cache_path)
    return cached["value"]


def save_cache(cache_path, key, value, compress=False):
    """Save ``value`` under ``key`` to ``cache_path`` atomically (write, then rename).

    Arguments
    ---------
    cache_path : str or os.PathLike
        Destination file (its folder is created).
    key : str
        Hash of everything the value depends on.
    value : object
        Tensors / lists / dicts that ``torch.load(weights_only=True)`` can read back.
    compress : bool
        Write the zlib-compressed form (smaller, e.g. to carry a cache to another machine).
    """
    parent = os.path.dirname(os.fspath(cache_path))
    if parent:
        os.makedirs(parent, exist_ok=True)
    tmp = f"{os.fspath(cache_path)}.tmp"
    if compress:
        buffer = io.BytesIO()
        torch.save({"key": key, "value": value}, buffer)
        with open(tmp, "wb") as f:
            f.write(_ZLIB_MAGIC + zlib.compress(buffer.getvalue(), 6))
    else:
        torch.save({"key": key, "value": value}, tmp)
    os.replace(tmp, cache_path)
