"""Whether a process is an xdist worker, asked one way: by pytest's config where there is
one (a worker's carries the controller's input), else by the variable xdist sets."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from rest_checks.xdist_worker import (
    WORKER_VARIABLE,
    is_xdist_worker,
    worker_input,
    worker_share,
)


def worker_config(workerid: str = "gw3", workercount: int = 5, **more: Any) -> SimpleNamespace:
    return SimpleNamespace(workerinput={"workerid": workerid, "workercount": workercount, **more})


def test_a_workers_config_carries_the_controllers_input() -> None:
    config = worker_config(rest_items="[]")
    assert is_xdist_worker(config)
    assert worker_input(config) == {"workerid": "gw3", "workercount": 5, "rest_items": "[]"}
    assert worker_share(config) == (3, 5)
    assert worker_share(worker_config("gw12", 16)) == (12, 16)


def test_a_config_without_worker_input_is_no_workers_even_inside_a_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A pytest run started inside a worker (pytester) inherits the variable, yet its own
    # config is a controller's or a single process's.
    monkeypatch.setenv(WORKER_VARIABLE, "gw0")
    config = SimpleNamespace(option=None)
    assert not is_xdist_worker(config)
    assert worker_input(config) is None
    assert worker_share(config) is None


@pytest.mark.parametrize(("value", "expected"), [("gw1", True), ("", False), (None, False)])
def test_without_a_config_the_variable_xdist_sets_decides(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: bool
) -> None:
    if value is None:
        monkeypatch.delenv(WORKER_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(WORKER_VARIABLE, value)
    assert is_xdist_worker() is expected


def test_the_package_asks_only_through_the_helper() -> None:
    """No other module of the package reads xdist's marks itself."""
    from pathlib import Path

    import rest_checks

    package = Path(rest_checks.__file__).parent
    marks = ("workerinput", WORKER_VARIABLE)
    readers = {
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        for line in path.read_text(encoding="utf-8").splitlines()
        if any(mark in line for mark in marks)
        # The plugin hands a starting worker its input (the controller's side).
        and "node.workerinput[" not in line
    }
    assert readers == {"xdist_worker.py"}
