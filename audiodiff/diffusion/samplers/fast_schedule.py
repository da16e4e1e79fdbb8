"""DiffWave's fast sampling (Kong et al. 2021, sec. 4 and Appendix B): a short user-chosen
noise schedule whose levels are aligned to fractional training steps."""

import torch

from audiodiff.diffusion.forward import draw_noise
from audiodiff.diffusion.samplers.common import predict, step_indices

# The 6-step schedule of DiffWave's fast sampling (paper, Appendix B; lmnt-com/diffwave), also
# PriorGrad's "PG-6".
DIFFWAVE_FAST_NOISE_LEVELS = (1e-4, 1e-3, 1e-2, 5e-2, 0.2, 0.5)
# WaveGrad's 6-iteration schedule "WG-6" (Chen et al. 2021, found by grid search; the schedule
# SpecGrad's 6-step results use). It ends at gamma = 0.189, noisier than a T = 50 training
# schedule with betas 1e-4 .. 0.05 (alpha_bar_T = 0.280): use it there with ``clamp=True``.
WAVEGRAD_WG6_NOISE_LEVELS = (7e-6, 1.4e-4, 2.1e-3, 2.8e-2, 0.35, 0.7)
FAST_NOISE_LEVELS = {"diffwave6": DIFFWAVE_FAST_NOISE_LEVELS, "wg6": WAVEGRAD_WG6_NOISE_LEVELS}
"""Named short schedules: ``noise_levels="wg6"`` in :func:`sample_fast_schedule`."""


def resolve_noise_levels(noise_levels):
    """The betas of a short schedule given by name (``FAST_NOISE_LEVELS``) or as a sequence.

    Arguments
    ---------
    noise_levels : str or sequence of float
        ``"diffwave6"``, ``"wg6"``, or the betas themselves.

    Returns
    -------
    tuple of float

    Example
    -------
    >>> resolve_noise_levels("wg6")[-1]
    0.7
    """
    if isinstance(noise_levels, str):
        if noise_levels not in FAST_NOISE_LEVELS:
            raise ValueError(
                f"unknown fast schedule {noise_levels!r}; choose one of "
                f"{sorted(FAST_NOISE_LEVELS)} or pass the betas"
            )
        return FAST_NOISE_LEVELS[noise_levels]
    return tuple(float(b) for b in noise_levels)


def align_noise_levels(schedule, noise_levels, clamp=False):
    """Fractional training steps t_s whose noise level matches the short schedule's.

    The short schedule's betas ``noise_levels`` give gamma_s = prod_{i <= s} (1 - beta_i).
    Each gamma_s is placed between two training steps, alpha_bar_{t+1} <= gamma_s <=
    alpha_bar_t, and t_s = t + (sqrt(alpha_bar_t) - sqrt(gamma_s)) /
    (sqrt(alpha_bar_t) - sqrt(alpha_bar_{t+1})) (DiffWave, Appendix B): sqrt(alpha_bar) is
    interpolated linearly between steps. A level just below the first step's noise is put
    at t = 0. With ``clamp``, levels noisier than the last training step are put at t = T-1
    (the network is told its noisiest step; the update still uses the short schedule's own
    gamma), instead of raising.

    Arguments
    ---------
    schedule : NoiseSchedule
        The training schedule (T steps).
    noise_levels : sequence of float or str
        The short schedule's betas, increasing, each in (0, 1), or a name of
        ``FAST_NOISE_LEVELS``.
    clamp : bool
        Put levels beyond the training schedule's noisiest step at t = T-1 (else raise).

    Returns
    -------
    t_align : torch.Tensor
        [S] float64 fractional steps in [0, T-1], on the CPU.
    gamma : torch.Tensor
        [S] float64 cumulative products gamma_s of the short schedule, on the CPU.

    Raises
    ------
    ValueError
        If a noise level is outside (0, 1), or the short schedule reaches more noise than
        the training schedule's last step (the network never saw it).

    Example
    -------
    >>> from audiodiff.diffusion.schedules import make_schedule
    >>> t, gamma = align_noise_levels(make_schedule("linear", 200), DIFFWAVE_FAST_NOISE_LEVELS)
    >>> [round(v, 2) for v in t.tolist()]
    [0.0, 3.2, 13.43, 33.82, 73.98, 138.08]
    """
    betas = torch.as_tensor(resolve_noise_levels(noise_levels), dtype=torch.float64).flatten()
    if len(betas) == 0 or not bool(((betas > 0) & (betas < 1)).all()):
        raise ValueError(f"noise levels must be non-empty and in (0, 1), got {list(noise_levels)}")
    gamma = torch.cumprod(1 - betas, dim=0)
    root = schedule.alpha_bar.detach().double().cpu().sqrt()  # decreasing in t
    target = gamma.sqrt()
    if not clamp and float(target[-1]) < float(root[-1]) * (1 - 1e-6):
        raise ValueError(
            f"the fast schedule ends at alpha_bar {float(gamma[-1]):.4g}, below the training "
            f"schedule's last alpha_bar {float(root[-1] ** 2):.4g}: choose smaller noise levels "
            "(or clamp them to the last step)"
        )
    # t = number of training steps with sqrt(alpha_bar) > target, minus one (bracket start)
    upper = torch.searchsorted(-root, -target, right=False)  # first index with root <= target
    t = (upper - 1).clamp(0, len(root) - 2)
    frac = (root[t] - target) / (root[t] - root[t + 1])
    t_align = (t.double() + frac).clamp(0, len(root) - 1)
    return t_align, gamma


def sample_fast_schedule(
    denoiser,
    x,
    schedule,
    *,
    steps=None,
    noise_levels=DIFFWAVE_FAST_NOISE_LEVELS,
    clamp=False,
    cond=None,
    uncond=None,
    guidance_scale=1.0,
    generator=None,
    clip_x0=None,
    callback=None,
    progress=False,
    prior=None,
):
    """Ancestral sampling on a short noise schedule with aligned steps (DiffWave, Algorithm 2).

    With the short schedule's beta_s = ``noise_levels[s]``, alpha_s = 1 - beta_s and
    gamma_s = prod_{i <= s} alpha_i, for s = S-1 .. 0:

        x_{s-1} = 1 / sqrt(alpha_s) * (x_s - beta_s / sqrt(1 - gamma_s) * eps(x_s, t_s))
                  + sigma_s * z,   sigma_s^2 = (1 - gamma_{s-1}) / (1 - gamma_s) * beta_s,

    with no noise at the last step, and t_s the fractional training step aligned to gamma_s
    (:func:`align_noise_levels`). The denoiser is called with float t; networks with a
    sinusoidal step embedding accept it, and ``EpsDenoiser`` interpolates alpha_bar there.

    Code -> paper: ``gamma`` the short schedule's alpha_bar (the paper's gamma), ``t_align``
    t_s^align, ``eps_coef`` beta_s / sqrt(1 - gamma_s), ``inv_sqrt_alpha`` 1 / sqrt(alpha_s),
    ``sigma`` sigma_s (the paper's tilde-beta_s ** 0.5), ``x`` x_s.

    Arguments
    ---------
    denoiser : callable
        ``denoiser(x_t, t, **cond) -> eps`` (e.g. ``EpsDenoiser``), called with float t.
    x : torch.Tensor
        [batch, ...] starting noise x_S ~ N(0, I), drawn by the caller.
    schedule : NoiseSchedule
        The training schedule (T steps).
    steps : int, optional
        Must be None or ``len(noise_levels)`` (the schedule fixes the step count).
    noise_levels : sequence of float or str
        The short schedule's betas (default: DiffWave's 6 levels), or a name of
        ``FAST_NOISE_LEVELS`` ("diffwave6", "wg6").
    clamp : bool
        Levels noisier than the training schedule's last step run at t = T-1 (see
        :func:`align_noise_levels`); needed for "wg6" on a T = 50, beta_end 0.05 schedule.
    cond, uncond : dict, optional
        Conditional / null keyword arguments of ``denoiser`` (see ``guided_eps``).
    guidance_scale : float or list of float
        Classifier-free guidance scale (1 = no guidance); a list: one per null branch of
        ``uncond`` (see ``guided_eps``).
    generator : torch.Generator, optional
        Drives the noise z drawn at each step.
    clip_x0 : float, optional
        Clamp the predicted x0 to [-clip_x0, clip_x0] (eps recomputed from it).
    callback : callable, optional
        ``callback(n, x_t, x0)`` at step n = 0 .. S-1, with the step's input and predicted x0.
    progress : bool
        Show a tqdm progress bar.
    prior : object, optional
        Noise distribution of every fresh draw z (a noise prior's ``condition(...)``, e.g.
        PriorGrad's or SpecGrad's; see ``audiodiff.diffusion.priors``): z ~ N(0, Sigma) with
        the same update, since it is linear in eps and x0. None = N(0, I). Draw ``x`` from
        the same distribution.

    Returns
    -------
    x0 : torch.Tensor
        [batch, ...] samples, shape, dtype and device of ``x``.

    Example
    -------
    >>> from audiodiff.diffusion.schedules import make_schedule
    >>> denoiser = lambda x_t, t: torch.zeros_like(x_t)
    >>> sample_fast_schedule(denoiser, torch.randn(2, 3), make_schedule("linear", 200)).shape
    torch.Size([2, 3])
    """
    noise_levels = resolve_noise_levels(noise_levels)
    num_levels = len(noise_levels)
    if steps is not None and steps != num_levels:
        raise ValueError(
            f"the fast schedule has {num_levels} noise levels, so steps must be None or "
            f"{num_levels} (got {steps}); pass other noise_levels to change it"
        )
    t_align, gamma = align_noise_levels(schedule, noise_levels, clamp=clamp)
    betas = torch.as_tensor(noise_levels, dtype=torch.float64)
    gamma_prev = torch.cat([gamma.new_ones(1), gamma[:-1]])
    eps_coef = (betas / (1 - gamma).sqrt()).to(device=x.device, dtype=x.dtype)
    inv_sqrt_alpha = (1 - betas).rsqrt().to(device=x.device, dtype=x.dtype)
    sigma = ((1 - gamma_prev) / (1 - gamma) * betas).sqrt().to(device=x.device, dtype=x.dtype)
    alpha_bar = gamma.to(device=x.device, dtype=x.dtype)
    t_batch = t_align.to(device=x.device, dtype=torch.float32)[:, None].expand(-1, x.shape[0])

    for n, i in step_indices(num_levels, progress):
        eps, x0 = predict(
            denoiser, x, t_batch[i], alpha_bar[i], cond, uncond, guidance_scale, clip_x0
        )
        if callback is not None:
            callback(n, x, x0)
        x = inv_sqrt_alpha[i] * (x - eps_coef[i] * eps)
        if i > 0:
            x = x + sigma[i] * draw_noise(x, generator, prior)
    return x
