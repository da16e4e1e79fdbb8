"""DDIM sampling (Song et al. 2021), deterministic (eta = 0) or stochastic."""

from audiodiff.diffusion.forward import draw_noise
from audiodiff.diffusion.samplers.common import predict, sampling_timesteps, step_indices


def sample_ddim(
    denoiser,
    x,
    schedule,
    *,
    steps,
    eta=0.0,
    cond=None,
    uncond=None,
    guidance_scale=1.0,
    generator=None,
    clip_x0=None,
    callback=None,
    progress=False,
    prior=None,
):
    """DDIM update on respaced steps (Song et al. 2021, eq. 12, sigma from eq. 16).

        x_{t-1} = sqrt(alpha_{t-1}) * x0_pred
                  + sqrt(1 - alpha_{t-1} - sigma_t^2) * eps + sigma_t * z,
        x0_pred = (x_t - sqrt(1 - alpha_t) * eps) / sqrt(alpha_t),
        sigma_t = eta * sqrt((1 - alpha_{t-1}) / (1 - alpha_t)) * sqrt(1 - alpha_t / alpha_{t-1})

    over the steps tau_1 < .. < tau_S of ``respace_timesteps`` (t-1 is the previous
    respaced step; alpha of the step before tau_1 is 1, so the last update returns x0_pred).
    eta = 0 is deterministic (no noise is drawn), eta = 1 is respaced DDPM.

    Code -> paper: the paper's alpha_t is our ``alpha_bar`` (cumulative product), and
    ``alpha_bar_prev`` is alpha_{t-1}; ``x0_coef`` sqrt(alpha_{t-1}),
    ``eps_coef`` sqrt(1 - alpha_{t-1} - sigma_t^2), ``sigma`` sigma_t, ``x`` x_t.

    Arguments
    ---------
    denoiser : callable
        ``denoiser(x_t, t, **cond) -> eps`` (e.g. ``EpsDenoiser``).
    x : torch.Tensor
        [batch, ...] starting noise x_T ~ N(0, I), drawn by the caller.
    schedule : NoiseSchedule
        The training schedule (T steps).
    steps : int
        Number of sampling steps, at most T.
    eta : float
        Stochasticity: 0 = deterministic DDIM, 1 = DDPM posterior variance.
    cond, uncond : dict, optional
        Conditional / null keyword arguments of ``denoiser`` (see ``guided_eps``).
    guidance_scale : float or list of float
        Classifier-free guidance scale (1 = no guidance); a list: one per null branch of
        ``uncond`` (see ``guided_eps``).
    generator : torch.Generator, optional
        Drives the noise z (only drawn when eta > 0).
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
    >>> sample_ddim(denoiser, x_T, make_schedule("cosine", 10), steps=5).shape
    torch.Size([2, 3])
    """
    timesteps, alpha_bar, alpha_bar_prev = sampling_timesteps(schedule, steps, x)
    sigma = eta * ((1 - alpha_bar_prev) / (1 - alpha_bar) * (1 - alpha_bar / alpha_bar_prev)).sqrt()
    x0_coef = alpha_bar_prev.sqrt()
    eps_coef = (1 - alpha_bar_prev - sigma**2).clamp(min=0).sqrt()
    t_batch = timesteps[:, None].expand(-1, x.shape[0])

    for n, i in step_indices(len(timesteps), progress):
        eps, x0 = predict(
            denoiser, x, t_batch[i], alpha_bar[i], cond, uncond, guidance_scale, clip_x0
        )
        if callback is not None:
            callback(n, x, x0)
        x = x0_coef[i] * x0 + eps_coef[i] * eps
        if eta > 0 and i > 0:
            x = x + sigma[i] * draw_noise(x, generator, prior)
    return x
