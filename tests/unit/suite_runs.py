"""Running the REST suite in a pytester project, as a user would: the suite file and the
Hypothesis profiles as this checkout has them, plus what a test adds to its conftest."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUITE = (REPO / "tests" / "test_rest_suite.py").read_text(encoding="utf-8")
HYPOTHESIS_CONFTEST = (REPO / "conftest.py").read_text(encoding="utf-8")
# Plugins that would make runs differ or leave state behind.
QUIET = ["-p", "no:randomly", "-p", "no:cacheprovider"]


def make_suite(pytester: pytest.Pytester, conftest: str = "") -> pytest.Pytester:
    """``pytester``'s project, holding the suite and a conftest with ``conftest`` added."""
    pytester.makeconftest(HYPOTHESIS_CONFTEST + conftest)
    pytester.makepyfile(test_rest_suite=SUITE)
    return pytester


def run_suite(pytester: pytest.Pytester, *args: str, workers: int = 0) -> pytest.RunResult:
    """Run it in a subprocess, with ``-n workers`` (0: without xdist)."""
    dist = ["-n", str(workers)] if workers else ["-p", "no:xdist"]
    return pytester.runpytest_subprocess(*QUIET, *dist, *args)
