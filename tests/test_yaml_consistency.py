"""Recipe hygiene: every hparams key is used, and every hparams file loads."""

import glob
import os
import re

import pytest
from hyperpyyaml import load_hyperpyyaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
YAMLS = sorted(glob.glob(os.path.join(REPO, "recipes", "**", "hparams", "*.yaml"), recursive=True))
# Keys SpeechBrain reads itself (run options) or that hyperpyyaml runs for their side effect.
SPEECHBRAIN_KEYS = {"precision", "eval_precision", "max_grad_norm", "noprogressbar"}
KEY_RE = re.compile(r"^([A-Za-z_]\w*):", re.MULTILINE)


def recipe_code(yaml_path):
    """Text of the recipe's scripts and of the library code that reads hparams."""
    recipe = os.path.dirname(os.path.dirname(yaml_path))
    files = glob.glob(os.path.join(recipe, "*.py"))
    files += glob.glob(os.path.join(REPO, "audiodiff", "training", "*.py"))
    files += glob.glob(os.path.join(REPO, "audiodiff", "inference", "*.py"))
    return "\n".join(open(f, encoding="utf-8").read() for f in files)


def test_recipes_have_hparams():
    assert YAMLS, "no recipe hparams found"


@pytest.mark.parametrize("yaml_path", YAMLS, ids=lambda p: os.path.relpath(p, REPO))
def test_every_key_is_used(yaml_path):
    text = open(yaml_path, encoding="utf-8").read()
    code = recipe_code(yaml_path)
    unused = []
    for key in KEY_RE.findall(text):
        if key.startswith("__") or key in SPEECHBRAIN_KEYS:
            continue
        referenced = f"<{key}>" in text or f"<{key}[" in text
        in_code = re.search(rf"\b{key}\b", code) is not None
        if not (referenced or in_code):
            unused.append(key)
    assert not unused, f"keys never used by {yaml_path}: {unused}"


@pytest.mark.parametrize("yaml_path", YAMLS, ids=lambda p: os.path.relpath(p, REPO))
def test_hparams_load(yaml_path, tmp_path):
    with open(yaml_path, encoding="utf-8") as f:
        hparams = load_hyperpyyaml(f, {"output_folder": str(tmp_path)})
    assert "modules" in hparams and "model" in hparams["modules"]
