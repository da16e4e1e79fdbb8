"""Classifier-free guidance (Ho & Salimans 2022)."""

import torch


def guided_eps(denoiser, x_t, t, cond=None, uncond=None, guidance_scale=1.0):
    """Guided noise prediction eps = eps_u + s * (eps_c - eps_u) (Ho & Salimans 2022, eq. 6).

    Code -> paper: ``guidance_scale`` s = 1 + w (the paper's w), eps_c = eps(x_t, c),
    eps_u = eps(x_t) (the null condition). s = 1 is the plain conditional model, s > 1
    strengthens the condition.

    With s == 1 or no ``uncond``, the denoiser is called once with ``cond``. Otherwise it is
    called ONCE on a doubled batch: x_t, t and each tensor of ``cond`` / ``uncond``
    concatenated along dim 0 (conditional half first). Non-tensor values of ``cond``
    (e.g. None) are passed through unchanged.

    Arguments
    ---------
    denoiser : callable
        ``denoiser(x_t, t, **cond) -> eps``.
    x_t : torch.Tensor
        [batch, ...] noisy data.
    t : torch.Tensor
        [batch] long steps.
    cond : dict, optional
        Conditional keyword arguments of ``denoiser``.
    uncond : dict, optional
        Unconditional ("null") keyword arguments, with the same keys as ``cond``.
    guidance_scale : float
        The scale s.

    Returns
    -------
    eps : torch.Tensor
        [batch, ...]

    Example
    -------
    >>> denoiser = lambda x_t, t, label: x_t * label[:, None]
    >>> x_t, t = torch.ones(1, 2), torch.zeros(1, dtype=torch.long)
    >>> cond, uncond = {"label": torch.tensor([2.0])}, {"label": torch.tensor([1.0])}
    >>> guided_eps(denoiser, x_t, t, cond, uncond, guidance_scale=3.0)
    tensor([[4., 4.]])
    """
    cond = cond or {}
    if uncond is None or guidance_scale == 1:
        return denoiser(x_t, t, **cond)
    if set(uncond) != set(cond):
        raise ValueError(
            f"cond and uncond must have the same keys, got {sorted(cond)} and {sorted(uncond)}"
        )
    batched = {}
    for key, value in cond.items():
        null = uncond[key]
        if torch.is_tensor(value) and torch.is_tensor(null):
            batched[key] = torch.cat([value, null.to(value.device)])
        elif torch.is_tensor(value) or torch.is_tensor(null):
            raise ValueError(f"cond[{key!r}] and uncond[{key!r}] must both be tensors or not")
        else:
            batched[key] = value
    eps = denoiser(torch.cat([x_t, x_t]), torch.cat([t, t]), **batched)
    eps_c, eps_u = eps.chunk(2)
    return eps_u + guidance_scale * (eps_c - eps_u)
