"""The starting noise of a sampler, matched to the marginal of its noisiest level.

A sampler starts at its noisiest level, alpha_bar_S, from x_S ~ N(0, I). The forward process
there gives x_S = sqrt(alpha_bar_S) x0 + sqrt(1 - alpha_bar_S) eps, whose per-element variance
is alpha_bar_S * v + (1 - alpha_bar_S) for data of mean square v = E[x0^2]. Unit variance is
right when alpha_bar_S is about 0 or v is about 1. Neither holds for DiffWave's 6-step fast
schedule on quiet waveforms:
- the schedule stops at alpha_bar_S = 0.376;
- peak-normalised 1 s digit clips, mostly silence, have v of about 0.01.

The network then reads the excess variance as a loud signal (as if x0 had unit mean square,
0 dB) wherever the data is silent, and the output is speech-like babble over the whole second.
Starting from std sqrt(alpha_bar_S * v + 1 - alpha_bar_S) instead (0.79 here) gives the
noisiest step the input it was trained on. Measured on SC09-style FSDD digits (H200, 5 minutes of
training, benchmarks/RESULTS.md): the babble after the word fell by 22 dB, but the words got
quieter too and digit accuracy fell from 78% to 48%. The 6-step schedule under-generates from the
matched start (as the exact denoiser of the unit test does): a choice, not a fix.
"""

import math

from audiodiff.diffusion.samplers.fast_schedule import (
    DIFFWAVE_FAST_NOISE_LEVELS,
    align_noise_levels,
)


def start_alpha_bar(sampler, schedule, options=None):
    """alpha_bar at the noisiest level a sampler starts from.

    Arguments
    ---------
    sampler : str
        "ddpm", "ddim", "dpm_solver" (their respaced steps all end at T-1) or "fast" (the
        short schedule's own gamma_S, see ``align_noise_levels``).
    schedule : NoiseSchedule
        The training schedule.
    options : dict, optional
        The sampler's extra options ("noise_levels", "clamp" for "fast").

    Returns
    -------
    float

    Example
    -------
    >>> from audiodiff.diffusion.schedules import make_schedule
    >>> round(start_alpha_bar("fast", make_schedule("linear", 200)), 3)
    0.376
    >>> round(start_alpha_bar("ddim", make_schedule("linear", 200)), 3)
    0.132
    """
    options = options or {}
    if sampler == "fast":
        levels = options.get("noise_levels", DIFFWAVE_FAST_NOISE_LEVELS)
        _, gamma = align_noise_levels(schedule, levels, clamp=options.get("clamp", False))
        return float(gamma[-1])
    return float(schedule.alpha_bar[-1])


def marginal_start_std(alpha_bar_start, data_variance):
    """Std of x_S = sqrt(alpha_bar_S) x0 + sqrt(1 - alpha_bar_S) eps for data of mean square v.

    sqrt(alpha_bar_S * v + 1 - alpha_bar_S); ``data_variance`` None gives 1 (N(0, I), the
    usual start, which assumes v = 1 or alpha_bar_S = 0).

    Arguments
    ---------
    alpha_bar_start : float
        alpha_bar at the sampler's noisiest level (:func:`start_alpha_bar`).
    data_variance : float or None
        Mean square E[x0^2] of the training data (in the network's units), >= 0.

    Returns
    -------
    float

    Example
    -------
    >>> round(marginal_start_std(0.376, 0.0016), 2)
    0.79
    >>> marginal_start_std(0.376, None), marginal_start_std(0.376, 1.0)
    (1.0, 1.0)
    """
    if data_variance is None:
        return 1.0
    if not data_variance >= 0:
        raise ValueError(f"data_variance must be >= 0 (or None), got {data_variance}")
    return math.sqrt(1 - alpha_bar_start * (1 - data_variance))
