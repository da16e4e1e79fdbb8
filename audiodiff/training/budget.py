"""Training guards for any ``speechbrain.Brain``: a wall-clock budget that survives a resume,
half-written checkpoints set aside, and a stop on NaN loss.

``TrainingBudgetMixin`` goes before ``speechbrain.Brain`` in a subclass's bases. It reads the
optional hparam ``max_train_minutes``: once that many minutes of training have passed (this
run and the checkpointed runs before it: :class:`TrainingClock` is a recoverable), SpeechBrain's
step-limit check reports the limit reached and the epoch loop ends (after the current epoch's
validation and checkpoint); SpeechBrain's ``--optimizer_step_limit N`` stops the same way
after N optimizer steps (its 1.1 parser leaves N a string: made an int here).

Time-based checkpoints: SpeechBrain's ``ckpt_interval_minutes`` saves intra-epoch checkpoints
only, on a timer it restarts at every epoch start, so epochs shorter than the interval (seconds
on a GPU) never get one. :meth:`TrainingBudgetMixin.time_checkpoint_due` is the epoch-end half:
True once ``ckpt_interval_minutes`` have passed since the last checkpoint of any kind (or since
fitting started); a Brain saves its end-of-epoch checkpoint when its own schedule says so or
when this is due, with :meth:`TrainingBudgetMixin.save_checkpoint` (which restarts that clock,
as intra-epoch saves do). A kill then loses at most about one interval plus one epoch. Before
recovery, checkpoints a kill left half-written are renamed
``incomplete-CKPT+...`` (:func:`set_aside_incomplete_checkpoints`). A NaN / inf training loss
raises :class:`NonFiniteLossError` at once, leaving the last good checkpoint on disk.

Under ``torchrun`` the clocks of the processes differ a little, and a process that stopped
one step before the others would leave them waiting in DDP's gradient all-reduce forever. So
the check reduces the elapsed minutes over all processes (their maximum) each time
SpeechBrain asks, which every process does at the same points (before each batch, at epoch
ends): all of them see one clock and stop at the same step. ``training_minutes`` then
returns that shared clock, so anything scheduled on it (a learning rate following the
budget) is the same on every process.
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
from speechbrain.utils.distributed import ddp_prevent_block, is_distributed_initialized

from audiodiff.training.distributed import max_across_processes

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


def step_limit_as_int(limit):
    """``--optimizer_step_limit`` as an int (None stays None; SpeechBrain 1.1 gives a string).

    Example
    -------
    >>> step_limit_as_int("40"), step_limit_as_int(None)
    (40, None)
    """
    if limit is None or isinstance(limit, int):
        return limit
    try:
        return int(str(limit))
    except ValueError:
        raise ValueError(f"--optimizer_step_limit expects an integer, got {limit!r}") from None


class TrainingBudgetMixin:
    """``max_train_minutes`` budget (kept across resumes), half-written checkpoints set aside,
    a non-finite-loss stop, and epoch-end checkpoints every ``ckpt_interval_minutes``
    (:meth:`time_checkpoint_due`), for a Brain."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.optimizer_step_limit = step_limit_as_int(self.optimizer_step_limit)

    def on_fit_start(self):
        """Start the training clock (a recoverable: a resumed run continues its budget), set
        half-written checkpoints aside, then recover the last checkpoint (SpeechBrain)."""
        self.train_clock = TrainingClock()
        self._shared_minutes = None
        if self.checkpointer is not None:
            self.checkpointer.add_recoverable("train_clock", self.train_clock, optional_load=True)
            required = ["optimizer"] if self.opt_class is not None else []
            set_aside_incomplete_checkpoints(self.checkpointer, required)
        super().on_fit_start()
        self._last_checkpoint_time = time.time()  # (a fresh or resumed run starts its interval)

    def time_checkpoint_due(self):
        """Whether ``ckpt_interval_minutes`` (SpeechBrain's run option; 0: off) of wall time
        have passed since the last checkpoint of any kind (or since fitting started).

        Called at epoch ends, where a Brain saves its end-of-epoch checkpoint when this or its
        own schedule (``ckpt_every``) says so. Under ``torchrun`` it is a collective (every
        process must call it at the same point: the elapsed minutes are reduced, their
        maximum taken), so every process takes the same decision.

        Returns
        -------
        bool
        """
        interval = float(getattr(self, "ckpt_interval_minutes", 0) or 0)
        if interval <= 0 or self.checkpointer is None:
            return False
        since = getattr(self, "_last_checkpoint_time", None)
        minutes = 0.0 if since is None else (time.time() - since) / 60
        if is_distributed_initialized():
            if ddp_prevent_block():  # inside run_on_main: no collective
                return False
            minutes = max_across_processes(minutes, self.device)
        return minutes >= interval

    def save_checkpoint(self, **kwargs):
        """An end-of-epoch checkpoint: ``checkpointer.save_and_keep_only(**kwargs)`` (its
        ``meta``, ``num_to_keep``, ...), restarting the interval of
        :meth:`time_checkpoint_due`. Every process calls it (SpeechBrain saves on the main
        one)."""
        self.checkpointer.save_and_keep_only(**kwargs)
        self._last_checkpoint_time = time.time()

    def _save_intra_epoch_ckpt(self):
        """SpeechBrain's ``ckpt_interval_minutes`` checkpoint, restarting the interval of
        :meth:`time_checkpoint_due` too."""
        super()._save_intra_epoch_ckpt()
        self._last_checkpoint_time = time.time()

    def _local_minutes(self):
        clock = getattr(self, "train_clock", None)
        return 0.0 if clock is None else clock.minutes()

    def training_minutes(self):
        """Minutes of training, this run and the checkpointed ones (0.0 before fitting); under
        ``torchrun``, the clock all processes agreed on at the last budget check."""
        if is_distributed_initialized() and getattr(self, "_shared_minutes", None) is not None:
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
        if not budget or getattr(self, "train_clock", None) is None:
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
        logger.info(
            f"Training-time budget of {budget} min reached after {self.optimizer_step} "
            "optimizer steps: stopping."
        )
        self._budget_logged = True
        return True

    @property
    def _optimizer_step_limit_exceeded(self):
        """True once ``optimizer_step_limit`` or ``max_train_minutes`` is reached."""
        return self._budget_reached() or super()._optimizer_step_limit_exceeded
