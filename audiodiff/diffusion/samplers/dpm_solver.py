"""DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++"), discrete-time, data prediction."""

import torch

from audiodiff.diffusion.samplers.common import predict, sampling_timesteps, step_indices


def sample_dpm_solver(
    denoiser,
    x,
    schedule,
    *,
    steps,
    cond=None,
    uncond=None,
    guidance_scale=1.0,
    generator=None,
    clip_x0=None,
    callback=None,
    progress=False,
    prior=None,
):
    """Multistep second-order solver of the diffusion ODE in x0 prediction (Algorithm 2).

    On the respaced steps t_{S-1} = T-1 > .. > t_0 of ``respace_timesteps``, with
    lambda_t = log(alpha_t / sigma_t) = 0.5 * log(alpha_bar_t / (1 - alpha_bar_t)),
    h_i = lambda_{t_{i-1}} - lambda_{t_i} and x0_i = x_theta(x_{t_i}, t_i):

        x_{t_{i-1}} = (sigma_{t_{i-1}} / sigma_{t_i}) * x_{t_i}
                      - alpha_{t_{i-1}} * (exp(-h_i) - 1) * D_i,
        D_i = (1 + 1 / (2 r_i)) * x0_i - 1 / (2 r_i) * x0_{i+1},   r_i = h_{i+1} / h_i,

    except that the first step and the last step (into t_0) are first order, D_i = x0_i
    (DPM-Solver++(1) = DDIM; the first-order last step is the "lower order final" of the
    paper's code, which stabilises few-step sampling and costs nothing visible at many
    steps). The output is the x0 prediction at t_0: S steps cost S denoiser calls.
    Indices here count down to the data, the paper's up (its t_0 is the noisiest step).

    Code -> paper: ``alpha`` alpha_t = sqrt(alpha_bar), ``sigma`` sigma_t = sqrt(1 - alpha_bar),
    ``log_snr`` lambda_t, ``h`` h_i, ``sigma_ratio`` sigma_{t_{i-1}} / sigma_{t_i},
    ``phi`` -alpha_{t_{i-1}} (exp(-h_i) - 1), ``half_inv_r`` 1 / (2 r_i), ``x0`` x_theta.

    Arguments
    ---------
    denoiser : callable
        ``denoiser(x_t, t, **cond) -> eps`` (e.g. ``EpsDenoiser``).
    x : torch.Tensor
        [batch, ...] starting noise x_T ~ N(0, I), drawn by the caller.
    schedule : NoiseSchedule
        The training schedule (T steps).
    steps : int
        Number of sampling steps (= denoiser calls), at most T.
    cond, uncond : dict, optional
        Conditional / null keyword arguments of ``denoiser`` (see ``guided_eps``).
    guidance_scale : float or list of float
        Classifier-free guidance scale (1 = no guidance); a list: one per null branch of
        ``uncond`` (see ``guided_eps``).
    generator : torch.Generator, optional
        Unused (the solver is deterministic); accepted for a common sampler signature.
    clip_x0 : float, optional
        Clamp the predicted x0 to [-clip_x0, clip_x0].
    callback : callable, optional
        ``callback(n, x_t, x0)`` at step n = 0 .. steps-1, with the step's input x_t and
        predicted x0.
    progress : bool
        Show a tqdm progress bar.
    prior : object, optional
        The noise prior of ``x`` (see ``audiodiff.diffusion.priors``). The solver draws no
        noise, and its update is the same under N(0, Sigma): the probability-flow ODE written
        with eps_hat = -sigma_t Sigma grad log p_t is unchanged. Accepted for the shared
        sampler signature; unused.

    Returns
    -------
    x0 : torch.Tensor
        [batch, ...] samples, shape, dtype and device of ``x``.

    Example
    -------
    >>> from audiodiff.diffusion.schedules import make_schedule
    >>> denoiser = lambda x_t, t: torch.zeros_like(x_t)
    >>> x_T = torch.randn(2, 3)
    >>> sample_dpm_solver(denoiser, x_T, make_schedule("cosine", 10), steps=5).shape
    torch.Size([2, 3])
    """
    timesteps, alpha_bar, _ = sampling_timesteps(schedule, steps, x)
    alpha, sigma = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
    log_snr = 0.5 * (torch.log(alpha_bar) - torch.log1p(-alpha_bar))
    # Entry k describes the step from t_{k+1} to t_k, k = 0 .. S-2.
    h = log_snr[:-1] - log_snr[1:]
    sigma_ratio = sigma[:-1] / sigma[1:]
    phi = -alpha[:-1] * torch.expm1(-h)
    half_inv_r = h[:-1] / (2 * h[1:])  # r = h_{previous step} / h_{this step}
    t_batch = timesteps[:, None].expand(-1, x.shape[0])

    x0_prev = None
    for n, i in step_indices(len(timesteps), progress):
        _, x0 = predict(
            denoiser, x, t_batch[i], alpha_bar[i], cond, uncond, guidance_scale, clip_x0
        )
        if callback is not None:
            callback(n, x, x0)
        if i == 0:
            return x0
        k = i - 1
        if x0_prev is None or k == 0:
            d = x0
        else:
            d = x0 + half_inv_r[k] * (x0 - x0_prev)
        x = sigma_ratio[k] * x + phi[k] * d
        x0_prev = x0
