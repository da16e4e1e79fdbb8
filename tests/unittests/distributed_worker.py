"""One process of the 2-process DiffusionBrain test (``test_training_distributed.py``).

Started by torchrun (gloo, CPU): trains a tiny denoiser with SpeechBrain's DDP, with clocks
made to disagree (rank 1's runs 30% fast), and writes what the test compares to
``OUT/rank<r>.pt``: the EMA and model state, the optimizer steps, the item indices it
trained on, a draw of its global generator after ``on_fit_start``, and the epochs whose
samples it wrote.

Usage: python -m torch.distributed.run --nproc_per_node=2 distributed_worker.py OUT
"""

import os
import sys

import speechbrain as sb
import torch
from speechbrain.utils.epoch_loop import EpochCounter
from speechbrain.utils.train_logger import FileTrainLogger

from audiodiff.audio import SpectrogramNormalizer
from audiodiff.diffusion import EMA, make_schedule
from audiodiff.training import DiffusionBrain
from audiodiff.training.distributed import join_process_group, process_rank

BUDGET_MINUTES = 0.1
MINUTES_PER_STEP = {0: 0.01, 1: 0.013}  # the fake clocks: rank 1 alone would stop after 8 steps


class TinyDenoiser(torch.nn.Module):
    """eps(x_t, t) = conv(x_t) (every parameter used: DDP needs no find_unused_parameters)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x, t, **labels):
        return self.conv(x)


class RecordingBrain(DiffusionBrain):
    """Records the items it trains on and the epochs it writes samples for; a fake clock."""

    def batch_inputs(self, batch):
        if self.modules.training:
            self.seen.extend(batch["index"].tolist())
        return batch["mel_db"].to(self.device), {}, None

    def on_fit_start(self):
        super().on_fit_start()
        self.first_draw = torch.rand(1).item()  # after seed_process: differs between ranks

    def _local_minutes(self):
        return self.optimizer_step * MINUTES_PER_STEP[process_rank()]

    def write_epoch_samples(self, epoch):
        self.sampled_epochs.append(epoch)


def main(out):
    join_process_group({"distributed_backend": "gloo"})
    sb.utils.seed_everything(7)
    rank = process_rank()
    model = TinyDenoiser()
    modules = {
        "model": model,
        "ema": EMA(model, decay=0.9),
        "schedule": make_schedule("linear", 50),
        "normalizer": SpectrogramNormalizer(low_db=-80.0, high_db=0.0),
    }
    counter = EpochCounter(limit=3)
    save = os.path.join(out, "save")
    hparams = {
        "seed": 7,
        "prediction": "eps",
        "label_classes": {},
        "epoch_counter": counter,
        "train_logger": FileTrainLogger(os.path.join(out, "train_log.txt")),
        "samples_folder": os.path.join(out, "samples"),
        "sample_every": 1000,
        "ckpt_every": 1000,
        "max_train_minutes": BUDGET_MINUTES,
    }
    checkpointer = sb.utils.checkpoints.Checkpointer(save, {"model": model, "counter": counter})
    brain = RecordingBrain(
        modules=modules,
        opt_class=lambda params: torch.optim.SGD(params, lr=0.1),
        hparams=hparams,
        # ckpt_interval_minutes: the epoch-end time check runs its collective (not reached)
        run_opts={
            "device": "cpu",
            "noprogressbar": True,
            "distributed_backend": "gloo",
            "ckpt_interval_minutes": 60,
        },
        checkpointer=checkpointer,
    )
    brain.seen, brain.sampled_epochs = [], []
    generator = torch.Generator().manual_seed(0)  # the same data on every rank
    data = torch.utils.data.StackDataset(
        mel_db=-80 * torch.rand(160, 8, 8, generator=generator), index=torch.arange(160)
    )
    brain.fit(
        counter,
        data,
        data,
        train_loader_kwargs={"batch_size": 4, "shuffle": True, "drop_last": True},
        valid_loader_kwargs={"batch_size": 40},
    )
    torch.save(
        {
            "ema": brain.modules.ema.state_dict(),
            "model": model.state_dict(),
            "optimizer_step": brain.optimizer_step,
            "seen": brain.seen,
            "first_draw": brain.first_draw,
            "sampled_epochs": brain.sampled_epochs,
            "epoch": counter.current,
            "minutes": brain.training_minutes(),
        },
        os.path.join(out, f"rank{rank}.pt"),
    )


if __name__ == "__main__":
    main(sys.argv[1])
