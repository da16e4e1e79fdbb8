"""Classifier-free guidance (Ho & Salimans 2022), with one scale or one scale per condition."""

import torch


def _as_chain(uncond, guidance_scale):
    """(list of null dicts, list of scales) from the single or chained form of the arguments."""
    if isinstance(uncond, dict):
        uncond = [uncond]
    scales = guidance_scale if isinstance(guidance_scale, (list, tuple)) else [guidance_scale]
    if len(scales) != len(uncond):
        raise ValueError(
            f"{len(uncond)} unconditional branch(es) need as many guidance scales, "
            f"got {len(scales)}"
        )
    return list(uncond), [float(s) for s in scales]


def _batched(cond, levels):
    """Concatenate the tensors of ``cond`` and of every dict of ``levels`` along dim 0."""
    batched = {}
    for key, value in cond.items():
        nulls = [level[key] for level in levels]
        is_tensor = [torch.is_tensor(v) for v in [value, *nulls]]
        if all(is_tensor):
            batched[key] = torch.cat([value, *(n.to(value.device) for n in nulls)])
        elif any(is_tensor):
            raise ValueError(f"cond[{key!r}] and uncond[{key!r}] must both be tensors or not")
        else:
            batched[key] = value
    return batched


def guided_eps(denoiser, x_t, t, cond=None, uncond=None, guidance_scale=1.0):
    """Guided noise prediction eps = eps_u + s * (eps_c - eps_u) (Ho & Salimans 2022, eq. 6).

    Code -> paper: ``guidance_scale`` s = 1 + w (the paper's w), eps_c = eps(x_t, c),
    eps_u = eps(x_t) (the null condition). s = 1 is the plain conditional model, s > 1
    strengthens the condition.

    **One scale per condition** (compositional guidance, as InstructPix2Pix's two scales):
    ``uncond`` may be a list of k null dicts c_1 .. c_k, each dropping more of the condition
    than the one before (e.g. [content only, nothing]), with ``guidance_scale`` a list of k
    scales s_1 .. s_k. With c_0 = ``cond`` and eps_i = eps(x_t, c_i)::

        eps = eps_k + sum_{i=1..k} s_i * (eps_{i-1} - eps_i)

    so s_i scales what the condition dropped at step i adds. k = 1 is the formula above;
    all s_i equal to s gives eps_k + s (eps_0 - eps_k); all s_i = 1 gives eps_0.

    With every scale 1 or no ``uncond``, the denoiser is called once with ``cond``.
    Otherwise it is called ONCE on a (k + 1)-fold batch: x_t, t and each tensor of ``cond``
    and of the null dicts concatenated along dim 0 (conditional part first). Non-tensor
    values of ``cond`` (e.g. None) are passed through unchanged.

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
    uncond : dict or list of dict, optional
        Unconditional ("null") keyword arguments, with the same keys as ``cond``; a list for
        one scale per condition.
    guidance_scale : float or list of float
        The scale s (a list: one per entry of ``uncond``).

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
    >>> chain = [{"label": torch.tensor([1.5])}, {"label": torch.tensor([1.0])}]
    >>> guided_eps(denoiser, x_t, t, cond, chain, guidance_scale=[1.0, 2.0])
    tensor([[2.5000, 2.5000]])
    """
    cond = cond or {}
    if uncond is None:
        return denoiser(x_t, t, **cond)
    levels, scales = _as_chain(uncond, guidance_scale)
    if all(s == 1 for s in scales):
        return denoiser(x_t, t, **cond)
    for level in levels:
        if set(level) != set(cond):
            raise ValueError(
                f"cond and uncond must have the same keys, got {sorted(cond)} and {sorted(level)}"
            )
    copies = len(levels) + 1
    eps = denoiser(torch.cat([x_t] * copies), torch.cat([t] * copies), **_batched(cond, levels))
    eps_levels = eps.chunk(copies)
    out = eps_levels[-1]
    for i, scale in enumerate(scales):
        out = out + scale * (eps_levels[i] - eps_levels[i + 1])
    return out
