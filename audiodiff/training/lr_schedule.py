"""Learning-rate factors that follow training progress (planned steps or a time budget)."""

import math


def warmup_cosine(progress, warmup_fraction, floor=0.01):
    """Learning-rate factor: linear warm-up to 1, then cosine decay to ``floor``.

    Arguments
    ---------
    progress : float
        Fraction of training done, in [0, 1] (:func:`training_progress`).
    warmup_fraction : float
        Fraction of training spent warming up.
    floor : float
        Smallest factor (at the start of warm-up and at the end).

    Returns
    -------
    float

    Example
    -------
    >>> [round(warmup_cosine(p, 0.1), 3) for p in (0.05, 0.1, 0.55, 1.0)]
    [0.5, 1.0, 0.505, 0.01]
    """
    if progress < warmup_fraction:
        return max(floor, progress / warmup_fraction)
    span = max(1e-8, 1.0 - warmup_fraction)
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(1.0, (progress - warmup_fraction) / span)))
    return floor + (1.0 - floor) * cosine


def training_progress(steps, planned_steps, minutes=0.0, budget_minutes=None):
    """Fraction of training done: of the planned steps or of the time budget, the larger.

    Arguments
    ---------
    steps : int
        Optimizer steps taken.
    planned_steps : int
        Steps the run would take without a time budget.
    minutes : float
        Minutes of training so far.
    budget_minutes : float, optional
        ``max_train_minutes`` (None or 0: no time budget).

    Returns
    -------
    float
        In [0, 1].

    Example
    -------
    >>> training_progress(10, 100), training_progress(10, 100, 3.0, 4.0)
    (0.1, 0.75)
    """
    done = steps / max(1, planned_steps)
    if budget_minutes:
        done = max(done, minutes / budget_minutes)
    return min(1.0, done)
