"""SpectrogramAutoencoder / VAE: shapes, KL, latent statistics, learning, and the AE losses."""

import pytest
import torch

from audiodiff.nets import SpectrogramAutoencoder
from audiodiff.nets.autoencoder_losses import (
    autoencoder_loss,
    gaussian_kl,
    multiscale_spectral_loss,
)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks: one thread is faster, and robust to a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(**kw):
    torch.manual_seed(0)
    args = dict(base_channels=8, channel_mults=(1, 2, 4), latent_channels=3)
    return SpectrogramAutoencoder(**{**args, **kw})


@pytest.mark.parametrize("variational", [False, True])
@pytest.mark.parametrize("mults, factor", [((1, 2, 4), 4), ((1, 2), 2), ((1,), 1)])
def test_shapes(variational, mults, factor):
    ae = tiny(channel_mults=mults, variational=variational)
    assert ae.downsample_factor == factor
    x = torch.randn(2, 1, 80, 64)
    z = ae.encode(x)
    assert z.shape == (2, 3, 80 // factor, 64 // factor)
    assert ae.latent_shape((1, 80, 64)) == (3, 80 // factor, 64 // factor)
    assert ae.decode(z).shape == x.shape
    out = ae(x)
    assert out["recon"].shape == x.shape and out["latent"].shape == z.shape
    assert out["kl"].shape == ()


def test_default_is_factor_four_on_80x64_mels():
    ae = SpectrogramAutoencoder()
    assert ae.latent_shape((1, 80, 64)) == (4, 20, 16)


def test_size_not_multiple_of_factor_is_a_clear_error():
    ae = tiny()
    with pytest.raises(ValueError, match="multiple of"):
        ae.encode(torch.randn(1, 1, 80, 62))
    with pytest.raises(ValueError, match="multiple of"):
        ae.latent_shape((1, 81, 64))


def test_autoencoder_is_deterministic_with_zero_kl():
    ae = tiny(variational=False)
    x = torch.randn(2, 1, 16, 16)
    torch.testing.assert_close(ae.encode(x, sample=True), ae.encode(x))
    assert float(ae(x)["kl"]) == 0.0


def test_vae_posterior_mean_sampling_and_kl():
    ae = tiny(variational=True)
    x = torch.randn(2, 1, 16, 16)
    mean, logvar = ae.encode_moments(x)
    assert mean.shape == logvar.shape == (2, 3, 4, 4)
    torch.testing.assert_close(ae.encode(x), mean)  # default: the mean
    gen = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    draw = ae.encode(x, sample=True, generator=gen())
    torch.testing.assert_close(draw, ae.encode(x, sample=True, generator=gen()))
    assert not torch.allclose(draw, mean)
    # a posterior draw has the posterior's spread: (draw - mean) / std ~ N(0, 1)
    eps = (draw - mean) / torch.exp(0.5 * logvar)
    assert 0.5 < float(eps.std()) < 1.6
    ae.eval()  # eval mode decodes the mean: deterministic, same KL
    out = ae(x)
    torch.testing.assert_close(out["latent"], mean)
    torch.testing.assert_close(out["kl"], gaussian_kl(mean, logvar))
    assert float(out["kl"]) > 0


def test_latent_stats_are_buffers_in_the_state_dict():
    ae = tiny(variational=True)
    state = ae.state_dict()
    assert "latent_mean" in state and "latent_std" in state
    assert not ae.latent_stats_fitted
    with pytest.raises(RuntimeError, match="latent statistics not fitted"):
        ae.normalize_latent(torch.zeros(1, 3, 2, 2))
    z = torch.randn(50, 3, 4, 4) * torch.tensor([1.0, 3.0, 0.5]).view(1, 3, 1, 1) + 2.0
    ae.fit_latent_stats([z[:20], z[20:]])
    assert ae.latent_stats_fitted
    zn = ae.normalize_latent(z)
    torch.testing.assert_close(zn.mean((0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(zn.std((0, 2, 3)), torch.ones(3), atol=1e-4, rtol=0)
    torch.testing.assert_close(ae.denormalize_latent(zn), z)
    other = tiny(variational=True, latent_channels=3)
    other.load_state_dict(ae.state_dict())
    torch.testing.assert_close(other.latent_std, ae.latent_std)
    x = torch.randn(2, 1, 16, 16)
    torch.testing.assert_close(
        other.decode_normalized(other.encode_normalized(x)), ae(x.clone(), sample=False)["recon"]
    )


def test_fit_latent_stats_checks_channels():
    with pytest.raises(ValueError, match="latents"):
        tiny().fit_latent_stats(torch.randn(4, 5, 2, 2))


@pytest.mark.parametrize("variational", [False, True])
def test_learns_to_reconstruct_a_simple_input(variational):
    """A few Adam steps on one smooth pattern bring the reconstruction error down 5x."""
    ae = tiny(variational=variational, channel_mults=(1, 2))
    grid = torch.linspace(-1, 1, 16)
    x = (torch.sin(3 * grid)[:, None] * torch.cos(2 * grid)[None, :]).expand(4, 1, 16, 16)
    opt = torch.optim.Adam(ae.parameters(), lr=3e-3)

    def error():
        with torch.no_grad():
            return float((ae(x, sample=False)["recon"] - x).abs().mean())

    before = error()
    for _ in range(60):
        out = ae(x)
        loss = autoencoder_loss(out["recon"], x, out["kl"], kl_weight=1e-4)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert error() < before / 5, (before, error())


def test_gaussian_kl_matches_torch_distributions():
    mean, logvar = torch.randn(3, 4), torch.randn(3, 4)
    q = torch.distributions.Normal(mean, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(3, 4), torch.ones(3, 4))
    torch.testing.assert_close(
        gaussian_kl(mean, logvar), torch.distributions.kl_divergence(q, p).mean()
    )


def test_multiscale_spectral_loss():
    x = torch.randn(2, 1, 16, 16)
    assert float(multiscale_spectral_loss(x, x)) == 0.0
    # a constant offset is the same at every scale
    torch.testing.assert_close(multiscale_spectral_loss(x + 0.5, x), torch.tensor(0.5))
    # fine detail that averages out is invisible at coarse scales only
    detail = torch.zeros(1, 1, 8, 8)
    detail[..., ::2] = 1.0
    detail[..., 1::2] = -1.0
    assert float(multiscale_spectral_loss(detail, torch.zeros_like(detail), scales=(2,))) == 0.0
    assert float(multiscale_spectral_loss(detail, torch.zeros_like(detail), scales=(1,))) == 1.0


def test_autoencoder_loss_parts():
    recon, target = torch.full((1, 1, 8, 8), 0.5), torch.zeros(1, 1, 8, 8)
    out = autoencoder_loss(
        recon, target, torch.tensor(3.0), kind="l2", kl_weight=0.1, spectral_weight=2.0
    )
    torch.testing.assert_close(out["recon"], torch.tensor(0.25))
    torch.testing.assert_close(out["spectral"], torch.tensor(0.5))
    torch.testing.assert_close(out["loss"], torch.tensor(0.25 + 2.0 * 0.5 + 0.1 * 3.0))
    with pytest.raises(ValueError, match="l1 or l2"):
        autoencoder_loss(recon, target, kind="huber")
