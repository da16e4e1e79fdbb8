"""Shared pytest fixtures and paths."""

import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLED_FSDD = os.path.join(REPO, "bundled_data", "fsdd")


@pytest.fixture(scope="session")
def repo_root():
    """Absolute path of the repository root."""
    return REPO


@pytest.fixture(scope="session")
def run_in_triton_interpreter():
    """A function ``run(script, marker)``: runs the Python ``script`` in a subprocess with
    ``TRITON_INTERPRET=1`` (read when triton is imported, so never in this process) and
    asserts that it exits 0 and prints ``marker``."""
    import subprocess
    import sys

    def run(script, marker):
        env = dict(os.environ, TRITON_INTERPRET="1")
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert marker in done.stdout

    return run
