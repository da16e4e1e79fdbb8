"""DiffusionBrain: label tables are trained, EMA follows, NaN stops training, budget stops it."""

import glob
import json

import pytest
import speechbrain as sb
import torch

from audiodiff.audio import GriffinLimVocoder, SpectrogramNormalizer
from audiodiff.diffusion import EMA, make_schedule
from audiodiff.nets import SpectrogramUNet
from audiodiff.training import DiffusionBrain, NonFiniteLossError
from audiodiff.training.budget import step_limit_as_int


class ToyBrain(DiffusionBrain):
    def batch_inputs(self, batch):
        labels = {name: batch[name] for name in self.hparams.label_classes}
        return batch["mel_db"], labels, None


class NaNAfter(torch.nn.Module):
    """Wraps a network; from call ``after`` on, its output is NaN."""

    def __init__(self, net, after):
        super().__init__()
        self.net, self.after, self.calls = net, after, 0

    def forward(self, x, t, **labels):
        self.calls += 1
        out = self.net(x, t, **labels)
        return out * float("nan") if self.calls > self.after else out


def make_brain(tmp_path, model=None, epochs=2, run_opts=None, **extra):
    torch.manual_seed(0)
    net = model or SpectrogramUNet(
        base_channels=8,
        channel_mults=(1, 2),
        attention_levels=(),
        num_res_blocks=1,
        label_classes={"digit": 10},
    )
    # make the output depend on the input from the start (the last conv is zero-initialised)
    normalizer = SpectrogramNormalizer(low_db=-100.0, high_db=0.0)
    ema = EMA(net, decay=0.5)
    counter = sb.utils.epoch_loop.EpochCounter(limit=epochs)
    checkpointer = sb.utils.checkpoints.Checkpointer(
        str(tmp_path / "save"), recoverables={"model": net, "ema": ema, "counter": counter}
    )
    hparams = dict(
        prediction="v",
        label_classes={"digit": 10},
        epoch_counter=counter,
        train_logger=sb.utils.train_logger.FileTrainLogger(str(tmp_path / "log.txt")),
        samples_folder=str(tmp_path / "samples"),
        sample_shape=(1, 8, 8),
        sampler="ddim",
        sample_steps=2,
        guidance_scale=2.0,
        samples_per_label=1,
        sample_every=1,
        ckpt_every=1,
        sample_rate=16000,
        **extra,
    )
    modules = dict(
        model=net,
        ema=ema,
        normalizer=normalizer,
        schedule=make_schedule("cosine", 50),
        vocoder=GriffinLimVocoder(n_fft=64, hop_length=16, n_mels=8, n_iter=2),
    )
    brain = ToyBrain(
        modules=modules,
        opt_class=lambda p: torch.optim.SGD(p, lr=0.1),
        hparams=hparams,
        run_opts=run_opts or {"device": "cpu", "noprogressbar": True},
        checkpointer=checkpointer,
    )
    data = torch.utils.data.StackDataset(
        mel_db=torch.rand(16, 8, 8) * -100, digit=torch.arange(16) % 10
    )
    return brain, data


def test_fit_trains_label_tables_updates_ema_and_writes_samples(tmp_path):
    brain, data = make_brain(tmp_path)
    net = brain.modules.model
    table_before = net.label_embeds["digit"].weight.detach().clone()
    brain.fit(
        brain.hparams.epoch_counter,
        data,
        data,
        train_loader_kwargs={"batch_size": 4},
        valid_loader_kwargs={"batch_size": 8},
    )
    assert not torch.equal(table_before, net.label_embeds["digit"].weight.detach())
    ema_w = brain.modules.ema.averaged.label_embeds["digit"].weight
    assert not torch.equal(ema_w, table_before)  # EMA moved ...
    assert not torch.equal(ema_w, net.label_embeds["digit"].weight)  # ... but lags the model
    wavs = glob.glob(str(tmp_path / "samples" / "2" / "wav" / "digit*_000.wav"))
    assert len(wavs) == 10
    assert glob.glob(str(tmp_path / "save" / "CKPT+*"))


def test_nan_loss_stops_training_and_keeps_last_good_checkpoint(tmp_path):
    net = SpectrogramUNet(
        base_channels=8,
        channel_mults=(1, 2),
        attention_levels=(),
        num_res_blocks=1,
        label_classes={"digit": 10},
    )
    wrapped = NaNAfter(net, after=6)  # epoch 1: 4 train + 2 valid calls, then NaN
    brain, data = make_brain(tmp_path, model=wrapped, epochs=3)
    with pytest.raises(NonFiniteLossError, match="last good checkpoint"):
        brain.fit(
            brain.hparams.epoch_counter,
            data,
            data,
            train_loader_kwargs={"batch_size": 4},
            valid_loader_kwargs={"batch_size": 8},
        )
    ckpts = brain.checkpointer.list_checkpoints()
    assert len(ckpts) == 1 and ckpts[0].meta["epoch"] == 1
    for p in net.parameters():
        assert torch.isfinite(p).all()


def test_time_budget_stops_training(tmp_path):
    brain, data = make_brain(tmp_path, epochs=100, max_train_minutes=1e-6)
    brain.fit(
        brain.hparams.epoch_counter,
        data,
        data,
        train_loader_kwargs={"batch_size": 4},
        valid_loader_kwargs={"batch_size": 8},
    )
    assert brain.hparams.epoch_counter.current == 1
    assert brain.optimizer_step <= 1


class LabelRecorder(torch.nn.Module):
    """Wraps a network and records the digit labels of every call."""

    def __init__(self, net):
        super().__init__()
        self.net, self.digits = net, []

    def forward(self, x, t, **labels):
        self.digits.append(labels["digit"].clone())
        return self.net(x, t, **labels)


def test_unconditional_samples_draw_their_digit_from_the_label_prior(tmp_path):
    net = SpectrogramUNet(
        base_channels=8,
        channel_mults=(1, 2),
        attention_levels=(),
        num_res_blocks=1,
        label_classes={"digit": 10},
    )
    prior = [0.0] * 10
    prior[3] = 1.0
    brain, _ = make_brain(
        tmp_path,
        model=LabelRecorder(net),
        prior_labels=["digit"],
        digit_conditioned=False,
        label_prior={"digit": prior},
    )
    brain.hparams.samples_per_label = 3
    brain.write_epoch_samples(1)
    names = sorted(p.split("/")[-1] for p in glob.glob(str(tmp_path / "samples/1/wav/*.wav")))
    assert names == ["uncond_000.wav", "uncond_001.wav", "uncond_002.wav"]
    # EMA wraps a copy: read the labels the sampling network saw through its recorder
    calls = brain.sampling_model().digits
    assert calls and all(set(d.tolist()) <= {3, -1} for d in calls)
    assert all((d == 3).sum() == 3 for d in calls)  # each step's conditional branch: digit 3


def test_resumed_run_keeps_its_training_clock(tmp_path):
    brain, data = make_brain(tmp_path, epochs=1)
    brain.fit(
        brain.hparams.epoch_counter,
        data,
        data,
        train_loader_kwargs={"batch_size": 4},
        valid_loader_kwargs={"batch_size": 8},
    )
    ckpt = brain.checkpointer.find_checkpoint()
    with open(ckpt.paramfiles["train_clock"]) as f:
        saved = json.load(f)["minutes"]
    assert 0 < saved <= brain.train_clock.minutes()
    resumed, _ = make_brain(tmp_path, epochs=1)
    resumed.on_fit_start()  # recovers the checkpoint, clock included
    assert saved <= resumed.train_clock.minutes() < saved + 0.5


def test_min_snr_weighting_changes_the_loss(tmp_path):
    brain, data = make_brain(tmp_path, min_snr_gamma=1.0)
    batch = {"mel_db": data.datasets["mel_db"][:4], "digit": data.datasets["digit"][:4]}
    torch.manual_seed(1)
    weighted = brain.compute_forward(batch, sb.Stage.TRAIN)
    brain.hparams.min_snr_gamma = None
    torch.manual_seed(1)
    plain = brain.compute_forward(batch, sb.Stage.TRAIN)
    assert torch.isfinite(weighted) and weighted < plain  # v weights min(snr, 1)/(snr+1) < 1


def test_optimizer_step_limit_from_the_command_line_stops_training(tmp_path):
    """SpeechBrain 1.1 parses ``--optimizer_step_limit 3`` as the string "3": the mixin makes
    it an int, and training stops after 3 optimizer steps (4 per epoch here)."""
    from speechbrain.utils.run_opts import RunOptions

    _, run_opts, _ = RunOptions.from_command_line_args(["x.yaml", "--optimizer_step_limit", "3"])
    brain, data = make_brain(tmp_path, epochs=100, run_opts=run_opts)
    assert brain.optimizer_step_limit == 3
    brain.fit(
        brain.hparams.epoch_counter,
        data,
        data,
        train_loader_kwargs={"batch_size": 4},
        valid_loader_kwargs={"batch_size": 8},
    )
    assert brain.optimizer_step == 3
    assert brain.hparams.epoch_counter.current == 1
    assert step_limit_as_int(None) is None
    with pytest.raises(ValueError, match="expects an integer"):
        step_limit_as_int("many")
