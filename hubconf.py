"""torch.hub entry points: load models trained with the audiodiff recipes from a local folder.

Nothing is downloaded: pass the experiment folder that the recipe wrote (it holds
``hyperparams.yaml``, ``labels.json`` and ``save/CKPT+*``). ``torch.hub.load`` takes its own
``source`` keyword ("github" / "local"), so give the folder as the first positional argument::

    import torch
    model = torch.hub.load("path/to/audiodiff", "diffwave_sc09",
                           "results/sc09_diffwave/1986", source="local")
    audio = model.unconditional_generate(N=3)  # tensor (3, 16000): 1 s clips at 16 kHz

or, without torch.hub: ``from hubconf import diffwave_sc09; diffwave_sc09("results/...")``.
"""

import os

dependencies = ["torch", "torchaudio", "speechbrain", "hyperpyyaml"]

_TRAIN_HINT = (
    "train one with `python train.py hparams/{yaml}` in recipes/SC09/diffwave (add "
    "--debug --debug_persistently for a quick test) and pass its output folder, e.g. "
    "results/{experiment}/1986"
)


def _load(source, device, backbone, yaml, experiment, entry):
    """Load a :class:`audiodiff.inference.WaveformGenerator` whose model is ``backbone``."""
    hint = _TRAIN_HINT.format(yaml=yaml, experiment=experiment)
    if source is None:
        raise ValueError(f"{entry} loads a local experiment folder: pass it as `source`; {hint}")
    if not os.path.isfile(os.path.join(source, "hyperparams.yaml")):
        raise FileNotFoundError(
            f"{entry}: '{source}' is not an experiment folder (no hyperparams.yaml); {hint}"
        )
    from audiodiff.inference import WaveformGenerator

    generator = WaveformGenerator.from_hparams(source, device=device)
    found = type(generator.modules["model"]).__name__
    if found != backbone:
        raise ValueError(f"{entry}: '{source}' holds a {found} model, not a {backbone}")
    return generator


def diffwave_sc09(source=None, device=None):
    """DiffWave trained on 1 s spoken digits (SC09 or FSDD), from a local experiment folder.

    Arguments
    ---------
    source : str
        Folder written by ``recipes/SC09/diffwave/train.py hparams/diffwave.yaml``.
    device : str, optional
        "cpu" or "cuda" (default: cuda when available).

    Returns
    -------
    audiodiff.inference.WaveformGenerator
        ``.unconditional_generate(N)`` -> (N, 16000); ``.generate(digits=[7], num=2)``.
    """
    return _load(source, device, "DiffWave", "diffwave.yaml", "sc09_diffwave", "diffwave_sc09")


def sashimi_sc09(source=None, device=None):
    """SaShiMi (+ DiffWave training) on 1 s spoken digits, from a local experiment folder.

    Arguments
    ---------
    source : str
        Folder written by ``recipes/SC09/diffwave/train.py hparams/sashimi.yaml``.
    device : str, optional
        "cpu" or "cuda" (default: cuda when available).

    Returns
    -------
    audiodiff.inference.WaveformGenerator
        ``.unconditional_generate(N)`` -> (N, 16000); ``.generate(digits=[7], num=2)``.
    """
    return _load(source, device, "SaShiMi", "sashimi.yaml", "sc09_sashimi", "sashimi_sc09")
