"""Speed of audio generation: wall-clock timing with CUDA synchronisation, real-time factor.

RTF (real-time factor) = seconds of compute / seconds of audio produced: below 1 is faster
than real time; ``1 / RTF`` is the "x real time" speed-up. CUDA kernels run asynchronously,
so every timing synchronises the device before reading the clock.
"""

import statistics
import time

import torch


def synchronize(device=None):
    """Wait for all queued work on ``device`` when it is a CUDA device (no-op otherwise).

    Arguments
    ---------
    device : str or torch.device, optional
        The device timed; None: the current CUDA device when CUDA is initialised.

    Example
    -------
    >>> synchronize("cpu")
    """
    if device is None:
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.synchronize()
        return
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Timer:
    """Context manager measuring the wall-clock seconds of its block, device synchronised.

    Arguments
    ---------
    device : str or torch.device, optional
        Device synchronised on entry and on exit (see :func:`synchronize`).

    Example
    -------
    >>> with Timer("cpu") as timer:
    ...     _ = torch.ones(8).sum()
    >>> timer.seconds >= 0.0
    True
    """

    def __init__(self, device=None):
        self.device = device
        self.seconds = None

    def __enter__(self):
        synchronize(self.device)
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        synchronize(self.device)
        self.seconds = time.perf_counter() - self._start
        return False


def measure_speed(
    fn, *, audio_seconds, repeats=10, warmup=2, device=None, num_items=1, sample_rate=None
):
    """Time ``fn()`` (which produces ``audio_seconds`` of audio) and derive speed figures.

    ``fn`` is called ``warmup`` times untimed (compilation, caches, cuDNN autotuning), then
    ``repeats`` times, each call timed with :class:`Timer` on ``device``.

    Arguments
    ---------
    fn : callable
        No-argument function doing the work once.
    audio_seconds : float
        Seconds of audio one call produces, summed over its ``num_items`` items.
    repeats : int
        Timed calls (>= 1).
    warmup : int
        Untimed calls first (>= 0).
    device : str or torch.device, optional
        Device to synchronise (CUDA); None: the current CUDA device if CUDA is in use.
    num_items : int
        Items (clips, utterances) one call produces.
    sample_rate : int, optional
        Audio sample rate: adds ``audio_samples_per_second``.

    Returns
    -------
    dict
        ``seconds`` (median per call), ``seconds_mean``, ``seconds_min``, ``seconds_std``,
        ``rtf`` (median seconds / audio_seconds), ``x_realtime`` (1 / rtf),
        ``items_per_second``, ``repeats``, and ``audio_samples_per_second`` with
        ``sample_rate``.

    Example
    -------
    >>> out = measure_speed(lambda: torch.randn(16000), audio_seconds=1.0, repeats=3,
    ...                     warmup=1, sample_rate=16000)
    >>> out["repeats"], out["rtf"] == out["seconds"], out["rtf"] > 0
    (3, True, True)
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats} and {warmup}")
    if audio_seconds <= 0:
        raise ValueError(f"audio_seconds must be > 0, got {audio_seconds}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        with Timer(device) as timer:
            fn()
        times.append(timer.seconds)
    median = statistics.median(times)
    median = max(median, 1e-12)  # a timer tick of 0 on very fast calls
    out = {
        "seconds": median,
        "seconds_mean": statistics.fmean(times),
        "seconds_min": min(times),
        "seconds_std": statistics.pstdev(times),
        "rtf": median / audio_seconds,
        "x_realtime": audio_seconds / median,
        "items_per_second": num_items / median,
        "repeats": repeats,
    }
    if sample_rate is not None:
        out["audio_samples_per_second"] = audio_seconds * sample_rate / median
    return out
