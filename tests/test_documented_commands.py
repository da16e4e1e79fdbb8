"""Every ``python train.py hparams/X.yaml --key value ...`` command in a recipe's README
passes the command-line checks of ``audiodiff.training.hparams`` (known keys, the file's
types), so the documented commands cannot rot into one-line errors."""

import glob
import os
import re
import shlex

import pytest

from audiodiff.training.hparams import parse_overrides

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
READMES = sorted(glob.glob(os.path.join(REPO, "recipes", "*", "*", "README.md")))
BLOCK_RE = re.compile(r"```(?:bash|sh)?\n(.*?)```", re.DOTALL)


def documented_commands(readme):
    """``[argv after train.py]`` of each train.py command in the README's code blocks."""
    found = []
    for block in BLOCK_RE.findall(open(readme, encoding="utf-8").read()):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#")[0] if not line.lstrip().startswith("#") else ""
            if "train.py hparams/" not in line or "$" in line:
                continue
            words = shlex.split(line[line.index("train.py") :])
            for stop in ("&&", "|", ">", ";"):
                words = words[: words.index(stop)] if stop in words else words
            found.append(words[1:])
    return found


CASES = [(readme, argv) for readme in READMES for argv in documented_commands(readme)]


def test_readmes_document_commands():
    assert len(CASES) > 20


@pytest.mark.parametrize(
    "readme, argv", CASES, ids=[f"{os.path.relpath(r, REPO)}:{' '.join(a)[:60]}" for r, a in CASES]
)
def test_documented_command_passes_the_checks(readme, argv, monkeypatch):
    monkeypatch.chdir(os.path.dirname(readme))
    parse_overrides(argv)
