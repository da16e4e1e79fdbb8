"""Latent diffusion training in two stages, on top of :class:`DiffusionBrain`.

Stage 1, :class:`AutoencoderBrain`: train a :class:`audiodiff.nets.SpectrogramAutoencoder` to
reconstruct normalised spectrograms. Stage 2, :class:`LatentDiffusionBrain`: freeze it, cache
the posterior moments of the data (:func:`encode_moments`), fit the latent statistics
(:func:`fit_latent_stats`) and train the denoiser on the normalised latents with the same
loss, samplers, conditioning and guidance as spectrogram diffusion; samples are decoded to
spectrograms, then vocoded.

Epoch ends write reconstructions beside their originals (:func:`write_reconstructions`):
``reconstructions_folder/<autoencoder|diffusion>/<epoch>/``; stage 2 also writes generated
samples to ``samples_folder/<epoch>/`` as :class:`DiffusionBrain` does.
"""

import json
import logging
import os

import torch
from speechbrain.utils.checkpoints import Checkpointer

from audiodiff.audio import plot_spectrograms
from audiodiff.diffusion import diffusion_loss
from audiodiff.diffusion.ema import unwrap_model
from audiodiff.nets.autoencoder_losses import autoencoder_loss
from audiodiff.training.brain import DiffusionBrain
from audiodiff.training.samples import write_sample_folder

logger = logging.getLogger(__name__)


# ---- helpers shared by the stages, the recipe and the benchmarks ---------------------------
@torch.no_grad()
def reconstruct(autoencoder, normalizer, mel_db, batch_size=256):
    """Round-trip dB spectrograms through the autoencoder (posterior mean, eval mode).

    Arguments
    ---------
    autoencoder : SpectrogramAutoencoder
        The autoencoder (its mode is restored afterwards).
    normalizer : SpectrogramNormalizer
        Maps dB to the autoencoder's [-1, 1] input range.
    mel_db : torch.Tensor
        [n, n_mels, frames] dB spectrograms (any device).
    batch_size : int
        Spectrograms per forward pass.

    Returns
    -------
    torch.Tensor
        [n, n_mels, frames] reconstructed dB spectrograms, on ``mel_db``'s device.

    Example
    -------
    >>> from audiodiff.audio import SpectrogramNormalizer
    >>> from audiodiff.nets import SpectrogramAutoencoder
    >>> ae = SpectrogramAutoencoder(base_channels=8, channel_mults=(1, 2))
    >>> norm = SpectrogramNormalizer(low_db=-80.0, high_db=0.0)
    >>> reconstruct(ae, norm, torch.full((3, 8, 4), -40.0)).shape
    torch.Size([3, 8, 4])
    """
    device = next(autoencoder.parameters()).device
    was_training = autoencoder.training
    autoencoder.eval()
    out = []
    for chunk in mel_db.split(batch_size):
        x = normalizer.normalize(chunk.to(device)).unsqueeze(1)
        out.append(normalizer.denormalize(autoencoder.decode(autoencoder.encode(x)).squeeze(1)))
    autoencoder.train(was_training)
    return torch.cat(out).to(mel_db.device)


def reconstruction_error(mel_db, recon_db, normalizer):
    """Reconstruction errors: mean absolute dB error, dB RMSE and L1 on the normalised scale.

    Both inputs are clamped to the normaliser's range first (what the model can represent).

    Arguments
    ---------
    mel_db, recon_db : torch.Tensor
        [n, n_mels, frames] originals and reconstructions, in dB.
    normalizer : SpectrogramNormalizer
        Fitted normaliser.

    Returns
    -------
    dict
        ``l1_db``, ``rmse_db``, ``l1_normalized`` (floats) and ``items``.

    Example
    -------
    >>> from audiodiff.audio import SpectrogramNormalizer
    >>> norm = SpectrogramNormalizer(low_db=-80.0, high_db=0.0)
    >>> err = reconstruction_error(torch.full((2, 4, 4), -40.0), torch.full((2, 4, 4), -38.0), norm)
    >>> err["l1_db"], err["rmse_db"], err["l1_normalized"]
    (2.0, 2.0, 0.05)
    """
    x, y = normalizer.normalize(mel_db.float()), normalizer.normalize(recon_db.float())
    diff_db = normalizer.denormalize(x) - normalizer.denormalize(y)
    return {
        "l1_db": round(diff_db.abs().mean().item(), 4),
        "rmse_db": round(diff_db.pow(2).mean().sqrt().item(), 4),
        "l1_normalized": round((x - y).abs().mean().item(), 4),
        "items": len(mel_db),
    }


@torch.no_grad()
def encode_moments(autoencoder, normalizer, mel_db, batch_size=256):
    """Posterior moments of dB spectrograms, to cache a dataset's latents for stage 2.

    Arguments
    ---------
    autoencoder : SpectrogramAutoencoder
        Trained autoencoder (its mode is restored afterwards).
    normalizer : SpectrogramNormalizer
        The normaliser it was trained with.
    mel_db : torch.Tensor
        [n, n_mels, frames] dB spectrograms.
    batch_size : int
        Spectrograms per forward pass.

    Returns
    -------
    dict
        ``latent_mean`` [n, C, h, w] and, for a VAE, ``latent_logvar``: CPU tensors, the batch
        keys :meth:`LatentDiffusionBrain.batch_latents` reads instead of encoding.

    Example
    -------
    >>> from audiodiff.audio import SpectrogramNormalizer
    >>> from audiodiff.nets import SpectrogramAutoencoder
    >>> ae = SpectrogramAutoencoder(latent_channels=2, base_channels=8, channel_mults=(1, 2))
    >>> norm = SpectrogramNormalizer(low_db=-80.0, high_db=0.0)
    >>> moments = encode_moments(ae, norm, -80 * torch.rand(3, 8, 8))
    >>> {k: tuple(v.shape) for k, v in moments.items()}
    {'latent_mean': (3, 2, 4, 4)}
    """
    device = next(autoencoder.parameters()).device
    was_training = autoencoder.training
    autoencoder.eval()
    means, logvars = [], []
    for chunk in mel_db.split(batch_size):
        mean, logvar = autoencoder.encode_moments(
            normalizer.normalize(chunk.to(device)).unsqueeze(1)
        )
        means.append(mean.float().cpu())
        if logvar is not None:
            logvars.append(logvar.float().cpu())
    autoencoder.train(was_training)
    moments = {"latent_mean": torch.cat(means)}
    if logvars:
        moments["latent_logvar"] = torch.cat(logvars)
    return moments


@torch.no_grad()
def fit_latent_stats(autoencoder, moments, seed=0):
    """Set the autoencoder's latent statistics from the latents of the training data.

    A VAE's latents are posterior draws, as stage 2 trains on (an autoencoder's are exact).

    Arguments
    ---------
    autoencoder : SpectrogramAutoencoder
        Trained autoencoder.
    moments : dict
        :func:`encode_moments` of the training spectrograms.
    seed : int
        Seed of the posterior draws.

    Returns
    -------
    SpectrogramAutoencoder
        ``autoencoder``, with ``latent_mean`` / ``latent_std`` set.

    Example
    -------
    >>> from audiodiff.nets import SpectrogramAutoencoder
    >>> ae = SpectrogramAutoencoder(latent_channels=2, base_channels=8, channel_mults=(1, 2))
    >>> _ = fit_latent_stats(ae, {"latent_mean": torch.randn(4, 2, 3, 3) + 5})
    >>> ae.latent_stats_fitted, tuple(ae.latent_std.shape)
    (True, (2,))
    """
    generator = torch.Generator().manual_seed(seed)
    latents = autoencoder.sample_latent(
        moments["latent_mean"], moments.get("latent_logvar"), generator
    )
    autoencoder.fit_latent_stats(latents)
    logger.info(
        f"Latent statistics from {len(latents)} spectrograms: mean "
        f"{[round(v, 3) for v in autoencoder.latent_mean.tolist()]}, std "
        f"{[round(v, 3) for v in autoencoder.latent_std.tolist()]}"
    )
    return autoencoder


def load_autoencoder(folder, autoencoder, normalizer):
    """Load the newest stage-1 checkpoint of ``folder`` into ``autoencoder`` and ``normalizer``.

    Arguments
    ---------
    folder : str
        A stage-1 checkpoint folder (holding ``CKPT+*``), or an experiment folder whose
        ``save/autoencoder`` holds them.
    autoencoder : SpectrogramAutoencoder
        Receives the weights.
    normalizer : SpectrogramNormalizer
        Receives the dB range the autoencoder was trained with.

    Returns
    -------
    str
        The checkpoint folder that was loaded.
    """
    for candidate in (folder, os.path.join(folder, "save", "autoencoder")):
        if os.path.isdir(candidate) and any(n.startswith("CKPT+") for n in os.listdir(candidate)):
            checkpointer = Checkpointer(
                candidate, recoverables={"autoencoder": autoencoder, "normalizer": normalizer}
            )
            ckpt = checkpointer.recover_if_possible()
            logger.info(f"Loaded the stage-1 autoencoder from {ckpt.path}")
            return str(ckpt.path)
    raise FileNotFoundError(
        f"no autoencoder checkpoint (CKPT+*) in {folder}: train stage 1 first "
        "(--stage autoencoder, or --stage both; with --debug add --debug_persistently) or "
        "pass --autoencoder_folder PATH of a finished stage 1"
    )


def write_reconstructions(
    folder, originals_db, recon_db, grid, vocoder, sample_rate, label_names=None, max_plots=8
):
    """Write originals and reconstructions side by side: wavs, PNG grids and their errors.

    ``folder/original/`` and ``folder/reconstruction/`` (each ``wav/*.wav`` named with the
    labels + ``spectrograms.png``, see :func:`write_sample_folder`), ``folder/comparison.png``
    (original above its reconstruction) and ``folder/metrics.json``
    (:func:`reconstruction_error` without the normalised term). Both are vocoded with the
    same ``vocoder``, so listening compares the autoencoder only.

    Arguments
    ---------
    folder : str
        Output folder (created).
    originals_db, recon_db : torch.Tensor
        [n, n_mels, frames] dB spectrograms.
    grid : list of dict
        Labels of each example.
    vocoder : callable
        dB mel [n, n_mels, frames] -> wav [n, samples].
    sample_rate : int
        Sample rate of the wavs.
    label_names : dict, optional
        Label name -> class names, saved in the ``labels.json`` files.
    max_plots : int
        Pairs shown in ``comparison.png`` (and spectrograms in each ``spectrograms.png``).

    Returns
    -------
    dict
        The errors written to ``metrics.json``.

    Example
    -------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> mel = torch.full((2, 8, 5), -40.0)
    >>> vocoder = lambda m: torch.zeros(m.shape[0], 1600)
    >>> err = write_reconstructions(out, mel, mel + 1, [{"digit": 1}, {"digit": 2}], vocoder, 16000)
    >>> err["l1_db"], sorted(os.listdir(out))
    (1.0, ['comparison.png', 'metrics.json', 'original', 'reconstruction'])
    """
    originals_db, recon_db = originals_db.detach().float(), recon_db.detach().float()
    for name, mels in (("original", originals_db), ("reconstruction", recon_db)):
        sub = os.path.join(folder, name)
        wavs = torch.cat([vocoder(chunk) for chunk in mels.split(256)])
        write_sample_folder(sub, wavs, mels, grid, sample_rate, label_names, max_plots)
    diff = originals_db - recon_db
    metrics = {
        "l1_db": round(diff.abs().mean().item(), 4),
        "rmse_db": round(diff.pow(2).mean().sqrt().item(), 4),
        "items": len(grid),
    }
    show = min(max_plots, len(grid))
    pairs = torch.stack([originals_db[:show], recon_db[:show]], 1).flatten(0, 1).cpu()
    titles = [f"{kind} {i}" for i in range(show) for kind in ("orig", "recon")]
    plot_spectrograms(pairs, os.path.join(folder, "comparison.png"), titles=titles, ncols=4)
    with open(os.path.join(folder, "metrics.json"), "w") as f:
        json.dump(metrics, f)
    return metrics


class _ReconstructionsMixin:
    """Writes ``hparams.reconstruction_examples`` = (dB mels, label grid) at epoch ends."""

    reconstruction_stage = "autoencoder"

    def write_reconstructions(self, epoch):
        """Reconstruct the examples and write them beside the originals; logs the error."""
        hp = self.hparams
        examples = getattr(hp, "reconstruction_examples", None)
        if examples is None:
            return None
        mel_db, grid = examples
        autoencoder = unwrap_model(self.modules.autoencoder)  # main process only: no DDP forward
        mel_db = mel_db.to(self.device)
        recon = reconstruct(autoencoder, self.modules.normalizer, mel_db)
        folder = os.path.join(hp.reconstructions_folder, self.reconstruction_stage, str(epoch))
        metrics = write_reconstructions(
            folder,
            mel_db,
            recon,
            grid,
            self.modules.vocoder,
            hp.sample_rate,
            label_names=getattr(hp, "label_names", None),
        )
        hp.train_logger.log_stats(
            {"epoch": epoch, "reconstructions": folder},
            valid_stats={f"recon_{k}": v for k, v in metrics.items() if k != "items"},
        )
        return metrics


class AutoencoderBrain(_ReconstructionsMixin, DiffusionBrain):
    """Stage 1: train ``modules.autoencoder`` to reconstruct normalised spectrograms.

    Reuses :class:`DiffusionBrain`'s logging, time budget, NaN stop and checkpoints; epoch
    ends write reconstructions instead of samples. Modules: ``autoencoder``,
    ``normalizer``, ``vocoder``. Hparams read (besides the base class's):
    ``ae_loss`` (l1 | l2), ``kl_weight``, ``spectral_weight``, ``reconstructions_folder``,
    ``reconstruction_examples`` (optional).
    Subclasses implement ``batch_inputs`` (as for :class:`DiffusionBrain`).
    """

    def compute_forward(self, batch, stage):
        """Autoencode the normalised batch; returns the autoencoder's dict + ``target``."""
        features_db, _, _ = self.batch_inputs(batch)
        x = self.modules.normalizer.normalize(features_db).unsqueeze(1)
        return {**self.modules.autoencoder(x), "target": x}

    def compute_objectives(self, predictions, batch, stage):
        """Reconstruction (+ multi-scale spectral) loss + ``kl_weight`` * KL."""
        hp = self.hparams
        return autoencoder_loss(
            predictions["recon"].float(),
            predictions["target"].float(),
            predictions["kl"].float(),
            kind=hp.ae_loss,
            kl_weight=hp.kl_weight,
            spectral_weight=hp.spectral_weight,
        )["loss"]

    def write_epoch_samples(self, epoch):
        """Stage 1 has nothing to sample: write reconstructions."""
        self.write_reconstructions(epoch)


class LatentDiffusionBrain(_ReconstructionsMixin, DiffusionBrain):
    """Stage 2: a diffusion model on the normalised latents of a frozen autoencoder.

    Modules: those of :class:`DiffusionBrain` plus ``autoencoder`` (frozen here, with fitted
    latent statistics). ``sample_shape`` is the latent shape
    (``SpectrogramAutoencoder.latent_shape``). Length masks are not supported.
    """

    reconstruction_stage = "diffusion"

    def on_fit_start(self):
        """Freeze the autoencoder before the optimizer is built; check its statistics.

        (Its train/eval mode is left to ``Brain``: the latent draw below is explicit, and the
        autoencoder has no batch statistics; use ``dropout=0`` for it.)
        """
        self.modules.autoencoder.requires_grad_(False)
        if not self.modules.autoencoder.latent_stats_fitted:
            raise RuntimeError("fit the autoencoder's latent statistics before stage 2")
        super().on_fit_start()

    def batch_latents(self, batch):
        """Return ``(z0, labels)``: the normalised latent draws [B, C, h, w] of a batch.

        A batch holding ``latent_mean`` (and ``latent_logvar`` for a VAE), cached with
        :func:`encode_moments`, skips the encoder; otherwise the spectrograms from
        ``batch_inputs`` are encoded.
        """
        features_db, labels, mask = self.batch_inputs(batch)
        if mask is not None:
            raise ValueError("latent diffusion does not support length masks")
        autoencoder = self.modules.autoencoder
        if "latent_mean" in batch:
            mean = batch["latent_mean"].to(self.device)
            logvar = batch.get("latent_logvar")
            logvar = None if logvar is None else logvar.to(self.device)
        else:
            with torch.no_grad():
                x = self.modules.normalizer.normalize(features_db).unsqueeze(1)
                mean, logvar = autoencoder.encode_moments(x)
        return autoencoder.normalize_latent(autoencoder.sample_latent(mean, logvar)), labels

    def compute_forward(self, batch, stage):
        """Diffusion loss on z0 = normalised latent draw of the batch (one step t each)."""
        z0, labels = self.batch_latents(batch)
        return diffusion_loss(
            self.modules.model,
            z0,
            self.modules.schedule,
            prediction=self.hparams.prediction,
            cond=labels,
        )

    def decode_samples(self, x0):
        """Decode normalised latents [n, C, h, w] to dB spectrograms [n, n_mels, frames]."""
        mel = self.modules.autoencoder.decode_normalized(x0.float()).squeeze(1)
        return self.modules.normalizer.denormalize(mel)

    def write_epoch_samples(self, epoch):
        """Samples (as :class:`DiffusionBrain`) and the autoencoder's reconstructions."""
        super().write_epoch_samples(epoch)
        self.write_reconstructions(epoch)
