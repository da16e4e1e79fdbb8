"""Training guards for any ``speechbrain.Brain``: a wall-clock budget and a stop on NaN loss.

``TrainingBudgetMixin`` goes before ``speechbrain.Brain`` in a subclass's bases. It reads the
optional hparam ``max_train_minutes``: once that much time has passed since ``on_fit_start``,
SpeechBrain's step-limit check reports the limit reached and the epoch loop ends (after the
current epoch's validation and checkpoint). A NaN / inf training loss raises
:class:`NonFiniteLossError` at once, leaving the last good checkpoint on disk.
"""

import logging
import time

import torch

logger = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
    """Raised when the training loss is NaN or infinite (training stops)."""


class TrainingBudgetMixin:
    """``max_train_minutes`` wall-clock budget and non-finite-loss stop for a Brain."""

    def on_fit_start(self):
        """Recover the last checkpoint (SpeechBrain) and start the training clock."""
        super().on_fit_start()
        self._fit_start_time = time.time()

    def training_minutes(self):
        """Minutes since ``on_fit_start`` (0.0 before it)."""
        start = getattr(self, "_fit_start_time", None)
        return 0.0 if start is None else (time.time() - start) / 60

    def check_loss_isfinite(self, loss):
        """Stop at once on a NaN/inf loss: the last good checkpoint stays on disk."""
        if not torch.isfinite(loss):
            ckpt_dir = getattr(self.checkpointer, "checkpoints_dir", None)
            raise NonFiniteLossError(
                f"training loss became {float(loss)} (step {self.optimizer_step}); stopped. "
                f"The last good checkpoint is kept in {ckpt_dir}. "
                "Try a lower --lr or --precision fp32."
            )

    @property
    def _optimizer_step_limit_exceeded(self):
        """True once ``optimizer_step_limit`` or ``max_train_minutes`` is reached."""
        budget = getattr(self.hparams, "max_train_minutes", None)
        start = getattr(self, "_fit_start_time", None)
        if budget and start is not None and time.time() - start > 60 * budget:
            if not getattr(self, "_budget_logged", False):
                logger.info(f"Training-time budget of {budget} min reached: stopping.")
                self._budget_logged = True
            return True
        return super()._optimizer_step_limit_exceeded
