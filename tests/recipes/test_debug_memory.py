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


CONCURRENT = 3  # the runs are small and mostly single-threaded Python: three at a time


def command(tmp_path, recipe, hparams, flags):
    out = tmp_path / recipe.replace("/", "_") / os.path.basename(hparams)
    return [
        sys.executable,
        RUN_CAPPED,
        str(ADDRESS_SPACE_CAP_GIB),
        "train.py",
        hparams,
        "--debug",
        "--output_folder",
        str(out),
        "--noprogressbar",
        *flags,
    ]


@pytest.fixture(scope="module")
def debug_runs(tmp_path_factory):
    """Every default YAML's ``--debug`` run, CONCURRENT at a time (one thread each): the
    returncode, stderr and wall seconds of each, keyed like the parametrized test."""
    tmp_path = tmp_path_factory.mktemp("debug_memory")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    pending, running, results = list(RECIPES), [], {}
    while pending or running:
        while pending and len(running) < CONCURRENT:
            recipe, hparams, flags = pending.pop(0)
            proc = subprocess.Popen(
                command(tmp_path, recipe, hparams, flags),
                cwd=os.path.join(REPO, "recipes", recipe),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            running.append(((recipe, hparams), proc, time.time()))
        key, proc, start = running.pop(0)
        try:
            _, stderr = proc.communicate(timeout=900)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
        results[key] = (proc.returncode, stderr, time.time() - start)
    return results


@pytest.mark.parametrize(
    "recipe, hparams, flags", RECIPES, ids=[f"{r}:{os.path.basename(h)}" for r, h, _ in RECIPES]
)
def test_default_size_debug_run_fits_a_small_machine(debug_runs, recipe, hparams, flags):
    returncode, stderr, seconds = debug_runs[(recipe, hparams)]
    assert returncode == 0, stderr[-3000:]
    peak = int(re.findall(r"PEAK_RSS_MIB=(\d+)", stderr)[-1])
    print(f"{recipe} {hparams}: peak RSS {peak} MiB, {seconds:.0f} s")
    assert 100 < peak < PEAK_RSS_BOUND_MIB, f"peak RSS {peak} MiB"
