"""DiffusionBrain: label tables are trained, EMA follows, NaN stops training, budget stops it,
time-based checkpoints at epoch ends."""

import glob
import json
import types

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
    )
    hparams.update(extra)
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


class FakeClock:
    """``time.time()`` in minutes the test chooses (put in place of a module's ``time``)."""

    def __init__(self):
        self.now = 1e9

    def time(self):
        return self.now

    def advance(self, minutes):
        self.now += 60 * minutes


class TimedBrain(ToyBrain):
    """Each training epoch "lasts" ``epoch_minutes``, each batch ``batch_minutes`` (a fake
    clock), and every checkpoint saved is recorded as (epoch or "intra", end_of_epoch)."""

    def on_stage_start(self, stage, epoch=None):
        super().on_stage_start(stage, epoch)
        if stage == sb.Stage.TRAIN:
            self.clock.advance(self.epoch_minutes)

    def on_fit_batch_end(self, batch, outputs, loss, should_step):
        super().on_fit_batch_end(batch, outputs, loss, should_step)
        self.clock.advance(self.batch_minutes)


def fit_timed(tmp_path, monkeypatch, interval, epochs, epoch_minutes=0.0, batch_minutes=0.0):
    """Fit a toy brain (4 batches per epoch, ``ckpt_every`` far away) on a fake clock; return
    the recorded saves and the brain."""
    clock = FakeClock()
    fake = types.SimpleNamespace(time=clock.time)
    monkeypatch.setattr("audiodiff.training.budget.time", fake)
    monkeypatch.setattr("speechbrain.core.time", fake)  # SpeechBrain's intra-epoch timer
    run_opts = {"device": "cpu", "noprogressbar": True, "ckpt_interval_minutes": interval}
    brain, data = make_brain(
        tmp_path, epochs=epochs, run_opts=run_opts, ckpt_every=1000, sample_every=1000
    )
    brain.__class__ = TimedBrain
    brain.clock, brain.epoch_minutes, brain.batch_minutes = clock, epoch_minutes, batch_minutes
    saves = []
    save = brain.checkpointer.save_checkpoint

    def recording_save(meta=None, end_of_epoch=True, **kwargs):
        saves.append(((meta or {}).get("epoch", "intra"), end_of_epoch))
        return save(meta=meta or {}, end_of_epoch=end_of_epoch, **kwargs)

    brain.checkpointer.save_checkpoint = recording_save
    brain.fit(
        brain.hparams.epoch_counter,
        data,
        data,
        train_loader_kwargs={"batch_size": 4},
        valid_loader_kwargs={"batch_size": 8},
    )
    return saves, brain


def test_short_epochs_get_a_checkpoint_each_interval(tmp_path, monkeypatch):
    """Epochs of 0.4 min, interval 1 min, ckpt_every 1000: SpeechBrain's intra-epoch timer never
    fires (it restarts each epoch), the epoch-end check saves at epochs 3 and 6 (1.2 min after
    the start, then after the last save), the last epoch (7) saves as always; 2 are kept."""
    saves, brain = fit_timed(tmp_path, monkeypatch, interval=1.0, epochs=7, epoch_minutes=0.4)
    assert saves == [(3, True), (6, True), (7, True)]
    kept = sorted(c.meta["epoch"] for c in brain.checkpointer.list_checkpoints())
    assert kept == [6, 7]  # the brain's num_to_keep: time-based saves do not pile up


def test_no_time_checkpoints_when_the_interval_is_off_or_not_reached(tmp_path, monkeypatch):
    saves, _ = fit_timed(tmp_path / "off", monkeypatch, interval=0, epochs=4, epoch_minutes=5)
    assert saves == [(4, True)]  # 0: off (only the scheduled last-epoch checkpoint)
    saves, _ = fit_timed(tmp_path / "long", monkeypatch, interval=3.0, epochs=4, epoch_minutes=0.7)
    assert saves == [(4, True)]  # 2.8 min in all: never due


def test_an_intra_epoch_checkpoint_restarts_the_interval(tmp_path, monkeypatch):
    """Batches of 0.3 min (epochs of 1.2 min), interval 1 min: SpeechBrain saves after the 4th
    batch of each epoch (1.2 min into it); the epoch end just after it is not due again."""
    saves, _ = fit_timed(tmp_path, monkeypatch, interval=1.0, epochs=3, batch_minutes=0.3)
    assert saves == [("intra", False), ("intra", False), ("intra", False), (3, True)]
