"""DDPM ancestral sampling (Ho et al. 2020), full or respaced (Nichol & Dhariwal 2021)."""

from audiodiff.diffusion.forward import draw_noise
from audiodiff.diffusion.samplers.common import predict, sampling_timesteps, step_indices


def sample_ddpm(
    denoiser,
    x,
    schedule,
    *,
    steps=None,
    cond=None,
    uncond=None,
    guidance_scale=1.0,
    generator=None,
    clip_x0=None,
    callback=None,
    progress=False,
    prior=None,
):
    """Ancestral sampling of p_theta(x_{t-1} | x_t) (Ho et al. 2020, Algorithm 2, eq. 11).

        x_{t-1} = 1 / sqrt(alpha_t) * (x_t - beta_t / sqrt(1 - alpha_bar_t) * eps) + sigma_t * z

    with z ~ N(0, I), eps the (guided) denoiser output, and the posterior variance
    sigma_t^2 = beta_tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) * beta_t (eq. 7; the
    paper's other choice, sigma_t^2 = beta_t, is not offered: beta_tilde is the variance of
    the true posterior q(x_{t-1} | x_t, x0), and matches DDIM with eta = 1). No noise is
    added at the last step, which therefore returns the x0 prediction.

    With ``steps`` < T the chain runs on the respaced steps tau_1 < .. < tau_S of
    ``respace_timesteps``, with betas recomputed from alpha_bar (Nichol & Dhariwal 2021,
    sec. 4): beta_i = 1 - alpha_bar_{tau_i} / alpha_bar_{tau_{i-1}}, alpha_bar_{tau_0} = 1.
    With ``steps`` None or T the schedule's own betas are used.

    Code -> paper: ``alpha_bar`` alpha_bar_t, ``alpha_bar_prev`` alpha_bar_{t-1},
    ``betas`` beta_t, ``eps_coef`` beta_t / sqrt(1 - alpha_bar_t),
    ``inv_sqrt_alpha`` 1 / sqrt(alpha_t), ``sigma`` sigma_t, ``x`` x_t.

    Arguments
    ---------
    denoiser : callable
        ``denoiser(x_t, t, **cond) -> eps`` (e.g. ``EpsDenoiser``).
    x : torch.Tensor
        [batch, ...] starting noise x_T ~ N(0, I), drawn by the caller.
    schedule : NoiseSchedule
        The training schedule (T steps).
    steps : int, optional
        Number of sampling steps; None = T (the full chain).
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
        ``callback(n, x_t, x0)`` at step n = 0 .. steps-1, with the step's input x_t and
        predicted x0.
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
    >>> import torch
    >>> from audiodiff.diffusion.schedules import make_schedule
    >>> denoiser = lambda x_t, t: torch.zeros_like(x_t)
    >>> x_T = torch.randn(2, 3)
    >>> sample_ddpm(denoiser, x_T, make_schedule("linear", 10), steps=5).shape
    torch.Size([2, 3])
    """
    timesteps, alpha_bar, alpha_bar_prev = sampling_timesteps(schedule, steps, x)
    if len(timesteps) == schedule.num_steps:
        betas = schedule.betas.to(device=x.device, dtype=x.dtype)
    else:
        betas = 1 - alpha_bar / alpha_bar_prev
    eps_coef = betas / (1 - alpha_bar).sqrt()
    inv_sqrt_alpha = (1 - betas).rsqrt()
    sigma = ((1 - alpha_bar_prev) / (1 - alpha_bar) * betas).sqrt()
    t_batch = timesteps[:, None].expand(-1, x.shape[0])

    for n, i in step_indices(len(timesteps), progress):
        eps, x0 = predict(
            denoiser, x, t_batch[i], alpha_bar[i], cond, uncond, guidance_scale, clip_x0
        )
        if callback is not None:
            callback(n, x, x0)
        x = inv_sqrt_alpha[i] * (x - eps_coef[i] * eps)
        if i > 0:
            x = x + sigma[i] * draw_noise(x, generator, prior)
    return x
