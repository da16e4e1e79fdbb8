"""What every sampler shares: the guided, optionally clipped prediction, and the step loop."""

import torch
from tqdm.auto import tqdm

from audiodiff.diffusion.guidance import guided_eps
from audiodiff.diffusion.parameterization import eps_to_x0, x0_to_eps
from audiodiff.diffusion.schedules import respace_timesteps


def sampling_timesteps(schedule, steps, x):
    """Respaced steps and their alpha_bar, on ``x``'s device, for a sampler's setup.

    Arguments
    ---------
    schedule : NoiseSchedule
        The training schedule (T steps).
    steps : int or None
        Number of sampling steps; None = all T.
    x : torch.Tensor
        The starting noise (gives device and dtype).

    Returns
    -------
    timesteps : torch.Tensor
        [steps] long, increasing, ending at T-1, on ``x.device``.
    alpha_bar : torch.Tensor
        [steps] alpha_bar at ``timesteps``, dtype of ``x``.
    alpha_bar_prev : torch.Tensor
        [steps] alpha_bar at the previous sampling step (1 before the first one).

    Example
    -------
    >>> from audiodiff.diffusion.schedules import NoiseSchedule
    >>> t, ab, ab_prev = sampling_timesteps(NoiseSchedule([0.5, 0.5]), None, torch.zeros(1))
    >>> t, ab, ab_prev
    (tensor([0, 1]), tensor([0.5000, 0.2500]), tensor([1.0000, 0.5000]))
    """
    timesteps = respace_timesteps(
        schedule.num_steps, schedule.num_steps if steps is None else steps
    )
    timesteps = timesteps.to(x.device)
    alpha_bar = schedule.alpha_bar.to(x.device)[timesteps].to(x.dtype)
    alpha_bar_prev = torch.cat([alpha_bar.new_ones(1), alpha_bar[:-1]])
    return timesteps, alpha_bar, alpha_bar_prev


def predict(denoiser, x_t, t, alpha_bar, cond, uncond, guidance_scale, clip_x0):
    """One guided denoiser call; returns (eps, x0) at x_t, x0 clamped if ``clip_x0``.

    When x0 is clamped to [-clip_x0, clip_x0], eps is recomputed from the clamped x0 so
    that both stay consistent with x_t.

    Arguments
    ---------
    denoiser : callable
        ``denoiser(x_t, t, **cond) -> eps``.
    x_t : torch.Tensor
        [batch, ...] current sample.
    t : torch.Tensor
        [batch] long step.
    alpha_bar : torch.Tensor
        Scalar (0-dim) or [batch] alpha_bar at ``t``.
    cond, uncond, guidance_scale
        See ``guided_eps``.
    clip_x0 : float or None
        Clamp bound for x0.

    Returns
    -------
    eps, x0 : torch.Tensor
        [batch, ...] each.

    Example
    -------
    >>> denoiser = lambda x_t, t: torch.zeros_like(x_t)
    >>> x_t, t = torch.full((1, 2), 4.0), torch.zeros(1, dtype=torch.long)
    >>> predict(denoiser, x_t, t, torch.tensor(0.25), None, None, 1.0, clip_x0=1.0)[1]
    tensor([[1., 1.]])
    """
    eps = guided_eps(denoiser, x_t, t, cond, uncond, guidance_scale)
    x0 = eps_to_x0(eps, x_t, alpha_bar)
    if clip_x0 is not None:
        x0 = x0.clamp(-clip_x0, clip_x0)
        eps = x0_to_eps(x0, x_t, alpha_bar)
    return eps, x0


def step_indices(num_steps, progress):
    """Pairs (n, i): step count n = 0 .. num_steps-1 and timestep index i = num_steps-1-n.

    Samplers walk the respaced timesteps from the noisiest (i = num_steps-1) to the least
    noisy (i = 0); ``callback(n, x_t, x0)`` receives the count n. With ``progress`` the pairs
    come through a tqdm bar.

    Arguments
    ---------
    num_steps : int
        Number of sampling steps.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    iterable of (int, int)

    Example
    -------
    >>> list(step_indices(3, progress=False))
    [(0, 2), (1, 1), (2, 0)]
    """
    pairs = [(n, num_steps - 1 - n) for n in range(num_steps)]
    return tqdm(pairs, desc="sampling", leave=False) if progress else pairs
