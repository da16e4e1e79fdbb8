"""SaShiMi (Goel et al. 2022, "It's Raw!") as a diffusion denoiser, with S4D layers in plain torch.

A multi-scale U-Net over the waveform: residual blocks of a bidirectional diagonal
state-space layer (S4D, Gu et al. 2022, "On the Parameterization and Initialization of
Diagonal State Space Models") and a feed-forward layer, with pooling between the stages
(each pool folds ``p`` time steps into channels and expands the width). The state-space
kernel is computed from its parameters at every call and applied by FFT convolution: no
custom CUDA kernel, no pykeops. Diffusion-step (and label) conditioning is added to each
block's input, as in the SaShiMi + DiffWave models of the paper.

Call contract (shared by every audiodiff network): ``model(x_t, t, **labels)`` with ``x_t``
[batch, 1, samples] and ``t`` [batch] -> [batch, 1, samples]. Features run time-major,
[batch, samples, channels].
"""

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from audiodiff.nets.waveform_conditioning import StepLabelEmbedding


def s4d_kernel(log_dt, a_log_real, a_imag, c, length):
    """Convolution kernel of diagonal state-space models, zero-order-hold discretised.

    For each channel h, the continuous system x' = A x + B u, y = 2 Re(C x) with diagonal
    complex A = -exp(a_log_real) + i a_imag (N/2 modes; the conjugate modes are the factor 2)
    and B = 1, discretised with step dt = exp(log_dt), has the impulse response
    K[l] = 2 Re(sum_n C_n (exp(dt A_n) - 1) / A_n * exp(dt A_n l)),  l = 0 .. length-1
    (Gu et al. 2022, S4D, eq. 5 with ZOH). Computed in float32 / complex64 at least (float64
    parameters give float64).

    Arguments
    ---------
    log_dt : torch.Tensor
        [H] log step sizes.
    a_log_real, a_imag : torch.Tensor
        [H, N/2] log of -Re(A) and Im(A).
    c : torch.Tensor
        [H, N/2, 2] real and imaginary parts of C.
    length : int
        Kernel length L.

    Returns
    -------
    torch.Tensor
        [H, L] kernel, float32 (or float64).

    Example
    -------
    >>> h, n = 3, 4
    >>> k = s4d_kernel(torch.zeros(h), torch.zeros(h, n), torch.ones(h, n), torch.ones(h, n, 2), 10)
    >>> k.shape
    torch.Size([3, 10])
    """
    dtype = torch.promote_types(log_dt.dtype, torch.float32)
    dt = torch.exp(log_dt.to(dtype))[:, None]  # [H, 1]
    a = torch.complex(-torch.exp(a_log_real.to(dtype)), a_imag.to(dtype))  # [H, N/2]
    dt_a = a * dt
    c = torch.view_as_complex(c.to(dtype).contiguous()) * torch.expm1(dt_a) / a
    steps = torch.arange(length, device=a.device, dtype=dtype)
    vandermonde = torch.exp(dt_a[:, :, None] * steps)  # [H, N/2, L]
    return 2 * torch.einsum("hn,hnl->hl", c, vandermonde).real


class S4D(nn.Module):
    """Bidirectional S4D layer on time-major features [batch, length, H].

    y = GLU(W GELU(K_fwd * u + K_bwd *' u + D u)), where K_fwd * u is the causal convolution with
    one S4D kernel, K_bwd *' u the anti-causal one with a second kernel (the same convolution
    on the time-reversed input), both done at once by an FFT of size 2 L; W is a Linear H -> 2H
    and GLU halves it back to H (the S4 block's output layer). S4D-Lin initialisation:
    A_n = -1/2 + i pi n, C ~ N(0, 1/2) complex, dt log-uniform in [dt_min, dt_max].

    Arguments
    ---------
    channels : int
        Number of channels H (one independent state-space model per channel and direction).
    state_size : int
        State size N per channel (N/2 complex conjugate pairs).
    dt_min, dt_max : float
        Range of the initial step sizes.
    bidirectional : bool
        Add the anti-causal kernel (non-causal layer); False gives a causal layer.
    dropout : float
        Dropout after the activation.

    Example
    -------
    >>> layer = S4D(channels=4, state_size=8)
    >>> layer(torch.randn(2, 50, 4)).shape
    torch.Size([2, 50, 4])
    """

    def __init__(
        self, channels, state_size=64, dt_min=1e-3, dt_max=1e-1, bidirectional=True, dropout=0.0
    ):
        super().__init__()
        if state_size % 2:
            raise ValueError(f"state_size must be even, got {state_size}")
        self.channels = channels
        self.bidirectional = bidirectional
        kernels = channels * (2 if bidirectional else 1)
        modes = state_size // 2
        log_dt = torch.rand(kernels) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        self.log_dt = nn.Parameter(log_dt)
        self.a_log_real = nn.Parameter(torch.full((kernels, modes), math.log(0.5)))
        self.a_imag = nn.Parameter(math.pi * torch.arange(modes).float().repeat(kernels, 1))
        self.c = nn.Parameter(torch.randn(kernels, modes, 2) * math.sqrt(0.5))
        self.d = nn.Parameter(torch.randn(channels))
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(channels, 2 * channels)

    def kernel(self, length):
        """[kernels, length] float32 state-space kernels (forward first, then backward).

        With gradients on, the [kernels, N/2, length] Vandermonde intermediate is recomputed
        in the backward pass instead of being stored (about 1 GB per layer at 16000 steps
        and width 128): the kernel costs little to compute and does not depend on the batch.
        """
        args = (self.log_dt, self.a_log_real, self.a_imag, self.c, length)
        if torch.is_grad_enabled():
            return checkpoint(s4d_kernel, *args, use_reentrant=False)
        return s4d_kernel(*args)

    def convolve(self, u):
        """The state-space part alone: [batch, length, H] -> [batch, length, H], in float32
        (float64 for float64 input), autocast off: FFTs need it."""
        length = u.shape[1]
        with torch.autocast(u.device.type, enabled=False):
            u = u.to(torch.promote_types(u.dtype, torch.float32))
            k = self.kernel(length)
            if self.bidirectional:
                k_fwd, k_bwd = k.chunk(2, dim=0)
                # causal taps at lags 0..L-1, anti-causal taps at lags -1..-L (circular 2L)
                k = F.pad(k_fwd, (0, length)) + F.pad(k_bwd.flip(-1), (length, 0))
            n = 2 * length
            k_f = torch.fft.rfft(k, n=n, dim=-1).transpose(0, 1)  # [n/2+1, H]
            u_f = torch.fft.rfft(u, n=n, dim=1)  # [batch, n/2+1, H]
            y = torch.fft.irfft(u_f * k_f, n=n, dim=1)[:, :length]
            return y + u * self.d

    def forward(self, u):
        """[batch, length, H] -> [batch, length, H]."""
        y = self.dropout(F.gelu(self.convolve(u)))
        return F.glu(self.output(y), dim=-1)


class _Block(nn.Module):
    """Residual SaShiMi block: x + S4D(LN(x) + step), then x + FF(LN(x))."""

    def __init__(self, channels, embed_dim, state_size, ff_expand, bidirectional, dropout):
        super().__init__()
        self.step = nn.Linear(embed_dim, channels)
        self.norm1 = nn.LayerNorm(channels)
        self.s4 = S4D(channels, state_size, bidirectional=bidirectional, dropout=dropout)
        self.norm2 = nn.LayerNorm(channels)
        self.ff = nn.Sequential(
            nn.Linear(channels, ff_expand * channels),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(ff_expand * channels, channels),
        )

    def forward(self, x, emb):
        x = x + self.s4(self.norm1(x) + self.step(emb)[:, None, :])
        return x + self.ff(self.norm2(x))


class _DownPool(nn.Module):
    """[batch, L, H] -> [batch, L / p, H * expand]: fold p steps into channels, then Linear."""

    def __init__(self, channels, out_channels, pool):
        super().__init__()
        self.pool = pool
        self.linear = nn.Linear(channels * pool, out_channels)

    def forward(self, x, emb):
        batch, length, channels = x.shape
        return self.linear(x.reshape(batch, length // self.pool, self.pool * channels))


class _UpPool(nn.Module):
    """[batch, L, H * expand] -> [batch, L * p, H]: Linear, then unfold channels into p steps."""

    def __init__(self, channels, out_channels, pool):
        super().__init__()
        self.pool = pool
        self.linear = nn.Linear(channels, out_channels * pool)

    def forward(self, x, emb):
        batch, length, _ = x.shape
        return self.linear(x).reshape(batch, length * self.pool, -1)


class SaShiMi(nn.Module):
    """SaShiMi U-Net denoiser over waveforms, conditioned on the diffusion step and labels.

    Down path: for each pooling factor p, ``n_layers`` blocks then a pool (length / p,
    width * ``expand``); centre: ``n_layers`` blocks; up path: mirror image, an up-pool then
    ``n_layers`` blocks, with a U-Net skip connection (addition) after every up-path layer.
    Input 1x1 + ReLU; output LayerNorm, 1x1, ReLU, zero-initialised 1x1. Inputs whose length
    is not a multiple of prod(pool) are zero-padded at the end and the output is cropped.
    Every block is non-causal (bidirectional S4D), so the receptive field is the whole input.

    The defaults are the SC09 diffusion model of the paper (SaShiMi + DiffWave, 23.0M
    parameters): ``d_model=128, n_layers=6, pool=(4, 4), expand=2, ff_expand=2``.

    Arguments
    ---------
    d_model : int
        Width of the first stage (stage i has ``d_model * expand ** i``).
    n_layers : int
        Residual blocks per stage.
    pool : tuple of int
        Pooling factor of each down stage.
    expand : int
        Width multiplier per down stage.
    ff_expand : int
        Hidden-size multiplier of the feed-forward layers.
    state_size : int
        State size N of the S4D layers.
    bidirectional : bool
        Non-causal S4D layers (True for diffusion).
    dropout : float
        Dropout in the blocks.
    label_classes : dict, optional
        Label name -> number of classes. None: no labels.
    cond_drop_prob : float
        Probability of dropping each label to null in training mode.
    step_embed_dim, embed_dim : int
        Sizes of the sinusoidal step features and of the step/label embedding vector.

    Example
    -------
    >>> model = SaShiMi(d_model=8, n_layers=1, pool=(2, 2), state_size=4,
    ...                 label_classes={"digit": 10})
    >>> model(torch.randn(2, 1, 30), torch.tensor([0, 99]), digit=torch.tensor([1, -1])).shape
    torch.Size([2, 1, 30])
    """

    def __init__(
        self,
        d_model=128,
        n_layers=6,
        pool=(4, 4),
        expand=2,
        ff_expand=2,
        state_size=64,
        bidirectional=True,
        dropout=0.0,
        label_classes=None,
        cond_drop_prob=0.1,
        step_embed_dim=128,
        embed_dim=512,
    ):
        super().__init__()
        self.pool = tuple(int(p) for p in pool)
        self.downsample_factor = math.prod(self.pool)
        self.step_embed = StepLabelEmbedding(
            step_embed_dim, embed_dim, label_classes, cond_drop_prob
        )

        def block(channels):
            return _Block(channels, embed_dim, state_size, ff_expand, bidirectional, dropout)

        width = d_model
        down = []
        for p in self.pool:
            down += [block(width) for _ in range(n_layers)]
            down.append(_DownPool(width, width * expand, p))
            width *= expand
        self.down = nn.ModuleList(down)
        self.center = nn.ModuleList(block(width) for _ in range(n_layers))
        up = []
        for p in reversed(self.pool):
            up.append(_UpPool(width, width // expand, p))
            width //= expand
            up += [block(width) for _ in range(n_layers)]
        self.up = nn.ModuleList(up)

        self.input_projection = nn.Linear(1, d_model)
        self.norm = nn.LayerNorm(d_model)
        self.output = nn.Sequential(nn.Linear(d_model, d_model), nn.ReLU(), nn.Linear(d_model, 1))
        nn.init.zeros_(self.output[-1].weight)
        nn.init.zeros_(self.output[-1].bias)

    @property
    def label_classes(self):
        """dict: label name -> number of classes."""
        return self.step_embed.label_classes

    def num_parameters(self):
        """int: the number of parameters."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, x, t, mel=None, **labels):
        """Predict the network target (eps, v or x0, decided by the caller's loss).

        Arguments
        ---------
        x : torch.Tensor
            [batch, 1, samples] noisy waveform.
        t : torch.Tensor
            [batch] (or scalar) long or float diffusion steps.
        mel : None
            Not supported (accepted for the common signature; must be None).
        **labels : torch.Tensor
            One [batch] long tensor per name in ``label_classes`` (``-1`` = no label).

        Returns
        -------
        torch.Tensor
            [batch, 1, samples].
        """
        if mel is not None:
            raise ValueError("SaShiMi takes no mel spectrogram (use DiffWave with n_mels)")
        batch, _, length = x.shape
        if t.ndim == 0:
            t = t.expand(batch)
        emb = self.step_embed(t, labels)
        h = x.transpose(1, 2)  # [batch, samples, 1]
        pad = -length % self.downsample_factor
        if pad:
            h = F.pad(h, (0, 0, 0, pad))
        h = F.relu(self.input_projection(h))
        skips = []
        for layer in self.down:
            skips.append(h)
            h = layer(h, emb)
        skips.append(h)
        for layer in self.center:
            h = layer(h, emb)
        h = h + skips.pop()
        for layer in self.up:
            h = layer(h, emb) + skips.pop()
        h = self.output(self.norm(h))
        return h[:, :length].transpose(1, 2)
