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


@pytest.fixture(scope="session")
def torchrun():
    """A function ``torchrun(nproc)``: the command that starts ``nproc`` local processes with
    ``torch.distributed.run`` (torchrun) on a free port; the test is skipped when torch has no
    distributed support with the gloo backend (the CPU backend the tests use)."""
    import socket
    import sys

    import torch

    if not (torch.distributed.is_available() and torch.distributed.is_gloo_available()):
        pytest.skip("torch.distributed with the gloo backend is not available")

    def command(nproc=2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        return [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nnodes=1",
            f"--nproc_per_node={nproc}",
            "--master_addr=127.0.0.1",
            f"--master_port={port}",
        ]

    return command
