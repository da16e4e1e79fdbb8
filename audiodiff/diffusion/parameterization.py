"""The one place that converts between eps, x0 and v predictions.

With a = sqrt(alpha_bar), s = sqrt(1 - alpha_bar) (so a**2 + s**2 = 1):
x_t = a * x0 + s * eps and v = a * eps - s * x0 (Salimans & Ho 2022, sec. 4), hence
eps = s * x_t + a * v and x0 = a * x_t - s * v.
``alpha_bar`` is a [batch] tensor (or a scalar); it is broadcast to the data inside.
"""

import torch

from audiodiff.diffusion.forward import append_dims

PREDICTIONS = ("eps", "v", "x0")


def _check(prediction):
    if prediction not in PREDICTIONS:
        raise ValueError(f"unknown prediction {prediction!r}; choose one of {PREDICTIONS}")


def _a_s(alpha_bar, like):
    """Return a = sqrt(alpha_bar) and s = sqrt(1 - alpha_bar), broadcast to ``like``."""
    alpha_bar = append_dims(alpha_bar, like.ndim)
    return alpha_bar.sqrt(), (1 - alpha_bar).sqrt()


def eps_to_x0(eps, x_t, alpha_bar):
    """x0 = (x_t - sqrt(1 - alpha_bar) * eps) / sqrt(alpha_bar) (Ho et al. 2020, eq. 15).

    Arguments
    ---------
    eps, x_t : torch.Tensor
        [batch, ...] noise prediction and noisy data.
    alpha_bar : torch.Tensor
        [batch] (or scalar) alpha_bar at the step of ``x_t``.

    Returns
    -------
    x0 : torch.Tensor
        [batch, ...]

    Example
    -------
    >>> import torch
    >>> eps_to_x0(torch.ones(1, 2), torch.full((1, 2), 0.5), torch.tensor([0.75]))
    tensor([[0., 0.]])
    """
    a, s = _a_s(alpha_bar, x_t)
    return (x_t - s * eps) / a


def x0_to_eps(x0, x_t, alpha_bar):
    """eps = (x_t - sqrt(alpha_bar) * x0) / sqrt(1 - alpha_bar).

    Arguments
    ---------
    x0, x_t : torch.Tensor
        [batch, ...] clean-data prediction and noisy data.
    alpha_bar : torch.Tensor
        [batch] (or scalar).

    Returns
    -------
    eps : torch.Tensor
        [batch, ...]

    Example
    -------
    >>> import torch
    >>> x0_to_eps(torch.zeros(1, 2), torch.ones(1, 2), torch.tensor([0.75]))
    tensor([[2., 2.]])
    """
    a, s = _a_s(alpha_bar, x_t)
    return (x_t - a * x0) / s


def v_target(x0, eps, alpha_bar):
    """v = sqrt(alpha_bar) * eps - sqrt(1 - alpha_bar) * x0 (Salimans & Ho 2022, sec. 4).

    Arguments
    ---------
    x0, eps : torch.Tensor
        [batch, ...] clean data and the noise added.
    alpha_bar : torch.Tensor
        [batch] (or scalar).

    Returns
    -------
    v : torch.Tensor
        [batch, ...]

    Example
    -------
    >>> import torch
    >>> v_target(torch.ones(1, 1), torch.ones(1, 1), torch.tensor([0.25]))
    tensor([[-0.3660]])
    """
    a, s = _a_s(alpha_bar, x0)
    return a * eps - s * x0


def v_to_eps(v, x_t, alpha_bar):
    """eps = sqrt(1 - alpha_bar) * x_t + sqrt(alpha_bar) * v.

    Arguments
    ---------
    v, x_t : torch.Tensor
        [batch, ...] v prediction and noisy data.
    alpha_bar : torch.Tensor
        [batch] (or scalar).

    Returns
    -------
    eps : torch.Tensor
        [batch, ...]

    Example
    -------
    >>> import torch
    >>> v_to_eps(torch.zeros(1, 1), torch.ones(1, 1), torch.tensor([0.75]))
    tensor([[0.5000]])
    """
    a, s = _a_s(alpha_bar, x_t)
    return s * x_t + a * v


def v_to_x0(v, x_t, alpha_bar):
    """x0 = sqrt(alpha_bar) * x_t - sqrt(1 - alpha_bar) * v.

    Arguments
    ---------
    v, x_t : torch.Tensor
        [batch, ...] v prediction and noisy data.
    alpha_bar : torch.Tensor
        [batch] (or scalar).

    Returns
    -------
    x0 : torch.Tensor
        [batch, ...]

    Example
    -------
    >>> import torch
    >>> v_to_x0(torch.zeros(1, 1), torch.ones(1, 1), torch.tensor([0.25]))
    tensor([[0.5000]])
    """
    a, s = _a_s(alpha_bar, x_t)
    return a * x_t - s * v


def training_target(prediction, x0, eps, alpha_bar):
    """The regression target of a network trained to predict ``prediction``.

    Arguments
    ---------
    prediction : str
        "eps", "v" or "x0".
    x0, eps : torch.Tensor
        [batch, ...] clean data and the noise added to make x_t.
    alpha_bar : torch.Tensor
        [batch] (or scalar) alpha_bar at the sampled steps.

    Returns
    -------
    target : torch.Tensor
        [batch, ...]

    Example
    -------
    >>> import torch
    >>> training_target("x0", torch.zeros(1, 1), torch.ones(1, 1), torch.tensor([0.5]))
    tensor([[0.]])
    """
    _check(prediction)
    if prediction == "eps":
        return eps
    if prediction == "x0":
        return x0
    return v_target(x0, eps, alpha_bar)


def output_to_eps(prediction, output, x_t, alpha_bar):
    """Convert a network output of kind ``prediction`` to an eps prediction.

    Arguments
    ---------
    prediction : str
        "eps", "v" or "x0".
    output, x_t : torch.Tensor
        [batch, ...] network output and its noisy input.
    alpha_bar : torch.Tensor
        [batch] (or scalar).

    Returns
    -------
    eps : torch.Tensor
        [batch, ...]

    Example
    -------
    >>> import torch
    >>> output_to_eps("eps", torch.ones(1, 1), torch.zeros(1, 1), torch.tensor([0.5]))
    tensor([[1.]])
    """
    _check(prediction)
    if prediction == "eps":
        return output
    if prediction == "x0":
        return x0_to_eps(output, x_t, alpha_bar)
    return v_to_eps(output, x_t, alpha_bar)


def output_to_x0(prediction, output, x_t, alpha_bar):
    """Convert a network output of kind ``prediction`` to an x0 prediction.

    Arguments
    ---------
    prediction : str
        "eps", "v" or "x0".
    output, x_t : torch.Tensor
        [batch, ...] network output and its noisy input.
    alpha_bar : torch.Tensor
        [batch] (or scalar).

    Returns
    -------
    x0 : torch.Tensor
        [batch, ...]

    Example
    -------
    >>> import torch
    >>> output_to_x0("x0", torch.ones(1, 1), torch.zeros(1, 1), torch.tensor([0.5]))
    tensor([[1.]])
    """
    _check(prediction)
    if prediction == "x0":
        return output
    if prediction == "eps":
        return eps_to_x0(output, x_t, alpha_bar)
    return v_to_x0(output, x_t, alpha_bar)


class EpsDenoiser:
    """Adapt a network ``model(x_t, t, **cond)`` of any prediction kind to the sampler contract
    ``denoiser(x_t, t, **cond) -> eps``.

    A plain callable (not an ``nn.Module``), so the network's parameters are owned once. Keep
    ``schedule`` on the network's device: alpha_bar is looked up on ``x_t``'s device.

    Arguments
    ---------
    model : callable
        Network ``model(x_t, t, **cond) -> output``, x_t [batch, ...], t [batch] long.
    schedule : NoiseSchedule
        The training noise schedule.
    prediction : str
        What ``model`` predicts: "eps", "v" or "x0".

    Example
    -------
    >>> import torch
    >>> from audiodiff.diffusion.schedules import make_schedule
    >>> denoiser = EpsDenoiser(lambda x, t: torch.zeros_like(x), make_schedule("cosine", 10))
    >>> denoiser(torch.ones(2, 3), torch.tensor([0, 9])).shape
    torch.Size([2, 3])
    """

    def __init__(self, model, schedule, prediction="v"):
        _check(prediction)
        self.model = model
        self.schedule = schedule
        self.prediction = prediction

    def _alpha_bar(self, t, x_t):
        alpha_bar = self.schedule.alpha_bar.to(x_t.device)
        t = t.to(x_t.device)
        if not t.is_floating_point():
            return alpha_bar[t]
        # fractional t (DiffWave's aligned fast-schedule steps): sqrt(alpha_bar) is linear
        # between training steps, as in the alignment of fast_schedule.align_noise_levels
        low = t.floor().long().clamp(0, len(alpha_bar) - 1)
        high = (low + 1).clamp(max=len(alpha_bar) - 1)
        root = torch.lerp(alpha_bar[low].sqrt(), alpha_bar[high].sqrt(), (t - low).to(alpha_bar))
        return root**2

    def __call__(self, x_t, t, **cond):
        """Return eps [batch, ...] predicted at x_t [batch, ...], t [batch] long."""
        output = self.model(x_t, t, **cond)
        return output_to_eps(self.prediction, output, x_t, self._alpha_bar(t, x_t))

    def predict_x0(self, x_t, t, **cond):
        """Return x0 [batch, ...] predicted at x_t [batch, ...], t [batch] long."""
        output = self.model(x_t, t, **cond)
        return output_to_x0(self.prediction, output, x_t, self._alpha_bar(t, x_t))
