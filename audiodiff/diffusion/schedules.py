"""Noise schedules: beta sequences, the ``NoiseSchedule`` module and timestep respacing."""

import math

import torch

SCHEDULE_KINDS = ("linear", "cosine", "betas")


def linear_betas(num_steps, beta_start=1e-4, beta_end=0.02):
    """Linearly spaced betas (Ho et al. 2020, sec. 4: 1e-4 to 0.02 over T=1000 steps).

    Arguments
    ---------
    num_steps : int
        Number of diffusion steps T.
    beta_start : float
        beta of the first step.
    beta_end : float
        beta of the last step.

    Returns
    -------
    betas : torch.Tensor
        [num_steps] float64.

    Example
    -------
    >>> linear_betas(3, 0.1, 0.3)
    tensor([0.1000, 0.2000, 0.3000], dtype=torch.float64)
    """
    return torch.linspace(beta_start, beta_end, num_steps, dtype=torch.float64)


def cosine_betas(num_steps, s=0.008, max_beta=0.999):
    """Cosine schedule (Nichol & Dhariwal 2021, eq. 17).

    alpha_bar(t) = f(t) / f(0) with f(t) = cos(((t / T + s) / (1 + s)) * pi / 2) ** 2, and
    beta_t = min(1 - alpha_bar(t + 1) / alpha_bar(t), max_beta) for t = 0 .. T-1 (code step t
    is the paper's step t + 1).

    Arguments
    ---------
    num_steps : int
        Number of diffusion steps T.
    s : float
        Small offset that keeps beta_0 from being too small.
    max_beta : float
        Upper clip of beta, which avoids a singularity at the last step.

    Returns
    -------
    betas : torch.Tensor
        [num_steps] float64.

    Example
    -------
    >>> betas = cosine_betas(10)
    >>> betas.shape, bool(betas[-1] == 0.999)
    (torch.Size([10]), True)
    """
    steps = torch.arange(num_steps + 1, dtype=torch.float64)
    f = torch.cos((steps / num_steps + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=max_beta)


class NoiseSchedule(torch.nn.Module):
    """A discrete noise schedule of T steps, as float32 buffers (moved by ``.to(device)``).

    Buffers, each [T]: ``betas``, ``alphas = 1 - betas``, ``alpha_bar = cumprod(alphas)``
    and ``alpha_bar_prev`` (alpha_bar shifted right by one, with alpha_bar_prev[0] = 1).
    They are computed in float64 and stored as float32.

    Arguments
    ---------
    betas : list or torch.Tensor
        [T] betas, each strictly inside (0, 1).

    Example
    -------
    >>> schedule = NoiseSchedule([0.1, 0.5])
    >>> schedule.num_steps
    2
    >>> schedule.alpha_bar
    tensor([0.9000, 0.4500])
    """

    def __init__(self, betas):
        super().__init__()
        betas = torch.as_tensor(betas, dtype=torch.float64).detach().cpu()
        if betas.ndim != 1 or len(betas) == 0:
            raise ValueError(f"betas must be a non-empty 1-D sequence, got shape {betas.shape}")
        if not bool(((betas > 0) & (betas < 1)).all()):
            raise ValueError(
                "every beta must lie strictly inside (0, 1); got min "
                f"{betas.min().item():.3g}, max {betas.max().item():.3g}"
            )
        alphas = 1 - betas
        alpha_bar = torch.cumprod(alphas, dim=0)
        alpha_bar_prev = torch.cat([torch.ones(1, dtype=torch.float64), alpha_bar[:-1]])
        self.register_buffer("betas", betas.float())
        self.register_buffer("alphas", alphas.float())
        self.register_buffer("alpha_bar", alpha_bar.float())
        self.register_buffer("alpha_bar_prev", alpha_bar_prev.float())

    @property
    def num_steps(self):
        """int: the number of diffusion steps T."""
        return len(self.betas)

    def log_snr(self, t):
        """Half log signal-to-noise ratio lambda_t = 0.5 * log(alpha_bar / (1 - alpha_bar)).

        Arguments
        ---------
        t : torch.Tensor
            Integer steps in [0, T-1], any shape.

        Returns
        -------
        log_snr : torch.Tensor
            Same shape as ``t``, float32, on the schedule's device.

        Example
        -------
        >>> NoiseSchedule([0.5]).log_snr(torch.tensor([0]))
        tensor([0.])
        """
        alpha_bar = self.alpha_bar[t.to(self.alpha_bar.device)]
        return 0.5 * (torch.log(alpha_bar) - torch.log1p(-alpha_bar))

    def extra_repr(self):
        return f"num_steps={self.num_steps}"


def make_schedule(kind="cosine", num_steps=1000, betas=None, **kwargs):
    """Build a ``NoiseSchedule`` by name (usable from YAML with ``!apply:``).

    Arguments
    ---------
    kind : str
        "linear" (``linear_betas``), "cosine" (``cosine_betas``) or "betas" (``betas`` as given).
    num_steps : int
        Number of steps T (ignored for "betas", where T = len(betas)).
    betas : list or torch.Tensor, optional
        The betas, only with kind "betas".
    **kwargs
        Passed to the beta function (e.g. ``beta_end`` for "linear", ``s`` for "cosine");
        None values are left out (the function's default is used), so one YAML fragment
        (``hparams_shared/diffusion.yaml``) can pass ``beta_start: null`` to every kind.

    Returns
    -------
    schedule : NoiseSchedule

    Example
    -------
    >>> make_schedule("linear", num_steps=4).num_steps
    4
    >>> make_schedule("betas", betas=[0.1, 0.2]).betas
    tensor([0.1000, 0.2000])
    >>> make_schedule("cosine", num_steps=4, beta_start=None).num_steps
    4
    """
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    if kind not in SCHEDULE_KINDS:
        raise ValueError(f"unknown schedule kind {kind!r}; choose one of {SCHEDULE_KINDS}")
    if kind == "betas":
        if betas is None or kwargs:
            raise ValueError('kind "betas" takes only the `betas` argument')
        return NoiseSchedule(betas)
    if betas is not None:
        raise ValueError(f'`betas` is only used with kind "betas", not {kind!r}')
    beta_fn = linear_betas if kind == "linear" else cosine_betas
    return NoiseSchedule(beta_fn(num_steps, **kwargs))


def respace_timesteps(num_train_steps, steps):
    """Pick ``steps`` evenly spaced training steps, ending at T-1 ("trailing" spacing).

    t_k = round((k + 1) * T / steps) - 1 for k = 0 .. steps-1 (Lin et al. 2024, table 2), so
    the last step T-1 (the noisiest) is always included and steps == T gives 0 .. T-1.

    Arguments
    ---------
    num_train_steps : int
        Number of training steps T.
    steps : int
        Number of sampling steps, 1 <= steps <= T.

    Returns
    -------
    timesteps : torch.LongTensor
        [steps] strictly increasing steps in [0, T-1].

    Example
    -------
    >>> respace_timesteps(1000, 4)
    tensor([249, 499, 749, 999])
    """
    if not 1 <= steps <= num_train_steps:
        raise ValueError(f"steps must be in [1, {num_train_steps}], got {steps}")
    k = torch.arange(1, steps + 1, dtype=torch.float64)
    return torch.round(k * num_train_steps / steps).long() - 1
