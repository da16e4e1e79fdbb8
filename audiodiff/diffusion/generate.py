"""Draw samples from a trained network: noise, guidance and sampler choice in one call."""

import contextlib

import torch

from audiodiff.diffusion.parameterization import EpsDenoiser
from audiodiff.diffusion.samplers import get_sampler
from audiodiff.diffusion.samplers.start import marginal_start_std, start_alpha_bar


def null_labels(labels):
    """Return the "no label" version of a label dict (every value -1), for guidance.

    Arguments
    ---------
    labels : dict
        Label name -> [batch] long tensor.

    Returns
    -------
    dict with the same keys, every entry -1.

    Example
    -------
    >>> null_labels({"digit": torch.tensor([3, 7])})
    {'digit': tensor([-1, -1])}
    """
    return {name: torch.full_like(value, -1) for name, value in labels.items()}


def sample_from_model(
    model,
    schedule,
    shape,
    *,
    prediction="v",
    labels=None,
    sampler="dpm_solver",
    steps=20,
    guidance_scale=1.0,
    eta=0.0,
    clip_x0=None,
    generator=None,
    autocast_dtype=None,
    progress=False,
    cond=None,
    uncond=None,
    prior=None,
    sampler_options=None,
    data_variance=None,
):
    """Sample x0 ~ p_theta(x0 | labels, cond) with the chosen sampler.

    The starting noise x_T ~ N(0, I) (or ~ ``prior``) is drawn with ``generator`` on the
    schedule's device; classifier-free guidance uses the all-null labels as the unconditional
    branch, with ``cond`` (e.g. a vocoder's mel) in both branches, unless the null branch is
    given explicitly as ``uncond`` (``uncond`` a list for one guidance scale per condition,
    see ``guided_eps``).

    Arguments
    ---------
    model : callable
        Network ``model(x_t, t, **labels)`` trained with ``prediction``.
    schedule : NoiseSchedule
        The training noise schedule (its device is the sampling device).
    shape : tuple
        Shape of the batch to draw, e.g. ``(n, 1, 80, 64)``.
    prediction : str
        What the network predicts: "eps", "v" or "x0".
    labels : dict, optional
        Label name -> [n] long tensor (-1 = no label).
    sampler : str
        "ddpm", "ddim" or "dpm_solver".
    steps : int
        Number of sampling steps (None with "ddpm" = the full chain).
    guidance_scale : float or list of float
        Classifier-free guidance scale (1 = no guidance); a list with a list ``uncond``.
    eta : float
        DDIM stochasticity (only used by "ddim").
    clip_x0 : float, optional
        Clamp predicted x0 to [-clip_x0, clip_x0] at each step.
    generator : torch.Generator, optional
        On the schedule's device, for reproducible samples.
    autocast_dtype : torch.dtype, optional
        Run the network under autocast with this dtype (e.g. torch.bfloat16 on GPU).
    progress : bool
        Show a progress bar over the steps.
    cond : dict, optional
        Further keyword arguments of ``model`` (tensors with n rows), e.g. ``{"mel": mel}``
        for a vocoder, or a TTS decoder's content and speaker context; kept as they are in
        the automatic null branch.
    uncond : dict or list of dict, optional
        The null branch(es) given explicitly (see ``guided_eps``), e.g. one per condition
        with a list ``guidance_scale``; None: the null labels + ``cond`` when there are
        labels and ``guidance_scale != 1``, else no guidance.
    prior : object, optional
        Conditioned noise distribution of x_T and of the sampler's fresh draws
        (``audiodiff.diffusion.priors``); None = N(0, I).
    sampler_options : dict, optional
        Extra keyword arguments of the sampler, e.g. ``{"noise_levels": "wg6", "clamp":
        True}`` for "fast".
    data_variance : float, optional
        Mean square E[x0^2] of the training data: x_T is scaled to the std of the forward
        marginal at the sampler's noisiest level, sqrt(alpha_bar_S * v + 1 - alpha_bar_S)
        (``audiodiff.diffusion.samplers.start``); None: unit variance, as usual. Matters when
        the sampler stops short of pure noise (DiffWave's fast schedule: alpha_bar_S = 0.376)
        and the data is quiet.

    Returns
    -------
    x0 : torch.Tensor
        [n, ...] float32 samples.

    Example
    -------
    >>> from audiodiff.diffusion import make_schedule
    >>> schedule = make_schedule("cosine", num_steps=100)
    >>> model = lambda x, t, **labels: torch.zeros_like(x)
    >>> x0 = sample_from_model(model, schedule, (2, 1, 8, 8), prediction="eps", steps=5)
    >>> x0.shape
    torch.Size([2, 1, 8, 8])
    """
    device = schedule.alpha_bar.device
    sample_fn = get_sampler(sampler)
    labels = {k: v.to(device) for k, v in (labels or {}).items()}
    cond = dict(cond or {})
    if uncond is None and labels and guidance_scale != 1.0:
        uncond = {**null_labels(labels), **cond}
    cond = {**labels, **cond}

    def network(x_t, t, **cond):
        ctx = (
            torch.autocast(device.type, dtype=autocast_dtype)
            if autocast_dtype is not None
            else contextlib.nullcontext()
        )
        with ctx:
            out = model(x_t, t, **cond)
        return out.to(x_t.dtype, copy=True)  # a fresh tensor: safe with CUDA-graph outputs

    denoiser = EpsDenoiser(network, schedule, prediction=prediction)
    extra = {"eta": eta} if sampler == "ddim" else {}
    extra.update(sampler_options or {})
    if prior is None:
        x_T = torch.randn(shape, generator=generator, device=device)
    else:
        x_T = prior.sample(torch.zeros(shape, device=device), generator)
    if data_variance is not None:
        x_T = x_T * marginal_start_std(start_alpha_bar(sampler, schedule, extra), data_variance)
    with torch.no_grad():
        return sample_fn(
            denoiser,
            x_T,
            schedule,
            steps=steps,
            cond=cond,
            uncond=uncond,
            guidance_scale=guidance_scale,
            generator=generator,
            clip_x0=clip_x0,
            progress=progress,
            prior=prior,
            **extra,
        )
