"""Whether this process is a pytest-xdist worker, and what its controller handed it: the
one place that asks, for the plugin and for code with no pytest config at hand."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

# Set by pytest-xdist in each worker process, to the worker's id (``gw0``, ``gw1`` ...),
# and to how many workers the run has.
WORKER_VARIABLE = "PYTEST_XDIST_WORKER"
WORKER_COUNT_VARIABLE = "PYTEST_XDIST_WORKER_COUNT"


def worker_input(config: object) -> Mapping[str, Any] | None:
    """What the xdist controller handed this worker (``workerid``, ``workercount``, and
    what the plugin adds: the run's items ...); None when ``config`` is not a worker's."""
    return getattr(config, "workerinput", None)


def is_xdist_worker(config: object | None = None) -> bool:
    """Whether this process is a pytest-xdist worker. Given pytest's ``config``, as xdist
    marks it (right also for a pytest run started inside a worker, as ``pytester`` does,
    whose own config is no worker's); without one (a model backend, which has none), by
    the variable xdist sets in every worker process."""
    if config is None:
        return bool(os.environ.get(WORKER_VARIABLE))
    return worker_input(config) is not None


def xdist_worker_count() -> int:
    """How many processes of the run run tests: the workers (in a worker, by the variable
    xdist sets), else 1 (this one)."""
    if not is_xdist_worker():
        return 1
    try:
        return max(1, int(os.environ.get(WORKER_COUNT_VARIABLE, "1")))
    except ValueError:
        return 1


def worker_share(config: object) -> tuple[int, int] | None:
    """This worker's (index, count) among the workers, or None off a worker."""
    worker = worker_input(config)
    if worker is None:
        return None
    return int(str(worker["workerid"]).lstrip("gw")), int(worker["workercount"])
