"""Every recipe's default hparams file runs ``--debug`` on a small machine (CPU, 2 cores):
under a 16 GiB address-space cap, with a peak resident memory below 4 GiB (the issue's
machine has 24 GiB; the SC09 recipe at the paper's size needed about 55 GiB here).

Each run is the README's command with ``--debug`` and nothing else but an output folder: the
defaults are CPU-sized (each recipe's README gives its GPU / paper size).
"""

import os
import re
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN_CAPPED = os.path.join(REPO, "tests", "recipes", "run_capped.py")
ADDRESS_SPACE_CAP_GIB = 16  # torch reserves a few GiB of address space it never touches
PEAK_RSS_BOUND_MIB = 4096

RECIPES = [
    ("AudioMNIST/diffusion", "hparams/train.yaml", ["--digit_conditioned", "true"]),
    ("AudioMNIST/diffusion", "hparams/train_latent.yaml", ["--digit_conditioned", "true"]),
    ("AudioMNIST/classifier", "hparams/train.yaml", []),
    ("SC09/diffwave", "hparams/diffwave.yaml", ["--digit_conditioned", "true"]),
    ("SC09/diffwave", "hparams/sashimi.yaml", []),
]


@pytest.mark.parametrize(
    "recipe, hparams, flags", RECIPES, ids=[f"{r}:{os.path.basename(h)}" for r, h, _ in RECIPES]
)
def test_default_size_debug_run_fits_a_small_machine(tmp_path, recipe, hparams, flags):
    start = time.time()
    proc = subprocess.run(
        [
            sys.executable,
            RUN_CAPPED,
            str(ADDRESS_SPACE_CAP_GIB),
            "train.py",
            hparams,
            "--debug",
            "--output_folder",
            str(tmp_path / "exp"),
            "--noprogressbar",
            *flags,
        ],
        cwd=os.path.join(REPO, "recipes", recipe),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    peak = int(re.findall(r"PEAK_RSS_MIB=(\d+)", proc.stderr)[-1])
    print(f"{recipe} {hparams}: peak RSS {peak} MiB, {time.time() - start:.0f} s")
    assert 100 < peak < PEAK_RSS_BOUND_MIB, f"peak RSS {peak} MiB"
