"""Training guards for any ``speechbrain.Brain``: a wall-clock budget that survives a resume,
half-written checkpoints set aside, and a stop on NaN loss.

``TrainingBudgetMixin`` goes before ``speechbrain.Brain`` in a subclass's bases. It reads the
optional hparam ``max_train_minutes``: once that many minutes of training have passed (this
run and the checkpointed runs before it: :class:`TrainingClock` is a recoverable), SpeechBrain's
step-limit check reports the limit reached and the epoch loop ends (after the current epoch's
validation and checkpoint). Before recovery, checkpoints a kill left half-written are renamed
``incomplete-CKPT+...`` (:func:`set_aside_incomplete_checkpoints`). A NaN / inf training loss
raises :class:`NonFiniteLossError` at once, leaving the last good checkpoint on disk.
"""

import json
import logging
import os
import time
import zipfile

import torch
from speechbrain.utils.checkpoints import (
    mark_as_loader,
    mark_as_saver,
    register_checkpoint_hooks,
)

logger = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
    """Raised when the training loss is NaN or infinite (training stops)."""


@register_checkpoint_hooks
class TrainingClock:
    """Minutes of training so far, kept in checkpoints so that a resumed run continues the
    ``max_train_minutes`` budget (and the logged minutes) instead of starting a new one.

    Example
    -------
    >>> import tempfile
    >>> clock = TrainingClock()
    >>> clock.start = time.time() - 90
    >>> path = os.path.join(tempfile.mkdtemp(), "clock.json")
    >>> clock._save(path)
    >>> resumed = TrainingClock()
    >>> resumed._load(path)
    >>> round(resumed.minutes(), 1)
    1.5
    """

    def __init__(self):
        self.start = time.time()

    def minutes(self):
        """Minutes of training, this run and the checkpointed runs before it."""
        return (time.time() - self.start) / 60

    @mark_as_saver
    def _save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"minutes": self.minutes()}, f)

    @mark_as_loader
    def _load(self, path, end_of_epoch=True):
        del end_of_epoch
        with open(path, encoding="utf-8") as f:
            self.start = time.time() - 60 * float(json.load(f)["minutes"])


def set_aside_incomplete_checkpoints(checkpointer, required=()):
    """Rename checkpoints that a kill left half-written, so that recovery skips them.

    SpeechBrain writes a checkpoint's ``CKPT.yaml`` first, then one file per recoverable: a
    process killed while saving leaves a folder that looks like the newest checkpoint but
    misses files, or holds a truncated ``torch.save`` file (an incomplete zip). Such folders
    are renamed ``incomplete-CKPT+...`` (kept for inspection, no longer listed).

    Arguments
    ---------
    checkpointer : speechbrain.utils.checkpoints.Checkpointer
        Its non-optional recoverables must each have a file in a complete checkpoint.
    required : iterable of str
        More recoverable names every complete checkpoint holds (e.g. ``optimizer``, which
        SpeechBrain registers only when fitting starts).

    Returns
    -------
    list of str
        The folders set aside.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain.utils.checkpoints import Checkpointer
    >>> ckpts = Checkpointer(tempfile.mkdtemp(), {"net": torch.nn.Linear(1, 1)})
    >>> good = ckpts.save_checkpoint()
    >>> bad = ckpts.save_checkpoint()
    >>> with open(bad.paramfiles["net"], "r+b") as f:
    ...     _ = f.truncate(100)  # as if killed while writing
    >>> [os.path.basename(p)[:15] for p in set_aside_incomplete_checkpoints(ckpts)]
    ['incomplete-CKPT']
    >>> ckpts.find_checkpoint().path == good.path
    True
    """
    optional = checkpointer.optional_recoverables
    names = {n for n in checkpointer.recoverables if not optional.get(n, False)}
    names |= set(required)
    moved = []
    for ckpt in checkpointer.list_checkpoints():
        missing = names - set(ckpt.paramfiles)
        broken = [p for p in ckpt.paramfiles.values() if not _complete_file(p)]
        if missing or broken:
            target = ckpt.path.with_name(f"incomplete-{ckpt.path.name}")
            os.replace(ckpt.path, target)
            what = f"missing {sorted(missing)}" if missing else f"truncated {broken[0].name}"
            logger.warning(f"Checkpoint {ckpt.path} is incomplete ({what}): moved to {target}")
            moved.append(str(target))
    return moved


def _complete_file(path):
    """False for an empty file or a truncated ``torch.save`` zip."""
    with open(path, "rb") as f:
        head = f.read(4)
    if not head:
        return False
    return zipfile.is_zipfile(path) if head.startswith(b"PK") else True


class TrainingBudgetMixin:
    """``max_train_minutes`` budget (kept across resumes), half-written checkpoints set aside,
    and a non-finite-loss stop, for a Brain."""

    def on_fit_start(self):
        """Start the training clock (a recoverable: a resumed run continues its budget), set
        half-written checkpoints aside, then recover the last checkpoint (SpeechBrain)."""
        self.train_clock = TrainingClock()
        if self.checkpointer is not None:
            self.checkpointer.add_recoverable("train_clock", self.train_clock, optional_load=True)
            required = ["optimizer"] if self.opt_class is not None else []
            set_aside_incomplete_checkpoints(self.checkpointer, required)
        super().on_fit_start()

    def training_minutes(self):
        """Minutes of training, this run and the checkpointed ones (0.0 before fitting)."""
        clock = getattr(self, "train_clock", None)
        return 0.0 if clock is None else clock.minutes()

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
        if (
            budget
            and getattr(self, "train_clock", None) is not None
            and self.training_minutes() > budget
        ):
            if not getattr(self, "_budget_logged", False):
                logger.info(
                    f"Training-time budget of {budget} min reached after "
                    f"{self.optimizer_step} optimizer steps: stopping."
                )
                self._budget_logged = True
            return True
        return super()._optimizer_step_limit_exceeded
