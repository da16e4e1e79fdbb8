"""Samplers: small functions over the denoiser contract ``denoiser(x_t, t, **cond) -> eps``.

Every sampler has the signature ``sample_x(denoiser, x, schedule, *, steps, cond=None,
uncond=None, guidance_scale=1.0, generator=None, clip_x0=None, callback=None,
progress=False, prior=None, ...)``, starts from the noise ``x`` = x_T and returns x0 samples.
``prior`` (a conditioned noise prior, ``audiodiff.diffusion.priors``) is the distribution of
x_T and of every fresh draw (None: N(0, I)). Select one by name with ``get_sampler``, or from
YAML with ``!name:audiodiff.diffusion.samplers.sample_ddim {steps: 50}``.
"""

from audiodiff.diffusion.samplers.ddim import sample_ddim
from audiodiff.diffusion.samplers.ddpm import sample_ddpm
from audiodiff.diffusion.samplers.dpm_solver import sample_dpm_solver
from audiodiff.diffusion.samplers.fast_schedule import (
    DIFFWAVE_FAST_NOISE_LEVELS,
    FAST_NOISE_LEVELS,
    WAVEGRAD_WG6_NOISE_LEVELS,
    align_noise_levels,
    sample_fast_schedule,
)

SAMPLERS = {
    "ddpm": sample_ddpm,
    "ddim": sample_ddim,
    "dpm_solver": sample_dpm_solver,
    "fast": sample_fast_schedule,
}


def get_sampler(name):
    """Return the sampler function called ``name``.

    Arguments
    ---------
    name : str
        One of the keys of ``SAMPLERS``: "ddpm", "ddim", "dpm_solver", "fast" (DiffWave's
        6-step fast schedule).

    Returns
    -------
    callable

    Example
    -------
    >>> get_sampler("ddim").__name__
    'sample_ddim'
    """
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; choose one of {sorted(SAMPLERS)}")
    return SAMPLERS[name]


__all__ = [
    "DIFFWAVE_FAST_NOISE_LEVELS",
    "FAST_NOISE_LEVELS",
    "SAMPLERS",
    "WAVEGRAD_WG6_NOISE_LEVELS",
    "align_noise_levels",
    "get_sampler",
    "sample_ddim",
    "sample_ddpm",
    "sample_dpm_solver",
    "sample_fast_schedule",
]
