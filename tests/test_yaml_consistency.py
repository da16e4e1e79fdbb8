"""Recipe hygiene: every hparams key is used, every hparams file and shared fragment loads, and
a shared key overridden on the command line reaches the object built from it."""

import glob
import os
import re

import pytest
import speechbrain as sb
from hyperpyyaml import load_hyperpyyaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
YAMLS = sorted(glob.glob(os.path.join(REPO, "recipes", "**", "hparams", "*.yaml"), recursive=True))
FRAGMENTS = sorted(glob.glob(os.path.join(REPO, "hparams_shared", "*.yaml")))
# Keys SpeechBrain reads itself (run options) or that hyperpyyaml runs for their side effect.
SPEECHBRAIN_KEYS = {
    "precision",
    "eval_precision",
    "max_grad_norm",
    "noprogressbar",
    "ckpt_interval_minutes",
    "ckpt_interval_steps",
}
KEY_RE = re.compile(r"^([A-Za-z_]\w*):", re.MULTILINE)
# `alias: !include:path` followed by its indented override mapping
INCLUDE_RE = re.compile(r"^(\w+): !include:(\S+)\n((?:    .*\n?)*)", re.MULTILINE)
OVERRIDE_KEY_RE = re.compile(r"^    (\w+):", re.MULTILINE)

# For each shared fragment: (command-line override, how to read the value off the built hparams)
SHARED_OVERRIDES = {
    "mel_16k.yaml": [
        ("--n_mels=40", lambda h: h["mel"].n_mels, 40),
        ("--hop_length=128", lambda h: h["mel"].hop_length, 128),
    ],
    "mel_22k.yaml": [
        ("--n_mels=40", lambda h: h["mel"].n_mels, 40),
        ("--hop_length=128", lambda h: h["mel"].hop_length, 128),
    ],
    "diffusion.yaml": [("--num_diffusion_steps=7", lambda h: h["schedule"].num_steps, 7)],
    "training.yaml": [
        ("--lr=0.123", lambda h: h["opt_class"].keywords["lr"], 0.123),
        ("--number_of_epochs=3", lambda h: h["epoch_counter"].limit, 3),
        ("--batch_size=5", lambda h: h["train_dataloader_opts"]["batch_size"], 5),
    ],
}


def recipe_code(yaml_path):
    """Text of the recipe's scripts and of the library code that reads hparams."""
    recipe = os.path.dirname(os.path.dirname(yaml_path))
    files = glob.glob(os.path.join(recipe, "*.py"))
    files += glob.glob(os.path.join(REPO, "audiodiff", "training", "*.py"))
    files += glob.glob(os.path.join(REPO, "audiodiff", "inference", "*.py"))
    return "\n".join(open(f, encoding="utf-8").read() for f in files)


def includes(yaml_path):
    """``[(alias, fragment path, [override keys])]`` of the ``!include:`` entries of a YAML."""
    text = open(yaml_path, encoding="utf-8").read()
    found = []
    for alias, path, body in INCLUDE_RE.findall(text):
        fragment = os.path.normpath(os.path.join(os.path.dirname(yaml_path), path))
        found.append((alias, fragment, OVERRIDE_KEY_RE.findall(body)))
    return found


def top_keys(path):
    return KEY_RE.findall(open(path, encoding="utf-8").read())


def test_recipes_have_hparams():
    assert YAMLS, "no recipe hparams found"
    assert FRAGMENTS, "no shared fragments found"


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


@pytest.mark.parametrize("fragment", FRAGMENTS, ids=os.path.basename)
def test_fragment_loads_alone(fragment):
    with open(fragment, encoding="utf-8") as f:
        hparams = load_hyperpyyaml(f)
    assert set(top_keys(fragment)) <= set(hparams)


@pytest.mark.parametrize("fragment", FRAGMENTS, ids=os.path.basename)
def test_every_fragment_key_is_used(fragment):
    """A fragment key is an input (referenced inside the fragment) or an output some recipe
    reads (``<alias[key]>``)."""
    text = open(fragment, encoding="utf-8").read()
    recipes = "\n".join(open(p, encoding="utf-8").read() for p in YAMLS)
    unused = [
        k
        for k in top_keys(fragment)
        if f"<{k}>" not in text and not re.search(rf"<\w+\[{k}\]>", recipes)
    ]
    assert not unused, f"keys of {fragment} that nothing uses: {unused}"


@pytest.mark.parametrize("yaml_path", YAMLS, ids=lambda p: os.path.relpath(p, REPO))
def test_include_overrides_name_fragment_keys(yaml_path):
    """hyperpyyaml ignores an include override that names no key of the fragment (a typo
    would silently keep the default): every one must exist there."""
    for alias, fragment, keys in includes(yaml_path):
        assert os.path.isfile(fragment), f"{alias}: no fragment {fragment}"
        unknown = set(keys) - set(top_keys(fragment))
        assert not unknown, f"{alias} passes keys {fragment} does not have: {sorted(unknown)}"


CASES = [
    (yaml_path, override, read, expected)
    for yaml_path in YAMLS
    for _, fragment, keys in includes(yaml_path)
    for override, read, expected in SHARED_OVERRIDES.get(os.path.basename(fragment), [])
    if override[2:].split("=")[0] in keys  # only keys the recipe exposes at the top level
]


@pytest.mark.parametrize(
    "yaml_path, override, read, expected",
    CASES,
    ids=[f"{os.path.relpath(c[0], REPO)}:{c[1]}" for c in CASES],
)
def test_shared_key_override_reaches_object(yaml_path, override, read, expected, tmp_path):
    """``python train.py hparams/x.yaml --n_mels=40`` changes the object the fragment builds."""
    _, _, overrides = sb.parse_arguments([yaml_path, override, f"--output_folder={tmp_path}"])
    with open(yaml_path, encoding="utf-8") as f:
        hparams = load_hyperpyyaml(f, overrides)
    assert read(hparams) == expected


def test_every_recipe_uses_shared_fragments():
    for yaml_path in YAMLS:
        used = {os.path.basename(fragment) for _, fragment, _ in includes(yaml_path)}
        assert "training.yaml" in used, f"{yaml_path} does not include training.yaml"


def test_override_cases_cover_every_recipe():
    covered = {c[0] for c in CASES}
    assert covered == set(YAMLS)
