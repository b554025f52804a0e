"""Whole runs only, end to end: pytest runs of the suite in a pytester project. A run of
part of the baseline is not a pass, and no baseline is written from a run that was stopped,
filtered or lost a worker."""

from __future__ import annotations

import json

import pytest
from suite_runs import make_suite, run_suite

MOCK = ["--model", "mock:oracle", "--rest-suite", "arith,mcq", "--rest-n", "4"]
BASELINE = "baselines/mock_oracle.json"

# Kills the xdist worker that runs the third arithmetic case, once (an environment
# variable names a file that says it happened).
KILLER = """
import os
from pathlib import Path

def pytest_runtest_call(item):
    flag = Path(os.environ["REST_TEST_KILL_FLAG"])
    if "arith-0003" in item.nodeid and not flag.exists():
        flag.write_text("killed")
        os._exit(3)
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    return make_suite(pytester)


def _results(pytester: pytest.Pytester) -> dict:
    return json.loads((pytester.path / "results.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_a_filtered_run_is_inconclusive_and_fails_only_when_asked(suite: pytest.Pytester) -> None:
    run_suite(suite, *MOCK, "--snapshot-update").assert_outcomes(passed=8)
    assert (suite.path / BASELINE).is_file()
    partial = run_suite(suite, *MOCK, "-k", "not mcq", "--rest-json", "results.json")
    assert partial.ret == 0
    partial.stdout.fnmatch_lines(
        ["*baseline gate INCONCLUSIVE (not a pass; partial: 4 of 8 baseline items*"]
    )
    results = _results(suite)
    assert results["complete"] is False
    assert results["baseline"]["gate"]["coverage"]["judged_items"] == 4
    strict = run_suite(suite, *MOCK, "-k", "not mcq", "--rest-fail-inconclusive")
    assert strict.ret == 1


BREAKER = """

def pytest_runtest_call(item):
    if "arith-0002" in item.nodeid:
        raise RuntimeError("a test that broke")
"""


@pytest.mark.slow
def test_no_baseline_after_x_stopped_the_run(suite: pytest.Pytester) -> None:
    suite.makeconftest((suite.path / "conftest.py").read_text(encoding="utf-8") + BREAKER)
    stopped = run_suite(suite, *MOCK, "-x", "--snapshot-update")
    assert stopped.ret != 0
    stopped.assert_outcomes(passed=1, failed=1)
    stopped.stdout.fnmatch_lines(["*baseline NOT written*stopped before its end*"])
    assert not (suite.path / BASELINE).exists()


@pytest.mark.slow
def test_no_baseline_when_a_worker_was_lost(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REST_TEST_KILL_FLAG", str(suite.path / "killed.flag"))
    suite.makeconftest((suite.path / "conftest.py").read_text(encoding="utf-8") + KILLER)
    result = run_suite(suite, *MOCK, "--snapshot-update", "--rest-json", "results.json", workers=2)
    assert (suite.path / "killed.flag").exists()
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*baseline NOT written*"])
    assert not (suite.path / BASELINE).exists()
    results = _results(suite)
    assert results["complete"] is False
    assert "arith-0003" in {e["key"] for e in results["errors"]}


FAILING_RENDERINGS = """
from rest_checks.models.base import Response
from rest_checks.models.mock import MockModel
from rest_checks.models.registry import register_model


class FailingRenderings(MockModel):
    def generate(self, requests):
        replies = super().generate(requests)
        return [
            Response("", error="HTTP 503, every attempt") if r.rendering == "hypothesis" else a
            for r, a in zip(requests, replies)
        ]


register_model(
    "mock:failing-renderings",
    lambda options: FailingRenderings("oracle", spec="mock:failing-renderings"),
)
"""


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 2])
def test_failed_hypothesis_renderings_are_errors(suite: pytest.Pytester, workers: int) -> None:
    suite.makeconftest(
        (suite.path / "conftest.py").read_text(encoding="utf-8") + FAILING_RENDERINGS
    )
    args = ["--model", "mock:failing-renderings", "--rest-suite", "arith", "--rest-n", "2"]
    args += ["--rest-plus", "--rest-plus-n", "1", "--rest-json", "results.json"]
    result = run_suite(suite, *args, workers=workers)
    # A case without a reply fails its test as ModelGaveNoReply, as every case does.
    result.assert_outcomes(passed=15, failed=1)
    errors = _results(suite)["errors"]
    assert [e["key"] for e in errors] == ["arith-0001@invariance"]
    assert "HTTP 503" in errors[0]["message"]
    tolerated = run_suite(suite, *args, "--rest-allow-errors", "1", workers=workers)
    tolerated.assert_outcomes(passed=15, skipped=1)
    assert tolerated.ret == 0
    update = run_suite(suite, *args, "--rest-allow-errors", "1", "--snapshot-update")
    assert update.ret != 0
    assert not (suite.path / "baselines" / "mock_failing-renderings.json").exists()
