"""Fixtures shared by the harness's own tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session", autouse=True)
def checkpoint_hash_memo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The hashes of the tiny checkpoints are remembered in the test run's temporary
    directory, never in the user's cache (also for the pytest runs the tests start)."""
    name = "REST_CHECKPOINT_HASHES"
    before = os.environ.get(name)
    os.environ[name] = str(tmp_path_factory.mktemp("memo") / "checkpoint-hashes.json")
    yield
    if before is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = before
