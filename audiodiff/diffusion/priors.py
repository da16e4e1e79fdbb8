"""Noise priors: the distribution of the diffusion noise eps, for a given conditioning.

With a prior N(0, Sigma) in place of N(0, I) the forward process is

    x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps,   eps ~ N(0, Sigma),   Sigma = L L^T

(PriorGrad, Lee et al. 2022, sec. 3 and its Algorithm 1; SpecGrad, Koizumi et al. 2022, sec. 3).
Section / algorithm numbers are those of the arXiv versions (PriorGrad: 2106.06406; SpecGrad:
2203.16749).
The network still predicts eps, and every update of the shared samplers is the same formula,
because each is linear in eps and x0: the ancestral posterior q(x_{t-1} | x_t, x0) becomes
N(mu_tilde, beta_tilde Sigma), DDIM's x_{t-1} keeps its form with its fresh noise z ~ N(0,
Sigma), and the probability-flow ODE dx = [f x - g^2 / 2 Sigma grad log p_t] dt, written with
eps_hat = -sigma_t Sigma grad log p_t, is DPM-Solver's ODE again. So a prior only

- draws noise for a conditioning: x_T and every fresh draw of a sampler
  (``noise.sample(like, generator)``), and
- whitens a residual for the loss: || L^{-1} (eps - eps_hat) ||^2 (``noise.whiten(r)``),
  the negative log-likelihood weighting of PriorGrad (Proposition 1: the loss
  ||eps - eps_theta||^2_{Sigma^{-1}}) and SpecGrad (its loss with L^{-1}).

A prior object is built once (from YAML) and fitted on the training set where it has
statistics; ``prior.condition(mel_db)`` returns the noise distribution of one batch of
conditioning mels, with ``sample`` and ``whiten``. The noise acts on the last dimension of
[batch, ..., samples] tensors, with mel frame j centred on sample j * hop_length (the frames
of ``audiodiff.audio.MelSpectrogram``, ``center=True``).

- :class:`StandardGaussianPrior`: N(0, I) (DiffWave); ``condition`` returns itself.
- :class:`PriorGradPrior`: a diagonal Sigma, one standard deviation per mel frame.
- :class:`SpecGradPrior`: L = G^+ M G, a time-varying filter M made from the mel envelope.

Code -> paper: ``std`` PriorGrad's sigma (the diagonal of Sigma^{1/2}); ``filter`` SpecGrad's
M (complex, [n_freqs, frames]); ``stft`` G, ``istft`` G^+ (its pseudo-inverse: torch's
least-squares inverse with the same window).
"""

import math

import torch
from torch import nn

from audiodiff.diffusion.forward import randn_like

FIT_CHUNK_FRAMES = 2048  # frames per envelope computation in SpecGradPrior.fit


def _frame_chunks(mel_db_batches, max_frames):
    """The frames of ``[..., n_mels, frames]`` mels, concatenated along the frame axis and cut
    into ``[n_mels, <= max_frames]`` chunks (for statistics computed frame by frame).

    Example
    -------
    >>> mels = [torch.zeros(2, 3), torch.ones(4, 2, 5)]  # 3 + 4 x 5 = 23 frames of 2 bands
    >>> [tuple(c.shape) for c in _frame_chunks(mels, 10)]
    [(2, 10), (2, 10), (2, 3)]
    """
    pending, count = [], 0
    for mel_db in mel_db_batches:
        frames = mel_db.reshape(-1, *mel_db.shape[-2:]).transpose(0, 1).flatten(1)
        pending.append(frames)
        count += frames.shape[-1]
        if count >= max_frames:
            joined = torch.cat(pending, dim=-1)
            full = count - count % max_frames
            yield from joined[:, :full].split(max_frames, dim=-1)
            pending, count = [joined[:, full:]], count - full
    if count:
        yield torch.cat(pending, dim=-1)


LIFTER_ORDER = 24
"""SpecGrad's lifter: quefrencies |q| < 24 samples are kept (the paper's r = 24)."""


def _db_to_amplitude(mel_db):
    return torch.pow(10.0, mel_db.float() / 20.0)


def _full_precision(device):
    """Autocast off: the prior's filters and transforms run in float32 under mixed precision."""
    return torch.autocast(torch.device(device).type, enabled=False)


def _frame_index(num_samples, hop_length, num_frames, device):
    """Index of the mel frame nearest to each sample: round(n / hop), clamped to the frames."""
    n = torch.arange(num_samples, device=device)
    return ((n + hop_length // 2) // hop_length).clamp(max=num_frames - 1)


class StandardGaussianPrior(nn.Module):
    """eps ~ N(0, I), whatever the conditioning (Ho et al. 2020; DiffWave).

    It is its own noise distribution: ``condition`` returns ``self``, ``sample`` draws
    standard Gaussian noise and ``whiten`` is the identity, so the loss and the samplers
    behave exactly as with no prior.

    Example
    -------
    >>> prior = StandardGaussianPrior()
    >>> noise = prior.condition(torch.zeros(2, 80, 10))
    >>> noise.sample(torch.zeros(2, 1, 2560)).shape
    torch.Size([2, 1, 2560])
    >>> noise.whiten(torch.ones(3))
    tensor([1., 1., 1.])
    """

    is_fitted = True

    def fit(self, mel_db_batches):
        """Nothing to fit; returns ``self``."""
        return self

    def condition(self, mel_db=None):
        """The noise distribution for ``mel_db`` (ignored): ``self``."""
        return self

    def sample(self, like, generator=None):
        """Standard Gaussian noise shaped like ``like`` (see ``randn_like``)."""
        return randn_like(like, generator)

    def shape(self, white):
        """The identity: L = I."""
        return white

    def whiten(self, residual):
        """The identity: Sigma = I."""
        return residual


class DiagonalNoise:
    """N(0, diag(std^2)) with one standard deviation per mel frame, repeated over its samples.

    Sample n takes the std of the nearest frame centre, frame round(n / hop_length) (the last
    frame beyond the end). Built by :meth:`PriorGradPrior.condition`.

    Arguments
    ---------
    std : torch.Tensor
        [batch, frames] positive standard deviations.
    hop_length : int
        Samples per frame.

    Example
    -------
    >>> noise = DiagonalNoise(torch.tensor([[1.0, 3.0]]), hop_length=2)
    >>> noise.std_like(torch.zeros(1, 1, 4))
    tensor([[[1., 3., 3., 3.]]])
    >>> noise.whiten(torch.full((1, 1, 4), 3.0))
    tensor([[[3., 1., 1., 1.]]])
    """

    def __init__(self, std, hop_length):
        self.std = std
        self.hop_length = int(hop_length)

    def std_like(self, like):
        """Per-sample std broadcastable to ``like`` [batch, ..., samples], its dtype/device."""
        std = self.std.to(like.device)
        index = _frame_index(like.shape[-1], self.hop_length, std.shape[-1], like.device)
        std = std[:, index].to(like.dtype)  # [batch, samples]
        return std.reshape(std.shape[0], *[1] * (like.ndim - 2), std.shape[-1])

    def shape(self, white):
        """L z = std * z."""
        return self.std_like(white) * white

    def sample(self, like, generator=None):
        """std * z with z ~ N(0, I) shaped like ``like`` (PriorGrad, Algorithm 2)."""
        return self.shape(randn_like(like, generator))

    def whiten(self, residual):
        """Sigma^{-1/2} r = r / std (PriorGrad, Algorithm 1: the loss (eps - eps_hat) / std)."""
        return residual / self.std_like(residual)


class PriorGradPrior(nn.Module):
    """PriorGrad's data-dependent diagonal prior from the mel energy (Lee et al. 2022, vocoder).

    Per frame, the energy is e = sqrt(sum_bands exp(log_mel)) = sqrt(sum_bands 10^(mel_db /
    20)) (mel amplitudes, as the log-mel of the paper's HiFi-GAN features), and

        std = max((e - e_min) / (e_max - e_min), std_min),

    with e_min and e_max the smallest and largest frame energy of the training set (``fit``;
    buffers, so they are saved with the model). ``energy_max_override`` replaces the fitted
    e_max (PriorGrad-vocoder: 4.0, which "clips outliers", so the loudest frames get a std
    somewhat above 1). The noise is eps = std * z, z ~ N(0, I), the std of each frame repeated
    over its hop of samples (:class:`DiagonalNoise`), and the loss is
    mean(((eps_hat - eps) / std)^2) (the paper's Algorithm 1; sampling, Algorithm 2, starts
    from x_T = std * z and draws every fresh noise the same way).

    Arguments
    ---------
    hop_length : int
        Samples per mel frame.
    std_min : float
        Smallest std (PriorGrad: 0.1).
    energy_max_override : float, optional
        e_max to use instead of the fitted one (PriorGrad-vocoder: 4.0); None: the fitted max.
    e_min, e_max : float, optional
        Statistics, when known (otherwise ``fit`` sets them).

    Example
    -------
    >>> prior = PriorGradPrior(hop_length=4, e_min=0.0, e_max=2.0)
    >>> mel_db = torch.full((1, 4, 3), -20.0 * math.log10(4.0))  # each frame: e = 1
    >>> prior.frame_std(mel_db)
    tensor([[0.5000, 0.5000, 0.5000]])
    >>> prior.condition(mel_db).sample(torch.zeros(1, 1, 12)).shape
    torch.Size([1, 1, 12])
    """

    def __init__(self, hop_length, std_min=0.1, energy_max_override=None, e_min=None, e_max=None):
        super().__init__()
        if not 0 < std_min <= 1:
            raise ValueError(f"std_min must be in (0, 1], got {std_min}")
        self.hop_length = int(hop_length)
        self.std_min = float(std_min)
        self.energy_max_override = energy_max_override
        nan = float("nan")
        self.register_buffer("e_min", torch.tensor(nan if e_min is None else float(e_min)))
        self.register_buffer("e_max", torch.tensor(nan if e_max is None else float(e_max)))

    @staticmethod
    def frame_energy(mel_db):
        """e = sqrt(sum over bands of the mel amplitudes), [batch, frames] (float32).

        Arguments
        ---------
        mel_db : torch.Tensor
            [batch, n_mels, frames] dB mel spectrogram (``amplitude_to_db`` of a magnitude mel).

        Returns
        -------
        torch.Tensor
            [batch, frames].
        """
        return _db_to_amplitude(mel_db).sum(dim=-2).sqrt()

    @property
    def is_fitted(self):
        """bool: whether e_min and e_max are set."""
        return bool(torch.isfinite(self.e_min) & torch.isfinite(self.e_max))

    @torch.no_grad()
    def fit(self, mel_db_batches):
        """Set e_min / e_max from the frames of the training mels.

        Arguments
        ---------
        mel_db_batches : iterable of torch.Tensor
            [n_mels, frames] or [batch, n_mels, frames] dB mels (or one such tensor).

        Returns
        -------
        PriorGradPrior
            ``self``.
        """
        if isinstance(mel_db_batches, torch.Tensor):
            mel_db_batches = [mel_db_batches]
        energies = [
            self.frame_energy(m.reshape(-1, *m.shape[-2:])).flatten() for m in mel_db_batches
        ]
        if not energies:
            raise ValueError("PriorGradPrior.fit needs at least one mel spectrogram")
        energies = torch.cat([e.cpu() for e in energies])
        e_min = float(energies.min())
        e_max = float(
            energies.max() if self.energy_max_override is None else self.energy_max_override
        )
        if not e_max > e_min:
            raise ValueError(f"cannot fit PriorGrad: e_max {e_max:.4g} <= e_min {e_min:.4g}")
        self.e_min.fill_(e_min)
        self.e_max.fill_(e_max)
        return self

    def frame_std(self, mel_db):
        """std = max((e - e_min) / (e_max - e_min), std_min), [batch, frames] (float32)."""
        if not self.is_fitted:
            raise RuntimeError("PriorGradPrior is not fitted: call fit(training mels) first")
        with _full_precision(mel_db.device):
            energy = self.frame_energy(mel_db)
            e_min, e_max = self.e_min.to(energy.device), self.e_max.to(energy.device)
            return ((energy - e_min) / (e_max - e_min)).clamp(min=self.std_min)

    def condition(self, mel_db):
        """The :class:`DiagonalNoise` of a batch of dB mels [batch, n_mels, frames]."""
        return DiagonalNoise(self.frame_std(mel_db), self.hop_length)

    def extra_repr(self):
        return (
            f"hop_length={self.hop_length}, std_min={self.std_min}, "
            f"e_min={float(self.e_min):.4g}, e_max={float(self.e_max):.4g}"
        )


class FilteredNoise:
    """eps = G^+ M G z, z ~ N(0, I): white noise filtered by a time-varying filter M.

    G is the STFT (Hann window, centred frames), G^+ its least-squares inverse (``torch.istft``
    with the same window: G^+ G = I), M [batch, n_freqs, frames] a complex gain per STFT bin
    and frame (SpecGrad, Koizumi et al. 2022, sec. 3: Sigma = L L^T, L = G^+ M G). Frames
    beyond the filter's last one reuse it. Built by :meth:`SpecGradPrior.condition`.

    Arguments
    ---------
    filter : torch.Tensor
        [batch, n_freqs, frames] complex M (nonzero).
    n_fft, hop_length, win_length : int
        STFT settings (those of the mel).
    window : torch.Tensor
        [win_length] analysis and synthesis window.

    Example
    -------
    >>> m = torch.full((1, 9, 4), 2.0 + 0j)
    >>> noise = FilteredNoise(m, n_fft=16, hop_length=4, win_length=16,
    ...                       window=torch.hann_window(16))
    >>> z = torch.randn(1, 1, 16)
    >>> torch.allclose(noise.shape(z), 2 * z, atol=1e-5)
    True
    >>> torch.allclose(noise.whiten(noise.shape(z)), z, atol=1e-5)
    True
    """

    def __init__(self, filter, n_fft, hop_length, win_length, window):
        self.filter = filter
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length)
        self.win_length = int(win_length)
        self.window = window

    def _apply(self, x, gain):
        """G^+ diag(gain) G x over the last dim of x [batch, ..., samples] (float32 or 64)."""
        with _full_precision(x.device):
            return self._apply_full_precision(x, gain)

    def _apply_full_precision(self, x, gain):
        shape, dtype = x.shape, x.dtype
        work = x.reshape(shape[0], -1, shape[-1])
        channels = work.shape[1]
        work = work.reshape(-1, shape[-1])
        if work.dtype not in (torch.float32, torch.float64):
            work = work.float()
        window = self.window.to(device=x.device, dtype=work.dtype)
        pad_mode = "reflect" if shape[-1] > self.n_fft // 2 else "constant"
        spec = torch.stft(
            work,
            self.n_fft,
            self.hop_length,
            self.win_length,
            window,
            center=True,
            pad_mode=pad_mode,
            return_complex=True,
        )  # [batch * channels, n_freqs, frames]
        frames = spec.shape[-1]
        gain = gain.to(device=x.device, dtype=spec.dtype)
        index = torch.arange(frames, device=x.device).clamp(max=gain.shape[-1] - 1)
        gain = gain[..., index].repeat_interleave(channels, dim=0)
        out = torch.istft(
            spec * gain,
            self.n_fft,
            self.hop_length,
            self.win_length,
            window,
            center=True,
            length=shape[-1],
        )
        return out.reshape(shape).to(dtype)

    def shape(self, white):
        """L z = G^+ M G z: white noise [batch, ..., samples] -> shaped noise."""
        return self._apply(white, self.filter)

    def sample(self, like, generator=None):
        """eps = G^+ M G z with z ~ N(0, I) shaped like ``like``."""
        return self.shape(randn_like(like, generator))

    def whiten(self, residual):
        """L^{-1} r ~ G^+ M^{-1} G r (SpecGrad's loss: || G^+ M^{-1} G (eps - eps_hat) ||^2)."""
        return self._apply(residual, 1.0 / self.filter)


class SpecGradPrior(nn.Module):
    """SpecGrad's noise: white noise shaped by a filter from the mel's spectral envelope.

    Koizumi et al. 2022 (sec. 3): eps = L z with L = G^+ M G, where M holds, per STFT
    frame, the minimum-phase response of the spectral envelope of the conditioning mel. Per
    frame (all in the STFT of the mel, ``n_fft`` bins, frames centred every ``hop_length``):

    1. the linear magnitude spectrum S = pinv(fbank^T) mel (the pseudo-inverse of the mel
       basis), floored at ``dip_floor`` times the smooth interpolation of the mel
       (``fbank`` applied to the band values per unit of filter weight, a positive estimate):
       the pseudo-inverse has zeros and negative values between band centres, and their log
       (clamped at 1e-8: -160 dB) would drag the liftered envelope down by tens of dB, by
       an amount that changes from frame to frame (measured on LJSpeech: 10 dB RMS error
       per bin against the liftered envelope of the true STFT with a plain clamp, 2.8 dB
       with the floor at 0.1). Bins below the second band's centre or above the
       second-to-last one's (where one triangle, or none above f_max, constrains S) take the
       value at that centre;
    2. its real cepstrum c = IDFT(log S) (a real, even sequence of ``n_fft`` quefrencies);
    3. the lifter keeps |q| < ``lifter_order`` over the full symmetric range (q = 0 .. r-1 and
       n_fft-r+1 .. n_fft-1): log E = DFT(lifter * c), the smooth log envelope;
    4. the gain normalisation E / gain_ref, with gain_ref the ``gain_quantile`` quantile of
       the frame RMS of E over the training set (``fit``; a buffer saved with the model), so
       the loud training frames get noise of about unit variance (as PriorGrad's std <= 1,
       whose e_max = 4 clips outliers too). The largest frame (``gain_quantile=1``) is an
       outlier on speech: on LJSpeech 4x the 99th percentile, which left the noise below the
       speech in most frames and the signal dominant at t = T;
    5. the floor: |M| = sqrt((E / gain_ref)^2 + floor^2), so M is never 0 and M^{-1} is
       bounded;
    6. the minimum-phase response with that magnitude: its cepstrum folded onto the positive
       quefrencies (c_mp[0] = c[0], c_mp[q] = 2 c[q] for 0 < q < n_fft / 2, 0 for q >
       n_fft / 2), M = exp(DFT(c_mp)).

    The noise is eps = iSTFT(M * STFT(z)) and the loss whitening iSTFT(M^{-1} * STFT(r))
    (:class:`FilteredNoise`).

    Arguments
    ---------
    mel_fbank : torch.Tensor
        [n_freqs, n_mels] the mel filterbank of the conditioning mels
        (``audiodiff.audio.mel_filterbank``).
    n_fft : int
        FFT size of the mel (n_freqs = n_fft // 2 + 1).
    hop_length : int
        Hop of the mel frames in samples.
    win_length : int, optional
        Hann window length (default ``n_fft``).
    lifter_order : int
        Quefrencies kept, |q| < lifter_order (SpecGrad: 24).
    floor : float
        Floor of |M| after the gain normalisation.
    gain_ref : float, optional
        The normalisation gain, when known (otherwise ``fit`` sets it).
    gain_quantile : float
        Quantile of the training frames' envelope RMS that gets unit RMS (``fit``), in (0, 1].
    dip_floor : float
        Floor of the pseudo-inverse spectrum relative to the smooth interpolation (step 1), in
        [0, 1]; 0 = the plain pseudo-inverse (clamped at 1e-8).

    Example
    -------
    >>> fbank = torch.eye(9)[:, 1:]  # toy "mel": 8 bands, one per bin above DC
    >>> prior = SpecGradPrior(fbank, n_fft=16, hop_length=4, lifter_order=3, gain_ref=1.0)
    >>> m = prior.filter(torch.zeros(1, 8, 5))  # flat, 0 dB: |M| = sqrt(1 + floor^2)
    >>> m.shape, bool(torch.allclose(m.abs(), torch.tensor((1 + 1e-4) ** 0.5)))
    (torch.Size([1, 9, 5]), True)
    >>> prior.condition(torch.zeros(1, 8, 5)).sample(torch.zeros(1, 1, 16)).shape
    torch.Size([1, 1, 16])
    """

    def __init__(
        self,
        mel_fbank,
        n_fft,
        hop_length,
        win_length=None,
        lifter_order=LIFTER_ORDER,
        floor=0.01,
        gain_ref=None,
        gain_quantile=0.99,
        dip_floor=0.1,
    ):
        super().__init__()
        mel_fbank = torch.as_tensor(mel_fbank, dtype=torch.float32)
        n_freqs = n_fft // 2 + 1
        if mel_fbank.ndim != 2 or mel_fbank.shape[0] != n_freqs:
            raise ValueError(
                f"mel_fbank must be [n_fft // 2 + 1 = {n_freqs}, n_mels], got "
                f"{tuple(mel_fbank.shape)}"
            )
        if not 1 <= lifter_order <= n_fft // 2:
            raise ValueError(f"lifter_order must be in [1, n_fft / 2], got {lifter_order}")
        if not floor > 0:
            raise ValueError(f"floor must be > 0, got {floor}")
        if not 0 < gain_quantile <= 1:
            raise ValueError(f"gain_quantile must be in (0, 1], got {gain_quantile}")
        if not 0 <= dip_floor <= 1:
            raise ValueError(f"dip_floor must be in [0, 1], got {dip_floor}")
        self.gain_quantile = float(gain_quantile)
        self.dip_floor = float(dip_floor)
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length)
        self.win_length = int(win_length or n_fft)
        self.lifter_order = int(lifter_order)
        self.floor = float(floor)
        self.register_buffer("fbank_pinv", torch.linalg.pinv(mel_fbank.T), persistent=False)
        # the smooth positive estimate of step 1: S_k = sum_m fbank[k, m] v_m / sum_m fbank[k, m]
        # with v_m = mel_m / sum_k fbank[k, m] (each band's value per unit of filter weight),
        # as one [n_freqs, n_mels] matrix (rows of bins no band reaches are 0)
        smooth = mel_fbank / mel_fbank.sum(dim=1, keepdim=True).clamp(min=1e-12)
        smooth = smooth / mel_fbank.sum(dim=0).clamp(min=1e-12)
        self.register_buffer("fbank_smooth", smooth, persistent=False)
        self.register_buffer("window", torch.hann_window(self.win_length), persistent=False)
        # bins outside [second band centre, second-to-last band centre] copy the nearer one
        # (step 1; with fewer than 4 bands, the first and last centres)
        centres = mel_fbank.argmax(dim=0).sort().values
        edge = 1 if len(centres) >= 4 else 0
        nearest = torch.arange(n_freqs).clamp(int(centres[edge]), int(centres[-1 - edge]))
        self.register_buffer("nearest_covered", nearest, persistent=False)
        q = torch.arange(self.n_fft)
        lifter = ((q < lifter_order) | (q > self.n_fft - lifter_order)).float()
        self.register_buffer("lifter", lifter, persistent=False)
        fold = torch.zeros(self.n_fft)  # minimum phase: c_mp = fold * c (step 6)
        fold[0] = 1.0
        fold[1 : (self.n_fft + 1) // 2] = 2.0
        if self.n_fft % 2 == 0:
            fold[self.n_fft // 2] = 1.0
        self.register_buffer("fold", fold, persistent=False)
        nan = float("nan")
        self.register_buffer("gain_ref", torch.tensor(nan if gain_ref is None else float(gain_ref)))

    @property
    def is_fitted(self):
        """bool: whether gain_ref is set."""
        return bool(torch.isfinite(self.gain_ref))

    def log_envelope(self, mel_db):
        """Steps 1-3: the liftered log magnitude envelope, [batch, n_freqs, frames] (float32).

        Arguments
        ---------
        mel_db : torch.Tensor
            [batch, n_mels, frames] dB mel spectrogram (of a magnitude mel).

        Returns
        -------
        torch.Tensor
            Natural log of the envelope E, before the gain normalisation and the floor.
        """
        with _full_precision(mel_db.device):
            return self._log_envelope(mel_db)

    def _log_envelope(self, mel_db):
        mel = _db_to_amplitude(mel_db)
        spec = torch.matmul(self.fbank_pinv.to(mel.device), mel)  # [batch, n_freqs, frames]
        if self.dip_floor > 0:
            smooth = torch.matmul(self.fbank_smooth.to(mel.device), mel)
            spec = torch.maximum(spec, self.dip_floor * smooth)
        spec = spec.clamp(min=1e-8)
        spec = spec[:, self.nearest_covered.to(mel.device)]
        cepstrum = torch.fft.irfft(spec.log(), n=self.n_fft, dim=1)
        cepstrum = cepstrum * self.lifter.to(mel.device)[:, None]
        return torch.fft.rfft(cepstrum, dim=1).real

    @torch.no_grad()
    def fit(self, mel_db_batches):
        """Set gain_ref = the ``gain_quantile`` quantile of the frame RMS of the envelope E over
        the training mels (the nearest frame's value; 1 = the largest).

        Arguments
        ---------
        mel_db_batches : iterable of torch.Tensor
            [n_mels, frames] or [batch, n_mels, frames] dB mels (or one such tensor).

        Returns
        -------
        SpecGradPrior
            ``self``.
        """
        if isinstance(mel_db_batches, torch.Tensor):
            mel_db_batches = [mel_db_batches]
        rms = []
        # the envelope is per frame: the frames of all mels, FIT_CHUNK_FRAMES at a time (one
        # product and FFT per chunk, not per utterance: 2,400 FSDD clips in ~1 s, not ~14 s)
        for frames in _frame_chunks(mel_db_batches, FIT_CHUNK_FRAMES):
            log_env = self.log_envelope(frames[None])
            rms.append((2 * log_env).exp().mean(dim=1).sqrt().flatten().cpu())
        if not rms:
            raise ValueError("SpecGradPrior.fit needs at least one mel spectrogram")
        rms = torch.cat(rms).double()
        # torch.quantile takes at most 2^24 values: the sorted frames' value at the quantile
        index = round(self.gain_quantile * (len(rms) - 1))
        self.gain_ref.fill_(float(rms.sort().values[index]))
        return self

    def filter(self, mel_db):
        """Steps 1-6: the complex minimum-phase filter M, [batch, n_freqs, frames] (complex64).

        Arguments
        ---------
        mel_db : torch.Tensor
            [batch, n_mels, frames] dB mel spectrogram.

        Returns
        -------
        torch.Tensor
            M, with |M| = sqrt((E / gain_ref)^2 + floor^2).
        """
        if not self.is_fitted:
            raise RuntimeError("SpecGradPrior is not fitted: call fit(training mels) first")
        with _full_precision(mel_db.device):
            return self._filter(mel_db)

    def _filter(self, mel_db):
        log_env = self.log_envelope(mel_db) - self.gain_ref.to(mel_db.device).log()
        log_mag = 0.5 * torch.logaddexp(2 * log_env, log_env.new_tensor(2 * math.log(self.floor)))
        cepstrum = torch.fft.irfft(log_mag, n=self.n_fft, dim=1)
        cepstrum = cepstrum * self.fold.to(cepstrum.device)[:, None]
        return torch.exp(torch.fft.rfft(cepstrum, dim=1))

    def condition(self, mel_db):
        """The :class:`FilteredNoise` of a batch of dB mels [batch, n_mels, frames]."""
        return FilteredNoise(
            self.filter(mel_db), self.n_fft, self.hop_length, self.win_length, self.window
        )

    def extra_repr(self):
        return (
            f"n_fft={self.n_fft}, hop_length={self.hop_length}, lifter_order="
            f"{self.lifter_order}, floor={self.floor}, gain_quantile={self.gain_quantile}, "
            f"dip_floor={self.dip_floor}, gain_ref={float(self.gain_ref):.4g}"
        )


def whitened_model(model, noise):
    """The network in the prior's whitened domain: eps_hat(x_t) = L model(L^{-1} x_t, t).

    A preconditioning of the eps predictor, not a new process: the forward process, the
    whitened loss and every sampler stay as they are. The network reads x_t through the
    whitening (at large t nearly white noise of unit variance, whatever the envelope) and its
    output is read as the white noise z, shaped by L (``noise.shape``). Then the loss
    || L^{-1} (eps - eps_hat) ||^2 is about || z - model(..) ||^2: a network error costs the
    same in every bin, where the plain parameterisation divides it by the prior's gain (up to
    100x in SpecGrad's quietest bins, whose |M| sits at the floor). The envelope comes from
    the prior, so the network is left the flat-envelope excitation W x0 to model. For N(0, I)
    it is the identity; for PriorGrad it divides by and multiplies with the per-frame std.

    Arguments
    ---------
    model : callable
        ``model(x, t, **cond)`` predicting the white noise z (same shape as x).
    noise : object
        A conditioned noise distribution with ``whiten`` and ``shape`` (``prior.condition``).

    Returns
    -------
    callable
        ``denoiser(x_t, t, **cond)`` predicting eps.

    Example
    -------
    >>> noise = DiagonalNoise(torch.tensor([[2.0, 4.0]]), hop_length=2)
    >>> denoiser = whitened_model(lambda x, t: x, noise)   # a network that copies its input
    >>> x_t = torch.ones(1, 1, 4)
    >>> torch.equal(denoiser(x_t, torch.tensor([0])), x_t)   # L L^{-1} x = x
    True
    """

    def denoiser(x_t, t, **cond):
        return noise.shape(model(noise.whiten(x_t), t, **cond))

    return denoiser
