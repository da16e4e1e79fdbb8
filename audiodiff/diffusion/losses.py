"""Training loss of a diffusion model: length masks, masked MSE, the denoising loss."""

import torch

from audiodiff.diffusion.forward import append_dims, draw_noise, q_sample
from audiodiff.diffusion.parameterization import training_target


def relative_length_mask(rel_lengths, shape, time_dim=-1):
    """Boolean mask of the valid frames, from SpeechBrain relative lengths.

    Frame j of example b is valid when j < round(rel_lengths[b] * shape[time_dim]).

    Arguments
    ---------
    rel_lengths : torch.Tensor
        [batch] lengths relative to the longest example, in [0, 1].
    shape : tuple
        Shape of the data, e.g. [batch, channels, n_mels, frames].
    time_dim : int
        The time dimension of ``shape``.

    Returns
    -------
    mask : torch.Tensor
        Bool, size ``batch`` on dim 0 and ``shape[time_dim]`` on ``time_dim``, 1 elsewhere,
        so it broadcasts to ``shape``. On the device of ``rel_lengths``.

    Example
    -------
    >>> import torch
    >>> relative_length_mask(torch.tensor([1.0, 0.5]), (2, 1, 4)).int()
    tensor([[[1, 1, 1, 1]],
    <BLANKLINE>
            [[1, 1, 0, 0]]], dtype=torch.int32)
    """
    ndim = len(shape)
    time_dim = time_dim % ndim
    num_frames = shape[time_dim]
    lengths = torch.round(rel_lengths.float() * num_frames)
    frames = torch.arange(num_frames, device=rel_lengths.device)
    mask = frames[None, :] < lengths[:, None]  # [batch, frames]
    view = [1] * ndim
    view[0], view[time_dim] = shape[0], num_frames
    return mask.reshape(view)


def masked_mse(pred, target, mask=None, weight=None):
    """Mean squared error over the elements where ``mask`` is True only.

    Values of ``pred`` and ``target`` in the masked-out region (even inf or nan) do not
    change the result. With ``weight``, each example's squared errors are scaled by its
    weight before the mean.

    Arguments
    ---------
    pred : torch.Tensor
        [batch, ...] prediction.
    target : torch.Tensor
        [batch, ...] target, same shape.
    mask : torch.Tensor, optional
        Bool, broadcastable to ``pred``; None = every element counts.
    weight : torch.Tensor, optional
        [batch] per-example weights (e.g. :func:`min_snr_weight`); None = 1.

    Returns
    -------
    loss : torch.Tensor
        Scalar.

    Example
    -------
    >>> import torch
    >>> mask = torch.tensor([[True, False]])
    >>> masked_mse(torch.tensor([[2.0, 100.0]]), torch.zeros(1, 2), mask)
    tensor(4.)
    >>> masked_mse(torch.ones(2, 3), torch.zeros(2, 3), weight=torch.tensor([1.0, 0.0]))
    tensor(0.5000)
    """
    sq_err = (pred - target) ** 2
    if mask is not None:
        mask = mask.to(pred.device).expand_as(pred)
        sq_err = torch.where(mask, pred - target, torch.zeros_like(pred)) ** 2
    if weight is not None:
        sq_err = sq_err * append_dims(weight.to(sq_err.dtype), sq_err.ndim)
    if mask is None:
        return sq_err.mean()
    return sq_err.sum() / mask.sum().clamp(min=1)


def min_snr_weight(prediction, alpha_bar, gamma=5.0):
    """Min-SNR-gamma loss weights (Hang et al. 2023, eq. 8) for a network's native target.

    The x0 error is weighted by min(SNR, gamma), SNR = alpha_bar / (1 - alpha_bar): the
    low-noise steps, which dominate an unweighted eps or v loss without helping samples
    much, are capped. In each target's own units: eps min(SNR, gamma) / SNR, v
    min(SNR, gamma) / (SNR + 1), x0 min(SNR, gamma).

    Arguments
    ---------
    prediction : str
        "eps", "v" or "x0".
    alpha_bar : torch.Tensor
        [batch] alpha_bar at the sampled steps.
    gamma : float
        The cap (5 in the paper).

    Returns
    -------
    torch.Tensor
        [batch] weights.

    Example
    -------
    >>> import torch
    >>> min_snr_weight("v", torch.tensor([0.5, 0.99]), gamma=5.0)
    tensor([0.5000, 0.0500])
    """
    snr = alpha_bar / (1 - alpha_bar).clamp(min=1e-12)
    capped = snr.clamp(max=gamma)
    if prediction == "eps":
        return (gamma / snr.clamp(min=1e-12)).clamp(max=1.0)
    if prediction == "v":
        return capped / (snr + 1)
    if prediction == "x0":
        return capped
    raise ValueError(f"unknown prediction {prediction!r}")


def diffusion_loss(
    model,
    x0,
    schedule,
    *,
    prediction="v",
    cond=None,
    mask=None,
    t=None,
    noise=None,
    generator=None,
    prior=None,
    min_snr_gamma=None,
):
    """The denoising loss E_{t, eps} || model(x_t, t) - target ||^2 (Ho et al. 2020, eq. 14).

    t ~ U{0, .., T-1} and eps ~ N(0, I) unless given, x_t = q_sample(schedule, x0, t, eps),
    and the target is eps, v or x0 (``training_target``), unweighted unless
    ``min_snr_gamma`` is set (:func:`min_snr_weight`).

    With a noise ``prior`` N(0, Sigma), eps is drawn from it and the residual is whitened
    before the square: E || L^{-1} (model(x_t, t) - target) ||^2, Sigma = L L^T (PriorGrad,
    Lee et al. 2022, Algorithm 1 and Proposition 1; SpecGrad, Koizumi et al. 2022, sec. 3).
    For eps prediction that is the papers' loss; a v or x0 residual is a per-example multiple
    of the eps residual (v - v_hat = (eps - eps_hat) / sqrt(alpha_bar)), so the same
    whitening applies. Any positive-definite whitening keeps E[eps | x_t] as the minimiser.

    Arguments
    ---------
    model : callable
        Network ``model(x_t, t, **cond) -> output`` of the same shape as x_t.
    x0 : torch.Tensor
        [batch, ...] clean data.
    schedule : NoiseSchedule
        The noise schedule.
    prediction : str
        What the network predicts: "eps", "v" or "x0".
    cond : dict, optional
        Extra keyword arguments of ``model`` (labels, context, ...).
    mask : torch.Tensor, optional
        Bool mask broadcastable to ``x0`` (e.g. ``relative_length_mask``).
    t : torch.Tensor, optional
        [batch] long steps; drawn uniformly if None.
    noise : torch.Tensor, optional
        [batch, ...] noise eps; drawn if None.
    generator : torch.Generator, optional
        Drives the draws of ``t`` and ``noise``.
    prior : object, optional
        A conditioned noise distribution with ``sample(like, generator)`` and
        ``whiten(residual)`` (``audiodiff.diffusion.priors``); None = N(0, I), no whitening.
    min_snr_gamma : float, optional
        Weight each example by min-SNR-gamma (None: no weighting).

    Returns
    -------
    loss : torch.Tensor
        Scalar.

    Example
    -------
    >>> import torch
    >>> from audiodiff.diffusion.schedules import make_schedule
    >>> schedule = make_schedule("cosine", num_steps=10)
    >>> model = lambda x_t, t: torch.zeros_like(x_t)
    >>> loss = diffusion_loss(model, torch.zeros(2, 3), schedule, prediction="x0")
    >>> float(loss)
    0.0
    """
    batch = x0.shape[0]
    if t is None:
        device = x0.device if generator is None else generator.device
        t = torch.randint(0, schedule.num_steps, (batch,), generator=generator, device=device)
    t = t.to(x0.device)
    if noise is None:
        noise = draw_noise(x0, generator, prior)
    x_t = q_sample(schedule, x0, t, noise)
    output = model(x_t, t, **(cond or {}))
    alpha_bar = schedule.alpha_bar.to(x0.device)[t]
    target = training_target(prediction, x0, noise, alpha_bar)
    weight = None if min_snr_gamma is None else min_snr_weight(prediction, alpha_bar, min_snr_gamma)
    if prior is None:
        return masked_mse(output, target, mask, weight)
    residual = prior.whiten(output.float() - target.float())
    return masked_mse(residual, torch.zeros_like(residual), mask, weight)
