"""How the benchmarks start ``pytest`` in a child process: as on a user's machine.

Python normally keeps compiled bytecode, and pytest keeps the assertion-rewritten modules
of its plugins (rest-checks is one), in ``__pycache__``, so only a first run compiles them.
Where ``PYTHONDONTWRITEBYTECODE`` is set (some containers set it) every run compiles and
rewrites every module again, which adds about a second to each run's start-up on two
cores. The benchmarks measure the usual case: bytecode is written, into a folder of their
own (``PYTHONPYCACHEPREFIX``, so no checkout gets a ``__pycache__``), and a warm-up run
fills it before anything is timed. ``--no-bytecode-cache`` measures the other case.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def child_env(base: Mapping[str, str] | None, pycache: Path | None, **extra: str) -> dict[str, str]:
    """``base`` (default: this process's environment) with ``extra`` set and, given
    ``pycache``, bytecode written there instead of not at all."""
    env = dict(os.environ if base is None else base)
    env.update(extra)
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def describe(pycache: Path | None) -> str:
    """The header's words for how children treat bytecode."""
    if pycache is not None:
        return "bytecode cached (warm-up run first)"
    flag = os.environ.get("PYTHONDONTWRITEBYTECODE", "")
    return "bytecode not cached" if flag else "bytecode in __pycache__ as usual"
