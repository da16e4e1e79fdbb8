"""A trained experiment folder read for inference: its hyperparameters (without the objects
that write files at training time), its checkpoint folder, and the caller's random state kept.

Every ``from_hparams`` of ``audiodiff.inference`` starts here, so they all refuse a wrong
folder with the same one-line errors.
"""

import contextlib
import glob
import os
import random
import re

import numpy as np
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.checkpoints import Checkpointer

# Keys of a training hparams file that inference must not instantiate (they write files).
_TRAINING_ONLY = ("checkpointer", "ae_checkpointer", "train_logger")
_TOP_KEY = re.compile(r"^([A-Za-z_]\w*):", re.MULTILINE)


@contextlib.contextmanager
def preserved_rng():
    """Restores the Python, NumPy and torch (CPU and CUDA) random states on exit.

    Example
    -------
    >>> state = torch.random.get_rng_state()
    >>> with preserved_rng():
    ...     _ = torch.manual_seed(123)
    >>> torch.equal(torch.random.get_rng_state(), state)
    True
    """
    python_state, numpy_state = random.getstate(), np.random.get_state()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)


def read_experiment_hparams(
    source,
    example="results/digit_diffusion/1986",
    kind="an experiment folder",
    writer="that train.py",
    keep_rng=False,
):
    """The hyperparameters of an experiment folder (its ``hyperparams.yaml``), built for
    inference: the keys that write files at training time (checkpointer, train logger) are
    left out, and no checkpoint is loaded (see :func:`checkpoint_folder`).

    Arguments
    ---------
    source : str or os.PathLike
        The folder written by a recipe's ``train.py``.
    example : str or None
        An experiment folder of the caller's kind, named in the error message.
    kind : str
        What the folder should be, in the error message ("a vocoder experiment folder").
    writer : str
        Who writes such folders, in the error message.
    keep_rng : bool
        Restore the caller's random state afterwards (a recipe's YAML seeds every generator).

    Returns
    -------
    dict
        The loaded hyperparameters (modules freshly initialised).

    Raises
    ------
    FileNotFoundError
        ``source`` holds no ``hyperparams.yaml`` (a one-line message).

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "hyperparams.yaml"), "w") as f:
    ...     _ = f.write("n: 3\\ncheckpointer: !new:builtins.open [/nonexistent]\\n")
    >>> read_experiment_hparams(folder)
    {'n': 3, 'checkpointer': None}
    """
    source = os.fspath(source)
    hparams_path = os.path.join(source, "hyperparams.yaml")
    if not os.path.isfile(hparams_path):
        hint = f", e.g. {example}" if example else ""
        raise FileNotFoundError(
            f"{source} is not {kind}: no hyperparams.yaml in it (pass the folder {writer} "
            f"wrote{hint})"
        )
    with open(hparams_path, encoding="utf-8") as f:
        text = f.read()
    present = set(_TOP_KEY.findall(text))
    overrides = {k: None for k in _TRAINING_ONLY if k in present}
    with preserved_rng() if keep_rng else contextlib.nullcontext():
        return load_hyperpyyaml(text, overrides)


def checkpoint_folder(source, checkpoint=None, train="train first"):
    """``source/save``, checked to hold a checkpoint unless one is named.

    Arguments
    ---------
    source : str or os.PathLike
        The experiment folder.
    checkpoint : str, optional
        A checkpoint the caller names (``CKPT+...``); then no check here.
    train : str
        What to do, in the error message ("train the speaker encoder first").

    Returns
    -------
    str

    Raises
    ------
    FileNotFoundError
        No ``CKPT+*`` in ``source/save`` (a one-line message).

    Example
    -------
    >>> import tempfile
    >>> checkpoint_folder(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: no checkpoint in .../save: train first (with --debug, add ...
    """
    save_dir = os.path.join(os.fspath(source), "save")
    if checkpoint is None and not glob.glob(os.path.join(save_dir, "CKPT+*")):
        raise FileNotFoundError(
            f"no checkpoint in {save_dir}: {train} (with --debug, add --debug_persistently "
            "so the checkpoint is kept)"
        )
    return save_dir


def load_module_experiment(exp_dir, key, kind, writer, train):
    """The hyperparameters of an experiment folder that trains one module, with that module
    (``hparams[key]``) restored from the newest checkpoint; the caller's random state kept.

    Arguments
    ---------
    exp_dir : str or os.PathLike
        The experiment folder (``hyperparams.yaml`` + ``save/CKPT+*``).
    key : str
        The module's hparams key, also its name in the checkpoint (``"model"``).
    kind, writer : str
        What the folder is and which recipe writes it (for :func:`read_experiment_hparams`'s
        error message).
    train : str
        What to do when there is no checkpoint (for :func:`checkpoint_folder`'s message).

    Returns
    -------
    dict
        The hyperparameters; ``hparams[key]`` holds the restored weights.

    Raises
    ------
    FileNotFoundError
        No ``hyperparams.yaml`` or no checkpoint (one-line messages).

    Example
    -------
    >>> import tempfile
    >>> load_module_experiment(tempfile.mkdtemp(), "model", "a folder", "train.py", "train it")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: ...
    """
    source = os.path.abspath(os.fspath(exp_dir))
    hparams = read_experiment_hparams(source, example=None, kind=kind, writer=writer, keep_rng=True)
    save_dir = checkpoint_folder(source, train=train)
    Checkpointer(save_dir, recoverables={key: hparams[key]}).recover_if_possible()
    return hparams
