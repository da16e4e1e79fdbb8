"""Diffusion math, independent of any network: schedules, forward process, parameterisations,
losses, noise priors, EMA, classifier-free guidance and samplers. No weights, no I/O.

Glossary (the same names in every file; code step t = 0 .. T-1 is the paper's step t + 1)

- ``t``: integer training step in [0, T-1], a [batch] long tensor; larger t = noisier.
- ``T``: number of training steps, ``schedule.num_steps``.
- ``beta``: per-step noise variance beta_t (``schedule.betas``).
- ``alpha``: 1 - beta_t (``schedule.alphas``).
- ``alpha_bar``: cumulative product of alpha up to t (``schedule.alpha_bar``); Song et al.
  (DDIM) call it alpha_t. sqrt(alpha_bar) and sqrt(1 - alpha_bar) are the signal and
  noise scales (DPM-Solver's alpha_t and sigma_t).
- ``x0``: clean data; ``x_t``: noisy data, x_t = sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) eps.
- ``eps``: the noise in x_t (or its prediction): N(0, I), or N(0, Sigma) under a noise prior
  (``priors``: PriorGrad's per-frame std, SpecGrad's filter M; Sigma = L L^T).
- ``v``: sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) x0 (Salimans & Ho 2022).
- ``log_snr``: lambda_t = 0.5 * log(alpha_bar / (1 - alpha_bar)) = log(alpha_t / sigma_t),
  half the log signal-to-noise ratio, in DPM-Solver's convention.
- ``guidance_scale``: classifier-free guidance scale s, eps = eps_u + s (eps_c - eps_u);
  s = 1 is no guidance (Ho & Salimans 2022 use w = s - 1). A list of scales with a list of
  null branches gives one scale per condition (``guided_eps``).
"""

from audiodiff.diffusion.ema import EMA
from audiodiff.diffusion.forward import append_dims, draw_noise, q_sample, randn_like
from audiodiff.diffusion.guidance import guided_eps
from audiodiff.diffusion.losses import (
    diffusion_loss,
    masked_mse,
    min_snr_weight,
    relative_length_mask,
)
from audiodiff.diffusion.parameterization import (
    PREDICTIONS,
    EpsDenoiser,
    eps_to_x0,
    output_to_eps,
    output_to_x0,
    training_target,
    v_target,
    v_to_eps,
    v_to_x0,
    x0_to_eps,
)
from audiodiff.diffusion.priors import (
    DiagonalNoise,
    FilteredNoise,
    PriorGradPrior,
    SpecGradPrior,
    StandardGaussianPrior,
    whitened_model,
)
from audiodiff.diffusion.samplers import (
    SAMPLERS,
    get_sampler,
    sample_ddim,
    sample_ddpm,
    sample_dpm_solver,
)
from audiodiff.diffusion.schedules import (
    NoiseSchedule,
    cosine_betas,
    linear_betas,
    make_schedule,
    respace_timesteps,
)

__all__ = [
    "DiagonalNoise",
    "EMA",
    "FilteredNoise",
    "PREDICTIONS",
    "PriorGradPrior",
    "SAMPLERS",
    "SpecGradPrior",
    "StandardGaussianPrior",
    "whitened_model",
    "EpsDenoiser",
    "NoiseSchedule",
    "append_dims",
    "cosine_betas",
    "diffusion_loss",
    "draw_noise",
    "eps_to_x0",
    "get_sampler",
    "guided_eps",
    "linear_betas",
    "make_schedule",
    "masked_mse",
    "min_snr_weight",
    "output_to_eps",
    "output_to_x0",
    "q_sample",
    "randn_like",
    "relative_length_mask",
    "respace_timesteps",
    "sample_ddim",
    "sample_ddpm",
    "sample_dpm_solver",
    "training_target",
    "v_target",
    "v_to_eps",
    "v_to_x0",
    "x0_to_eps",
]
