"""The forward (noising) process q(x_t | x_0), and the project's one broadcast helper."""

import torch


def append_dims(v, ndim):
    """Append trailing singleton dims to ``v`` up to ``ndim`` dims: [batch] -> [batch, 1, ...].

    This is the one broadcast helper of audiodiff: use it wherever a per-example value
    (alpha_bar, sigma, a mask) multiplies a [batch, ...] tensor.

    Arguments
    ---------
    v : torch.Tensor
        [batch] (or any shape with at most ``ndim`` dims).
    ndim : int
        Number of dims wanted.

    Returns
    -------
    torch.Tensor
        A view of ``v`` with shape ``v.shape + (1,) * (ndim - v.ndim)``.

    Example
    -------
    >>> append_dims(torch.ones(2), 4).shape
    torch.Size([2, 1, 1, 1])
    """
    if v.ndim > ndim:
        raise ValueError(f"cannot append dims to a {v.ndim}-D tensor to make it {ndim}-D")
    return v.reshape(v.shape + (1,) * (ndim - v.ndim))


def randn_like(x, generator=None):
    """Draw standard Gaussian noise shaped like ``x``, with ``generator`` if given.

    The noise is drawn on the generator's device (so a CPU generator also drives CUDA
    sampling) and moved to ``x``'s device.

    Arguments
    ---------
    x : torch.Tensor
        Any shape; gives shape, dtype and device.
    generator : torch.Generator, optional
        Random number generator.

    Returns
    -------
    noise : torch.Tensor
        Same shape, dtype and device as ``x``.

    Example
    -------
    >>> a = randn_like(torch.zeros(3), torch.Generator().manual_seed(0))
    >>> b = randn_like(torch.zeros(3), torch.Generator().manual_seed(0))
    >>> bool((a == b).all())
    True
    """
    device = x.device if generator is None else generator.device
    noise = torch.randn(x.shape, generator=generator, device=device, dtype=x.dtype)
    return noise.to(x.device)


def draw_noise(like, generator=None, prior=None):
    """The diffusion noise eps shaped like ``like``: N(0, I), or drawn from ``prior``.

    Every sampler draws x_T and its fresh noise through this function, so a noise prior
    (``audiodiff.diffusion.priors``: PriorGrad, SpecGrad) needs no sampler of its own.

    Arguments
    ---------
    like : torch.Tensor
        Gives shape, dtype and device.
    generator : torch.Generator, optional
        Random number generator.
    prior : object, optional
        A conditioned noise distribution with ``sample(like, generator)`` (e.g.
        ``PriorGradPrior(...).condition(mel_db)``); None = N(0, I) (``randn_like``).

    Returns
    -------
    noise : torch.Tensor
        Same shape, dtype and device as ``like``.

    Example
    -------
    >>> draw_noise(torch.zeros(2, 3)).shape
    torch.Size([2, 3])
    """
    if prior is None:
        return randn_like(like, generator)
    return prior.sample(like, generator)


def q_sample(schedule, x0, t, noise):
    """Sample from q(x_t | x_0) (Ho et al. 2020, eq. 4).

    x_t = sqrt(alpha_bar_t) * x0 + sqrt(1 - alpha_bar_t) * eps, with eps = ``noise``
    (N(0, I), or N(0, Sigma) drawn from a noise prior: PriorGrad, Lee et al. 2022, Algorithm 1).

    Arguments
    ---------
    schedule : NoiseSchedule
        The noise schedule.
    x0 : torch.Tensor
        [batch, ...] clean data.
    t : torch.Tensor
        [batch] long, steps in [0, T-1].
    noise : torch.Tensor
        [batch, ...] noise eps, same shape as ``x0`` (see ``draw_noise``).

    Returns
    -------
    x_t : torch.Tensor
        [batch, ...] noisy data, dtype of ``x0``.

    Example
    -------
    >>> from audiodiff.diffusion.schedules import NoiseSchedule
    >>> schedule = NoiseSchedule([0.36])
    >>> q_sample(schedule, torch.ones(1, 2), torch.tensor([0]), torch.ones(1, 2))
    tensor([[1.4000, 1.4000]])
    """
    alpha_bar = schedule.alpha_bar.to(x0.device)[t.to(x0.device)]
    alpha_bar = append_dims(alpha_bar, x0.ndim)
    x_t = alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise
    return x_t.to(x0.dtype)
