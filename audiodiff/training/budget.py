"""Training guards for any ``speechbrain.Brain``: a wall-clock budget and a stop on NaN loss.

``TrainingBudgetMixin`` goes before ``speechbrain.Brain`` in a subclass's bases. It reads the
optional hparam ``max_train_minutes``: once that much time has passed since ``on_fit_start``,
SpeechBrain's step-limit check reports the limit reached and the epoch loop ends (after the
current epoch's validation and checkpoint). A NaN / inf training loss raises
:class:`NonFiniteLossError` at once, leaving the last good checkpoint on disk.

Under ``torchrun`` the clocks of the processes differ a little, and a process that stopped
one step before the others would leave them waiting in DDP's gradient all-reduce forever. So
the check reduces the elapsed minutes over all processes (their maximum) each time
SpeechBrain asks, which every process does at the same points (before each batch, at epoch
ends): all of them see one clock and stop at the same step. ``training_minutes`` then
returns that shared clock, so anything scheduled on it (a learning rate following the
budget) is the same on every process.
"""

import logging
import time

import torch
from speechbrain.utils.distributed import ddp_prevent_block, is_distributed_initialized

from audiodiff.training.distributed import max_across_processes

logger = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
    """Raised when the training loss is NaN or infinite (training stops)."""


class TrainingBudgetMixin:
    """``max_train_minutes`` wall-clock budget and non-finite-loss stop for a Brain."""

    def on_fit_start(self):
        """Recover the last checkpoint (SpeechBrain) and start the training clock."""
        if isinstance(self.optimizer_step_limit, str):  # SpeechBrain's parser leaves it a str
            self.optimizer_step_limit = int(self.optimizer_step_limit)
        super().on_fit_start()
        self._fit_start_time = time.time()
        self._shared_minutes = 0.0

    def _local_minutes(self):
        start = getattr(self, "_fit_start_time", None)
        return 0.0 if start is None else (time.time() - start) / 60

    def training_minutes(self):
        """Minutes since ``on_fit_start`` (0.0 before it); under ``torchrun``, the clock all
        processes agreed on at the last budget check."""
        if is_distributed_initialized() and hasattr(self, "_shared_minutes"):
            return self._shared_minutes
        return self._local_minutes()

    def check_loss_isfinite(self, loss):
        """Stop at once on a NaN/inf loss: the last good checkpoint stays on disk."""
        if not torch.isfinite(loss):
            ckpt_dir = getattr(self.checkpointer, "checkpoints_dir", None)
            raise NonFiniteLossError(
                f"training loss became {float(loss)} (step {self.optimizer_step}); stopped. "
                f"The last good checkpoint is kept in {ckpt_dir}. "
                "Try a lower --lr or --precision fp32."
            )

    def _budget_reached(self):
        """True once ``max_train_minutes`` have passed, on every process at the same call."""
        budget = getattr(self.hparams, "max_train_minutes", None)
        if not budget or getattr(self, "_fit_start_time", None) is None:
            return False
        if getattr(self, "_budget_logged", False):
            return True  # decided (on every process at once): no more communication
        minutes = self._local_minutes()
        if is_distributed_initialized():
            if ddp_prevent_block():  # inside run_on_main: no collective, the decision waits
                return False
            minutes = max_across_processes(minutes, self.device)
            self._shared_minutes = minutes
        if minutes <= budget:
            return False
        logger.info(f"Training-time budget of {budget} min reached: stopping.")
        self._budget_logged = True
        return True

    @property
    def _optimizer_step_limit_exceeded(self):
        """True once ``optimizer_step_limit`` or ``max_train_minutes`` is reached."""
        return self._budget_reached() or super()._optimizer_step_limit_exceeded
