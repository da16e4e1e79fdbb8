"""Shared pytest fixtures and paths."""

import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLED_FSDD = os.path.join(REPO, "bundled_data", "fsdd")


@pytest.fixture(scope="session")
def repo_root():
    """Absolute path of the repository root."""
    return REPO
