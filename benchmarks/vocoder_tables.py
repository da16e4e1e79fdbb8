"""Helpers shared by the vocoder summaries (``summarize_vocoder_run.py`` for a GPU run,
``summarize_cpu_vocoder.py`` for a CPU comparison): reading a stage's json and an experiment's
training logs."""

import json
import os
import re

TRAINING_PATTERNS = (
    ("params", r"vocoder \(\w+\): ([\d,]+) params"),
    ("prior", r"Noise prior fitted on .*?: (.*)"),
)
"""(key, regex) pairs read from an experiment's ``log.txt``: its size and fitted prior."""


def load_json(path):
    """The json at ``path``, or None where it is missing or unreadable (a failed stage)."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def training_info(folder, log_patterns=(), hyper_keys=()):
    """What an experiment folder's logs say about its training.

    Arguments
    ---------
    folder : str
        An experiment folder written by ``recipes/LJSpeech/vocoder/train.py``.
    log_patterns : sequence of (str, str)
        More (key, regex) pairs to read from ``log.txt``, after :data:`TRAINING_PATTERNS`.
    hyper_keys : sequence of str
        Top-level keys of ``hyperparams.yaml`` to report (their values, comments cut).

    Returns
    -------
    dict
        ``last_epoch`` (the last epoch line of ``train_log.txt``), then each pattern's last
        match and each hyperparameter found; what is missing is left out.
    """
    info = {}
    log = os.path.join(folder, "train_log.txt")
    if os.path.isfile(log):
        epochs = [line.strip() for line in open(log) if line.startswith("epoch:")]
        if epochs:
            info["last_epoch"] = epochs[-1]
    text = (
        open(os.path.join(folder, "log.txt")).read()
        if os.path.isfile(os.path.join(folder, "log.txt"))
        else ""
    )
    for key, pattern in (*TRAINING_PATTERNS, *log_patterns):
        found = re.findall(pattern, text)
        if found:
            info[key] = found[-1]
    hyper = os.path.join(folder, "hyperparams.yaml")
    if hyper_keys and os.path.isfile(hyper):
        hyper_text = open(hyper).read()
        for key in hyper_keys:
            found = re.findall(rf"^{key}: (.*)$", hyper_text, flags=re.M)
            if found:
                info[key] = found[0].split("#")[0].strip()
    return info
