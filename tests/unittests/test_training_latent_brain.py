"""Latent diffusion stages: the autoencoder learns, stage 2 keeps it frozen, checkpoints load."""

import glob
import os

import pytest
import speechbrain as sb
import torch

from audiodiff.audio import GriffinLimVocoder, SpectrogramNormalizer
from audiodiff.diffusion import EMA, make_schedule
from audiodiff.nets import SpectrogramAutoencoder, SpectrogramUNet
from audiodiff.training.latent_brain import (
    AutoencoderBrain,
    LatentDiffusionBrain,
    encode_moments,
    fit_latent_stats,
    load_autoencoder,
    reconstruct,
)


class Batches:
    def batch_inputs(self, batch):
        labels = {name: batch[name] for name in self.hparams.label_classes}
        return batch["mel_db"], labels, None


class ToyAutoencoderBrain(Batches, AutoencoderBrain):
    pass


class ToyLatentBrain(Batches, LatentDiffusionBrain):
    pass


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def setup(tmp_path, stage):
    torch.manual_seed(0)
    ae = SpectrogramAutoencoder(latent_channels=2, base_channels=8, channel_mults=(1, 2))
    normalizer = SpectrogramNormalizer(low_db=-100.0, high_db=0.0)
    mel = torch.linspace(-90, -10, 8)[None, :, None] + torch.zeros(16, 8, 8)
    mel = mel + 5 * torch.randn(16, 8, 8)
    data = torch.utils.data.StackDataset(mel_db=mel, digit=torch.arange(16) % 10)
    vocoder = GriffinLimVocoder(n_fft=64, hop_length=16, n_mels=8, n_iter=2)
    grid = [{"digit": 0}, {"digit": 1}]
    hparams = dict(
        label_classes={"digit": 10},
        train_logger=sb.utils.train_logger.FileTrainLogger(str(tmp_path / "log.txt")),
        samples_folder=str(tmp_path / "samples"),
        reconstructions_folder=str(tmp_path / "recon"),
        reconstruction_examples=(mel[:2], grid),
        sample_every=1,
        ckpt_every=1,
        sample_rate=16000,
        samples_per_label=1,
    )
    run_opts = {"device": "cpu", "noprogressbar": True}
    if stage == 1:
        counter = sb.utils.epoch_loop.EpochCounter(limit=2)
        save = str(tmp_path / "save" / "autoencoder")
        ckpt = sb.utils.checkpoints.Checkpointer(
            save, recoverables={"autoencoder": ae, "normalizer": normalizer, "counter": counter}
        )
        hparams.update(epoch_counter=counter, ae_loss="l1", kl_weight=0.0, spectral_weight=0.5)
        modules = dict(autoencoder=ae, normalizer=normalizer, vocoder=vocoder)
        brain = ToyAutoencoderBrain(
            modules, lambda p: torch.optim.Adam(p, lr=3e-3), hparams, run_opts, ckpt
        )
        return brain, data
    fit_latent_stats(ae, encode_moments(ae, normalizer, mel))
    net = SpectrogramUNet(
        in_channels=2, out_channels=2, base_channels=8, channel_mults=(1,),
        attention_levels=(), num_res_blocks=1, label_classes={"digit": 10},
    )  # fmt: skip
    counter = sb.utils.epoch_loop.EpochCounter(limit=1)
    hparams.update(
        epoch_counter=counter,
        prediction="v",
        sample_shape=ae.latent_shape((1, 8, 8)),
        sampler="ddim",
        sample_steps=2,
        guidance_scale=2.0,
    )
    modules = dict(
        model=net,
        ema=EMA(net, decay=0.5),
        autoencoder=ae,
        normalizer=normalizer,
        schedule=make_schedule("cosine", 50),
        vocoder=vocoder,
    )
    ckpt = sb.utils.checkpoints.Checkpointer(
        str(tmp_path / "save"), recoverables={"model": net, "autoencoder": ae, "counter": counter}
    )
    brain = ToyLatentBrain(modules, lambda p: torch.optim.SGD(p, lr=0.1), hparams, run_opts, ckpt)
    return brain, data


def fit(brain, data):
    brain.fit(
        brain.hparams.epoch_counter,
        data,
        data,
        train_loader_kwargs={"batch_size": 4},
        valid_loader_kwargs={"batch_size": 8},
    )


def test_stage1_learns_writes_reconstructions_and_a_loadable_checkpoint(tmp_path):
    brain, data = setup(tmp_path, stage=1)
    ae, norm = brain.modules.autoencoder, brain.modules.normalizer
    mel = data.datasets["mel_db"]
    before = (reconstruct(ae, norm, mel) - mel).abs().mean()
    fit(brain, data)
    after = (reconstruct(ae, norm, mel) - mel).abs().mean()
    assert after < 0.8 * before, (before, after)
    for epoch in ("1", "2"):
        folder = tmp_path / "recon" / "autoencoder" / epoch
        assert len(glob.glob(str(folder / "reconstruction" / "wav" / "digit*.wav"))) == 2
    assert "recon_l1_db" in (tmp_path / "log.txt").read_text()

    fresh = SpectrogramAutoencoder(latent_channels=2, base_channels=8, channel_mults=(1, 2))
    fresh_norm = SpectrogramNormalizer()
    for folder in (tmp_path / "save" / "autoencoder", tmp_path):  # checkpoint or experiment
        path = load_autoencoder(str(folder), fresh, fresh_norm)
        assert os.path.basename(path).startswith("CKPT+")
        torch.testing.assert_close(fresh.decoder[0].weight, ae.decoder[0].weight)
        assert float(fresh_norm.low_db) == -100.0


def test_load_autoencoder_without_checkpoint_is_a_clear_error(tmp_path):
    ae = SpectrogramAutoencoder(base_channels=8, channel_mults=(1, 2))
    with pytest.raises(FileNotFoundError, match="train stage 1 first"):
        load_autoencoder(str(tmp_path), ae, SpectrogramNormalizer())


def test_stage2_keeps_the_autoencoder_frozen_and_decodes_samples(tmp_path):
    brain, data = setup(tmp_path, stage=2)
    ae = brain.modules.autoencoder
    frozen = {k: v.clone() for k, v in ae.state_dict().items()}
    unet_before = brain.modules.model.input_conv.weight.detach().clone()
    fit(brain, data)
    for name, value in ae.state_dict().items():
        torch.testing.assert_close(value, frozen[name], msg=name)
    assert not torch.equal(unet_before, brain.modules.model.input_conv.weight)
    wavs = glob.glob(str(tmp_path / "samples" / "1" / "wav" / "digit*_000.wav"))
    assert len(wavs) == 10
    mel_db, wav = brain.generate([{"digit": 3}])
    assert mel_db.shape == (1, 8, 8) and wav.shape[0] == 1
    assert glob.glob(str(tmp_path / "recon" / "diffusion" / "1" / "comparison.png"))


def test_stage2_needs_fitted_latent_stats(tmp_path):
    brain, data = setup(tmp_path, stage=2)
    brain.modules.autoencoder.latent_mean.fill_(float("nan"))
    with pytest.raises(RuntimeError, match="latent statistics"):
        fit(brain, data)


def test_cached_moments_replace_the_encoder(tmp_path):
    brain, data = setup(tmp_path, stage=2)
    ae, norm = brain.modules.autoencoder, brain.modules.normalizer
    mel = data.datasets["mel_db"][:4]
    batch = {"mel_db": mel, "digit": torch.arange(4)}
    cached = {**batch, **encode_moments(ae, norm, mel)}
    torch.manual_seed(1)
    z_encoded, labels = brain.batch_latents(batch)
    torch.manual_seed(1)
    z_cached, _ = brain.batch_latents(cached)
    torch.testing.assert_close(z_cached, z_encoded)
    assert z_cached.shape == (4, 2, 4, 4) and labels["digit"].tolist() == [0, 1, 2, 3]
    cached["latent_mean"] = cached["latent_mean"] + 1.0  # the cache is what is used
    torch.manual_seed(1)
    assert not torch.allclose(brain.batch_latents(cached)[0], z_encoded)
