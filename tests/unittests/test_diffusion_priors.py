"""Noise priors: SpecGrad's filter (flat envelope, inversion, power spectrum), PriorGrad's
per-frame std, whitening statistics, the prior-weighted loss, fitting and saving."""

import math

import numpy as np
import pytest
import torch

from audiodiff.audio import MelSpectrogram, amplitude_to_db, mel_filterbank, read_audio
from audiodiff.data import BUNDLED_LJSPEECH
from audiodiff.diffusion import (
    DiagonalNoise,
    FilteredNoise,
    PriorGradPrior,
    SpecGradPrior,
    StandardGaussianPrior,
    diffusion_loss,
    make_schedule,
    whitened_model,
)

SR, N_FFT, HOP = 22050, 1024, 256
FBANK = mel_filterbank(SR, N_FFT, 80, 0.0, 8000.0)
FREQS = torch.linspace(0, SR / 2, N_FFT // 2 + 1)


def mel_db_of_spectrum(spec):
    """dB mel [1, 80, frames] of a linear magnitude spectrum [513] or [513, frames]."""
    spec = spec if spec.ndim == 2 else spec[:, None].expand(-1, 100)
    return amplitude_to_db(torch.matmul(FBANK.T, spec))[None]


def smooth_spectrum(shift_hz=0.0):
    """A speech-like smooth magnitude spectrum: -12 dB/octave tilt and two formants."""
    f = FREQS
    db = (
        -12 * torch.log2(1 + f / 500)
        + 15 * torch.exp(-(((f - 700 - shift_hz) / 300) ** 2))
        + 10 * torch.exp(-(((f - 2500) / 500) ** 2))
    )
    return 10 ** (db / 20)


def speech_mel_db():
    wav, _ = read_audio(f"{BUNDLED_LJSPEECH}/wavs/LJ001-0001.wav")
    return amplitude_to_db(MelSpectrogram(sample_rate=SR)(wav[: 3 * SR]))


def specgrad(mel_db=None, floor=0.01, gain_ref=None, **kwargs):
    prior = SpecGradPrior(FBANK, N_FFT, HOP, floor=floor, gain_ref=gain_ref, **kwargs)
    return prior.fit(mel_db) if mel_db is not None else prior


def db(x):
    return 20 * torch.log10(x)


# ---- SpecGrad ------------------------------------------------------------------------------
def test_flat_envelope_gives_a_flat_zero_phase_filter():
    # the mel of a flat spectrum at 0 dB: the envelope (and M, gain 1) is flat over every bin,
    # also those outside the bands (DC, above f_max = 8 kHz), and minimum phase of a constant
    # is zero phase
    m = specgrad(gain_ref=1.0).filter(mel_db_of_spectrum(torch.ones(513)))
    assert m.shape == (1, 513, 100)
    level = db(m.abs())
    torch.testing.assert_close(level, torch.zeros_like(level), atol=0.8, rtol=0)
    assert float(m.angle().abs().max()) < 0.15
    # a flat level far below the floor: |M| is the floor itself, everywhere
    low = specgrad(gain_ref=1.0, floor=0.05).filter(mel_db_of_spectrum(torch.full((513,), 1e-4)))
    torch.testing.assert_close(low.abs(), torch.full(low.shape, 0.05), rtol=1e-3, atol=0)


def test_envelope_follows_a_smooth_spectrum():
    spec = smooth_spectrum()
    log_env = specgrad().log_envelope(mel_db_of_spectrum(spec))[0, :, 50]
    band = (FREQS > 100) & (FREQS < 7500)
    error_db = db(log_env.exp() / spec)[band]
    assert float(error_db.pow(2).mean().sqrt()) < 1.0  # measured 0.77 dB
    assert float(error_db.abs().max()) < 4.0  # measured 3.2 dB (the 700 Hz formant's peak)


def test_filter_has_minimum_phase_and_the_floored_envelope_as_magnitude():
    prior = specgrad(gain_ref=1.0, floor=0.01)
    mel_db = mel_db_of_spectrum(smooth_spectrum())
    m = prior.filter(mel_db)[0, :, 0]
    expected = torch.sqrt(prior.log_envelope(mel_db)[0, :, 0].exp() ** 2 + 0.01**2)
    torch.testing.assert_close(m.abs(), expected, rtol=1e-3, atol=1e-6)
    # minimum phase: the complex cepstrum (log |M| + i unwrapped phase) has no negative
    # quefrencies, and the impulse response's energy comes within 64 samples (causal,
    # compact), unlike the zero-phase filter with the same magnitude (half of it "before" 0)
    full = torch.cat([m, m[1:-1].flip(0).conj()]).numpy()
    log_m = np.log(np.abs(full)) + 1j * np.unwrap(np.angle(full))
    cepstrum = np.fft.ifft(log_m)
    assert np.abs(cepstrum[N_FFT // 2 + 1 :]).max() < 1e-3 * np.abs(cepstrum[1:24]).max()

    def partial_energy(h):
        return h.pow(2).cumsum(0) / h.pow(2).sum()

    minimum = partial_energy(torch.fft.irfft(m, n=N_FFT))
    zero_phase = partial_energy(torch.fft.irfft(m.abs(), n=N_FFT))
    assert float(minimum[64]) > 0.999 and float(zero_phase[64]) < 0.7


def test_shaping_and_whitening_invert_each_other():
    """G^+ M^-1 G undoes G^+ M G: for a time-invariant filter within 5% (measured 3.6%); on
    real speech, where M jumps by tens of dB between frames, the paper's operator is only an
    approximate inverse (measured 24% relative error with the defaults, 34% with the plain
    pseudo-inverse and the loudest-frame gain), which leaves the loss a positive-definite
    weighting with the same minimiser."""
    mel_db = mel_db_of_spectrum(smooth_spectrum())
    noise = specgrad(mel_db).condition(mel_db)
    z = torch.randn(3, 1, 99 * HOP, generator=torch.Generator().manual_seed(0))
    for a, b in ((noise.whiten, noise.shape), (noise.shape, noise.whiten)):
        error = (a(b(z)) - z).norm() / z.norm()
        assert float(error) < 0.05
    speech = speech_mel_db()
    real = specgrad(speech).condition(speech)
    z = torch.randn(1, 1, 3 * SR, generator=torch.Generator().manual_seed(1))
    error = (real.whiten(real.shape(z)) - z).norm() / z.norm()
    assert 0.2 < float(error) < 0.5


def test_long_run_power_spectrum_follows_the_filter():
    """Shaped noise from a stationary filter, 16 x 99 frames: its power spectrum (Welch,
    1024-point Hann frames at hop 256) equals |M|^2 within 0.25 dB in every bin (measured
    0.06 dB max, 0.01 dB RMS); the standard error of the estimate is about 0.1 dB."""
    mel_db = mel_db_of_spectrum(smooth_spectrum())
    prior = specgrad(mel_db)
    noise = prior.condition(mel_db)
    z = torch.randn(16, 1, 99 * HOP, generator=torch.Generator().manual_seed(2))
    window = torch.hann_window(N_FFT)

    def power(x):
        spec = torch.stft(x[:, 0], N_FFT, HOP, window=window, return_complex=True)
        return spec[..., 4:-4].abs().pow(2).mean(dim=(0, 2))  # frames away from the edges

    ratio_db = 10 * torch.log10(power(noise.shape(z)) / power(z))
    target_db = 20 * torch.log10(prior.filter(mel_db)[0, :, 50].abs())
    torch.testing.assert_close(ratio_db, target_db, atol=0.25, rtol=0)
    # and the noise follows the speech-like spectrum's shape: 41 dB more at 700 Hz than 6 kHz
    lo, hi = int(700 / (SR / N_FFT)), int(6000 / (SR / N_FFT))
    spectrum_db = db(smooth_spectrum())
    assert abs(float(ratio_db[lo] - ratio_db[hi]) - float(spectrum_db[lo] - spectrum_db[hi])) < 4


def test_whitened_speech_noise_is_standard_normal():
    """Whitening a drawn sample (real speech mel, floor 0.01) gives zero mean, unit variance
    within 10% (measured 1.055) and a spectrum flat within 1.5 dB RMS over the bins (measured
    0.62 dB; at most 4 dB in a bin, measured 2.3: the approximate inverse of the test above;
    6.1 dB with the plain pseudo-inverse and the loudest-frame gain)."""
    speech = speech_mel_db()
    noise = specgrad(speech).condition(speech)
    like = torch.zeros(1, 1, 3 * SR)
    white = noise.whiten(noise.sample(like, torch.Generator().manual_seed(3)))
    assert abs(float(white.mean())) < 0.03
    assert 0.95 < float(white.std()) < 1.1
    spec = torch.stft(white[:, 0], N_FFT, HOP, window=torch.hann_window(N_FFT), return_complex=True)
    level = 10 * torch.log10(spec.abs().pow(2).mean(dim=(0, 2)))
    deviation = level - level.mean()
    assert float(deviation.pow(2).mean().sqrt()) < 1.5 and float(deviation.abs().max()) < 4.0


def test_specgrad_fit_normalises_the_chosen_quantile_frame():
    speech = speech_mel_db()
    rms_of = lambda prior: prior.filter(speech).abs().pow(2).mean(dim=1).sqrt()[0]  # noqa: E731
    loudest = specgrad(speech, floor=1e-6, gain_quantile=1.0)
    torch.testing.assert_close(rms_of(loudest).max(), torch.tensor(1.0), rtol=1e-3, atol=0)
    for quantile in (0.95, 0.99):
        rms = rms_of(specgrad(speech, floor=1e-6, gain_quantile=quantile))
        share = float((rms <= 1 + 1e-4).float().mean())
        assert abs(share - quantile) <= 1.5 / len(rms)  # the nearest frame's value
    louder = specgrad(speech + 20.0, floor=1e-6)  # 20 dB louder data: 10x the gain
    ratio = louder.gain_ref / specgrad(speech, floor=1e-6).gain_ref
    torch.testing.assert_close(ratio, torch.tensor(10.0), rtol=1e-3, atol=0)
    with pytest.raises(RuntimeError, match="not fitted"):
        specgrad().filter(speech)
    with pytest.raises(ValueError, match="mel_fbank"):
        SpecGradPrior(FBANK[:-1], N_FFT, HOP)
    with pytest.raises(ValueError, match="gain_quantile"):
        SpecGradPrior(FBANK, N_FFT, HOP, gain_quantile=0.0)
    with pytest.raises(ValueError, match="dip_floor"):
        SpecGradPrior(FBANK, N_FFT, HOP, dip_floor=2.0)


def test_specgrad_fit_over_many_clips_is_the_quantile_of_all_their_frames(monkeypatch):
    """fit() takes the frames of all clips in chunks (any chunk size, batched or not): the
    gain is the chosen quantile of every frame's envelope RMS, computed clip by clip here."""
    speech = speech_mel_db()[0]
    clips = [speech[:, :37], speech[:, 37:40], speech[:, 40:].clone(), speech[None, :, 5:90]]
    prior = specgrad()
    rms = torch.cat(
        [
            (2 * prior.log_envelope(c.reshape(-1, 80, c.shape[-1]))).exp().mean(1).sqrt().flatten()
            for c in clips
        ]
    )
    expected = rms.double().sort().values[round(0.95 * (len(rms) - 1))]
    for chunk in (7, 64, 100_000):
        monkeypatch.setattr("audiodiff.diffusion.priors.FIT_CHUNK_FRAMES", chunk)
        fitted = specgrad(clips, gain_quantile=0.95).gain_ref.double()
        torch.testing.assert_close(fitted, expected, rtol=1e-5, atol=0)


def test_envelope_of_real_speech_follows_the_stft_envelope():
    """On a real clip the mel envelope (steps 1-3) is within 4 dB RMS per bin (0-8 kHz, frames
    within 40 dB of the loudest) of the same lifter applied to the clip's own STFT (measured
    2.4 dB), and its frame levels within 1.5 dB RMS (measured 0.6). The plain pseudo-inverse
    (``dip_floor=0``) has zeros between band centres whose log drags the envelope down by
    a varying amount: over 7 dB per bin (measured 9.0) and 2.5 dB of frame level (3.2)."""
    wav, _ = read_audio(f"{BUNDLED_LJSPEECH}/wavs/LJ001-0001.wav")
    wav = wav[: 3 * SR]
    speech = amplitude_to_db(MelSpectrogram(sample_rate=SR)(wav))
    stft = torch.stft(wav, N_FFT, HOP, window=torch.hann_window(N_FFT), return_complex=True)
    stft = stft.abs()[:, : speech.shape[-1]]
    prior = specgrad(speech)
    true_log = torch.fft.rfft(
        torch.fft.irfft(stft.clamp(min=1e-8).log(), n=N_FFT, dim=0) * prior.lifter[:, None], dim=0
    ).real
    loud = speech[0].max(dim=0).values > speech.max() - 40
    below_fmax = FREQS <= 8000

    def errors(p):
        diff_db = 20 / math.log(10) * (p.log_envelope(speech)[0] - true_log)
        diff_db = diff_db[below_fmax][:, loud]
        return float(diff_db.std()), float(diff_db.mean(dim=0).std())

    per_bin, level = errors(prior)
    assert per_bin < 4.0 and level < 1.5
    per_bin, level = errors(specgrad(speech, dip_floor=0.0))
    assert per_bin > 7.0 and level > 2.5


def test_filtered_noise_keeps_shape_dtype_and_handles_short_signals():
    m = torch.full((2, 9, 3), 0.5 + 0j)
    noise = FilteredNoise(m, 16, 4, 16, torch.hann_window(16))
    for like in (
        torch.zeros(2, 1, 40, dtype=torch.float64),
        torch.zeros(2, 3, 5),
        torch.zeros(2, 4),
    ):
        out = noise.sample(like, torch.Generator().manual_seed(0))
        assert out.shape == like.shape and out.dtype == like.dtype
        torch.testing.assert_close(noise.whiten(out), 2 * out, rtol=1e-4, atol=1e-5)


# ---- PriorGrad -----------------------------------------------------------------------------
def test_priorgrad_fit_and_std_formula():
    speech = speech_mel_db()
    energy = PriorGradPrior.frame_energy(speech)
    torch.testing.assert_close(
        energy, (10 ** (speech / 20)).sum(dim=1).sqrt(), rtol=1e-5, atol=1e-6
    )
    prior = PriorGradPrior(HOP).fit([speech[0]])
    assert float(prior.e_min) == pytest.approx(float(energy.min()))
    assert float(prior.e_max) == pytest.approx(float(energy.max()))
    std = prior.frame_std(speech)
    expected = ((energy - energy.min()) / (energy.max() - energy.min())).clamp(min=0.1)
    torch.testing.assert_close(std, expected)
    assert float(std.min()) == pytest.approx(0.1) and float(std.max()) == pytest.approx(1.0)
    capped = PriorGradPrior(HOP, energy_max_override=2.0).fit(speech)
    assert float(capped.e_max) == 2.0 and float(capped.frame_std(speech).max()) > 1.0
    with pytest.raises(RuntimeError, match="not fitted"):
        PriorGradPrior(HOP).frame_std(speech)


def test_priorgrad_noise_has_the_per_frame_std():
    std = torch.tensor([[0.1, 0.5, 1.0, 2.0, 0.3]])
    noise = DiagonalNoise(std, hop_length=4)
    like = torch.zeros(4000, 1, 18)  # 4000 draws of 18 samples: frames round(n / 4)
    draws = noise.sample(like, torch.Generator().manual_seed(0))
    index = torch.tensor([0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4])
    # the sample std of 4000 Gaussian draws has a standard error of 1.1%: 5% is 4.5 of them
    torch.testing.assert_close(draws.std(dim=0)[0], std[0, index], rtol=0.05, atol=0)
    white = noise.whiten(draws)
    assert abs(float(white.mean())) < 0.01 and abs(float(white.std()) - 1) < 0.01


def test_priorgrad_condition_on_speech_and_whiten():
    speech = speech_mel_db()
    prior = PriorGradPrior(HOP).fit(speech)
    noise = prior.condition(speech)
    like = torch.zeros(1, 1, speech.shape[-1] * HOP)
    sample = noise.sample(like, torch.Generator().manual_seed(4))
    frames = sample[0, 0, HOP // 2 : HOP // 2 + (speech.shape[-1] - 1) * HOP]
    per_frame = frames.reshape(-1, HOP).std(dim=1)  # samples nearest to frames 1 ..
    ratio = per_frame / prior.frame_std(speech)[0, 1:]
    assert abs(float(ratio.mean()) - 1) < 0.02  # 1/sqrt(2 * 256) = 4.4% per frame, averaged
    white = noise.whiten(sample)
    assert abs(float(white.std()) - 1) < 0.01


# ---- shared ------------------------------------------------------------------------------
def test_standard_prior_is_the_identity():
    prior = StandardGaussianPrior()
    noise = prior.condition(torch.zeros(1, 80, 4))
    like = torch.zeros(2, 1, 10)
    g = torch.Generator().manual_seed(0)
    torch.testing.assert_close(
        noise.sample(like, g), torch.randn(2, 1, 10, generator=g.manual_seed(0))
    )
    r = torch.randn(5)
    assert noise.whiten(r) is r


def test_loss_with_priors():
    schedule = make_schedule("linear", num_steps=50, beta_start=1e-4, beta_end=0.05)
    x0 = torch.randn(2, 1, 64)
    t = torch.tensor([3, 40])

    def model(x_t, t):
        return 0.5 * x_t

    def loss(prior, noise):
        return diffusion_loss(model, x0, schedule, prediction="eps", t=t, noise=noise, prior=prior)

    eps = torch.randn(2, 1, 64)
    plain = diffusion_loss(model, x0, schedule, prediction="eps", t=t, noise=eps)
    torch.testing.assert_close(loss(StandardGaussianPrior(), eps), plain)
    std = torch.tensor([[0.2, 1.0, 0.5, 2.0], [1.0, 1.0, 0.3, 0.3]])
    diag = DiagonalNoise(std, hop_length=16)
    ab = schedule.alpha_bar[t].view(2, 1, 1)
    x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
    per_sample = diag.std_like(eps)
    by_hand = (((0.5 * x_t - eps) / per_sample) ** 2).mean()
    torch.testing.assert_close(loss(diag, eps), by_hand)
    # without noise given, it is drawn from the prior: the same draw as diag.sample
    g = torch.Generator().manual_seed(5)
    t_g = torch.randint(0, 50, (2,), generator=g)
    drawn = diag.sample(x0, g)
    auto = diffusion_loss(
        model,
        x0,
        schedule,
        prediction="eps",
        prior=diag,
        generator=torch.Generator().manual_seed(5),
    )
    torch.testing.assert_close(
        auto, diffusion_loss(model, x0, schedule, prediction="eps", t=t_g, noise=drawn, prior=diag)
    )


def test_priors_save_and_load_their_statistics():
    speech = speech_mel_db()
    for prior, fresh in (
        (PriorGradPrior(HOP).fit(speech), PriorGradPrior(HOP)),
        (specgrad(speech), specgrad()),
    ):
        assert not fresh.is_fitted
        fresh.load_state_dict(prior.state_dict())
        assert fresh.is_fitted
        torch.testing.assert_close(
            fresh.condition(speech).sample(
                torch.zeros(1, 1, 4096), torch.Generator().manual_seed(0)
            ),
            prior.condition(speech).sample(
                torch.zeros(1, 1, 4096), torch.Generator().manual_seed(0)
            ),
        )
    assert set(specgrad(speech).state_dict()) == {"gain_ref"}
    assert math.isfinite(float(specgrad(speech).gain_ref))


# ---- the network in the whitened domain (whitened_model) ------------------------------------
@pytest.mark.parametrize("kind", ["standard", "priorgrad", "specgrad"])
def test_whitened_model_of_the_whitened_trivial_predictor_returns_the_noise(kind):
    """With x0 = 0, x_t = sqrt(1 - a) eps: a network that returns its (whitened) input over
    sqrt(1 - a) predicts z, and whitened_model turns that into eps = L z (exactly for the
    diagonal priors; SpecGrad's G^+ M^-1 G inverts G^+ M G only approximately)."""
    mel_db = speech_mel_db()  # [1, 80, frames]
    if kind == "standard":
        noise = StandardGaussianPrior().condition(mel_db)
    elif kind == "priorgrad":
        noise = PriorGradPrior(HOP).fit(mel_db).condition(mel_db)
    else:
        noise = specgrad(mel_db, floor=0.1).condition(mel_db)
    like = torch.zeros(1, 1, mel_db.shape[-1] * HOP)
    eps = noise.sample(like, torch.Generator().manual_seed(0))
    a = torch.tensor(0.3)
    x_t = (1 - a).sqrt() * eps
    denoiser = whitened_model(lambda x, t: x / (1 - a).sqrt(), noise)
    error = (denoiser(x_t, torch.tensor([10])) - eps).norm() / eps.norm()
    assert float(error) < (0.25 if kind == "specgrad" else 1e-5), float(error)  # 0.19 measured


def test_whitened_model_passes_conditions_and_changes_the_loss_weighting():
    """The loss of a network that makes the same small error everywhere: in the plain
    parameterisation the whitening divides it by the per-frame std (up to 1 / std_min), in the
    whitened domain it costs the same everywhere."""
    std = torch.tensor([[0.1, 1.0]])
    noise = DiagonalNoise(std, hop_length=4)
    eps = noise.sample(torch.zeros(1, 1, 8), torch.Generator().manual_seed(0))
    seen = {}

    def net(x, t, mel=None):
        seen["mel"] = mel
        return noise.whiten(eps) + 0.01  # the white noise z, off by 0.01

    plain = lambda x, t, mel=None: eps + 0.01  # noqa: E731  (eps off by 0.01)
    whitened_error = noise.whiten(whitened_model(net, noise)(eps, 0, mel="m") - eps)
    plain_error = noise.whiten(plain(eps, 0) - eps)
    assert seen["mel"] == "m"
    torch.testing.assert_close(whitened_error, torch.full_like(eps, 0.01))
    torch.testing.assert_close(plain_error[..., 1:2], torch.full((1, 1, 1), 0.1))  # frame 0
    torch.testing.assert_close(plain_error[..., 4:], torch.full((1, 1, 4), 0.01))  # frame 1
