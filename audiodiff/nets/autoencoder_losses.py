"""Training losses of the spectrogram autoencoder: reconstruction, multi-resolution, KL."""

import torch
import torch.nn.functional as F


def gaussian_kl(mean, logvar):
    """KL(N(mean, exp(logvar)) || N(0, I)), averaged over all elements.

    Per element: 0.5 * (mean^2 + exp(logvar) - 1 - logvar) (Kingma & Welling 2014, app. B).

    Arguments
    ---------
    mean : torch.Tensor
        Posterior means, any shape.
    logvar : torch.Tensor
        Posterior log-variances, same shape.

    Returns
    -------
    torch.Tensor
        Scalar.

    Example
    -------
    >>> gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3))
    tensor(0.)
    >>> gaussian_kl(torch.ones(1), torch.zeros(1))
    tensor(0.5000)
    """
    return 0.5 * torch.mean(mean.pow(2) + logvar.exp() - 1.0 - logvar)


def multiscale_spectral_loss(pred, target, scales=(2, 4, 8)):
    """Mean L1 distance between average-pooled copies of two spectrograms, one per scale.

    Pooling by ``s`` on both the frequency and time axes compares the spectral envelope and
    the energy contour at resolution ``s``; pixel-level L1 alone can trade them for detail.

    Arguments
    ---------
    pred : torch.Tensor
        [batch, channels, n_mels, frames] reconstruction.
    target : torch.Tensor
        Same shape, the input.
    scales : sequence of int
        Pooling sizes (kernel = stride).

    Returns
    -------
    torch.Tensor
        Scalar.

    Example
    -------
    >>> x = torch.zeros(1, 1, 8, 8)
    >>> y = torch.zeros(1, 1, 8, 8)
    >>> y[..., ::2] = 2.0  # stripes: average 1 at every scale >= 2
    >>> multiscale_spectral_loss(y, x, scales=(2, 4))
    tensor(1.)
    """
    losses = [
        F.l1_loss(F.avg_pool2d(pred, s, ceil_mode=True), F.avg_pool2d(target, s, ceil_mode=True))
        for s in scales
    ]
    return torch.stack(losses).mean()


def autoencoder_loss(
    recon, target, kl=None, *, kind="l1", kl_weight=0.0, spectral_weight=0.0, scales=(2, 4, 8)
):
    """Training loss: reconstruction + ``spectral_weight`` multi-scale + ``kl_weight`` KL.

    Arguments
    ---------
    recon : torch.Tensor
        [batch, channels, n_mels, frames] decoder output.
    target : torch.Tensor
        Same shape, the normalised input spectrogram.
    kl : torch.Tensor, optional
        Scalar KL term of a VAE (``SpectrogramAutoencoder.forward(x)["kl"]``).
    kind : str
        "l1" or "l2" reconstruction distance.
    kl_weight : float
        Weight of ``kl``.
    spectral_weight : float
        Weight of :func:`multiscale_spectral_loss` (0: not computed).
    scales : sequence of int
        Pooling sizes of the multi-scale term.

    Returns
    -------
    dict
        ``loss`` (the total, scalar) and its parts ``recon``, ``spectral``, ``kl``.

    Example
    -------
    >>> out = autoencoder_loss(torch.ones(1, 1, 4, 4), torch.zeros(1, 1, 4, 4),
    ...                        torch.tensor(2.0), kl_weight=0.5)
    >>> {k: float(v) for k, v in out.items()}
    {'loss': 2.0, 'recon': 1.0, 'spectral': 0.0, 'kl': 2.0}
    """
    if kind == "l1":
        rec = F.l1_loss(recon, target)
    elif kind == "l2":
        rec = F.mse_loss(recon, target)
    else:
        raise ValueError(f"unknown reconstruction loss {kind!r}: use l1 or l2")
    zero = rec.new_zeros(())
    spectral = multiscale_spectral_loss(recon, target, scales) if spectral_weight else zero
    kl = zero if kl is None else kl
    loss = rec + spectral_weight * spectral + kl_weight * kl
    return {"loss": loss, "recon": rec, "spectral": spectral, "kl": kl}
