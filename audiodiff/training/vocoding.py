"""Mel-conditioned waveform diffusion (vocoders): the network's mel input and one sampling call,
shared by the training recipe (epoch-end vocoding) and ``audiodiff.inference.DiffusionVocoder``.
"""

import contextlib

import torch

from audiodiff.diffusion.generate import sample_from_model
from audiodiff.diffusion.priors import whitened_model
from audiodiff.diffusion.samplers.fast_schedule import resolve_noise_levels


def conditioning_mel(mel_db, offset_db=-40.0, scale_db=40.0):
    """The network's mel input: (mel_db - offset_db) / scale_db (a fixed affine map, no clamp).

    The dB mel itself (``amplitude_to_db`` of a magnitude mel, floor -100 dB) conditions the
    noise prior; the network sees it centred and scaled to about [-1.5, 1.5].

    Arguments
    ---------
    mel_db : torch.Tensor
        [batch, n_mels, frames] dB mel.
    offset_db, scale_db : float
        The map's offset and scale in dB.

    Returns
    -------
    torch.Tensor
        Same shape, float32.

    Example
    -------
    >>> conditioning_mel(torch.tensor([-100.0, -40.0, 0.0]))
    tensor([-1.5000,  0.0000,  1.0000])
    """
    return (mel_db.float() - offset_db) / scale_db


def choose_sampler(sampler, steps, fast_schedule="diffwave6"):
    """The (sampler, steps) pair a vocoder runs for a requested step count.

    ``sampler`` None picks DiffWave's fast schedule when ``steps`` is None or the fast
    schedule's length (6), and the ancestral chain otherwise (``steps`` = T: the full chain;
    fewer: respaced).

    Arguments
    ---------
    sampler : str or None
        "fast", "ddpm", "ddim", "dpm_solver", or None (choose from ``steps``).
    steps : int or None
        Sampling steps.
    fast_schedule : str or sequence
        The fast sampler's noise levels (``FAST_NOISE_LEVELS`` name or betas).

    Returns
    -------
    (str, int or None)

    Example
    -------
    >>> choose_sampler(None, 6), choose_sampler(None, 50), choose_sampler("ddim", 10)
    (('fast', None), ('ddpm', 50), ('ddim', 10))
    """
    fast_len = len(resolve_noise_levels(fast_schedule))
    if sampler is None:
        sampler = "fast" if steps in (None, fast_len) else "ddpm"
    if sampler == "fast":
        if steps not in (None, fast_len):
            raise ValueError(
                f"the fast schedule {fast_schedule!r} has {fast_len} steps, not {steps}: "
                "choose another --sampler for other step counts"
            )
        steps = None
    return sampler, steps


def prior_parameterized(model, noise, prediction="eps", precondition=False):
    """The network as the sampler and the loss call it: itself, or (``precondition``) in the
    conditioned prior's whitened domain (``whitened_model``, which needs eps prediction).

    Example
    -------
    >>> from audiodiff.diffusion import StandardGaussianPrior
    >>> net = lambda x, t: 2 * x
    >>> prior_parameterized(net, StandardGaussianPrior()) is net
    True
    >>> prior_parameterized(net, StandardGaussianPrior(), "v", precondition=True)
    Traceback (most recent call last):
    ...
    ValueError: prior_precondition needs prediction: eps, got 'v'
    """
    if not precondition:
        return model
    if prediction != "eps":
        raise ValueError(f"prior_precondition needs prediction: eps, got {prediction!r}")
    return whitened_model(model, noise)


@torch.no_grad()
def vocode_mel(
    model,
    schedule,
    prior,
    mel_db,
    *,
    hop_length,
    mel_offset_db=-40.0,
    mel_scale_db=40.0,
    sampler="fast",
    steps=None,
    fast_schedule="diffwave6",
    prediction="eps",
    precondition=False,
    generator=None,
    autocast_dtype=None,
    progress=False,
):
    """Sample waveforms for dB mels: x0 ~ p_theta(x0 | mel), frames * hop_length samples each.

    The prior (``audiodiff.diffusion.priors``) is conditioned on the dB mel and gives x_T and
    every fresh draw of the sampler; the network gets ``conditioning_mel(mel_db)``, upsampled
    once for all steps when it has ``upsample_mel`` (DiffWave). The fast sampler runs the
    ``fast_schedule`` levels, clamped to the training schedule's noisiest step (WG-6 on a
    T = 50 schedule). The output is clamped to [-1, 1].

    Arguments
    ---------
    model : callable
        Network ``model(x_t, t, mel=...)`` (or ``local_mel=``), predicting ``prediction``.
    schedule : NoiseSchedule
        The training schedule (on the sampling device).
    prior : object
        A noise prior with ``condition(mel_db)`` (``StandardGaussianPrior`` for DiffWave).
    mel_db : torch.Tensor
        [batch, n_mels, frames] dB mels.
    hop_length : int
        Samples per frame.
    mel_offset_db, mel_scale_db : float
        The network input's affine map (``conditioning_mel``).
    sampler : str
        "fast", "ddpm", "ddim" or "dpm_solver".
    steps : int, optional
        Sampling steps (see ``choose_sampler``).
    fast_schedule : str or sequence
        Noise levels of the fast sampler.
    prediction : str
        What the network predicts.
    precondition : bool
        The network works in the prior's whitened domain (``whitened_model``; eps only).
    generator : torch.Generator, optional
        On the sampling device.
    autocast_dtype : torch.dtype, optional
        Autocast dtype of the network (e.g. torch.bfloat16 on GPU).
    progress : bool
        Progress bar over the steps.

    Returns
    -------
    torch.Tensor
        [batch, frames * hop_length] float32 waveforms in [-1, 1].

    Example
    -------
    >>> from audiodiff.diffusion import StandardGaussianPrior, make_schedule
    >>> from audiodiff.nets import DiffWave
    >>> net = DiffWave(residual_channels=8, residual_layers=2, dilation_cycle=2, n_mels=4,
    ...                upsample_factors=(2, 2))
    >>> schedule = make_schedule("linear", 50, beta_start=1e-4, beta_end=0.05)
    >>> wav = vocode_mel(net, schedule, StandardGaussianPrior(), torch.full((1, 4, 5), -50.0),
    ...                  hop_length=4)
    >>> wav.shape
    torch.Size([1, 20])
    """
    device = schedule.alpha_bar.device
    mel_db = mel_db.to(device).float()
    batch, _, frames = mel_db.shape
    length = frames * hop_length
    cond_mel = conditioning_mel(mel_db, mel_offset_db, mel_scale_db)
    upsample = getattr(model, "upsample_mel", None)
    if upsample is not None:
        ctx = (
            torch.autocast(device.type, dtype=autocast_dtype)
            if autocast_dtype is not None
            else contextlib.nullcontext()
        )
        with ctx:
            cond = {"local_mel": upsample(cond_mel, length)}
    else:
        cond = {"mel": cond_mel}
    sampler, steps = choose_sampler(sampler, steps, fast_schedule)
    options = {"noise_levels": fast_schedule, "clamp": True} if sampler == "fast" else {}
    noise = prior.condition(mel_db)
    x0 = sample_from_model(
        prior_parameterized(model, noise, prediction, precondition),
        schedule,
        (batch, 1, length),
        prediction=prediction,
        sampler=sampler,
        steps=steps,
        generator=generator,
        autocast_dtype=autocast_dtype,
        progress=progress,
        cond=cond,
        prior=noise,
        sampler_options=options,
    )
    return x0[:, 0].float().clamp(-1.0, 1.0)
