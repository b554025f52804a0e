"""The sequential gate end to end (``--rest-sequential``): pytest runs of the suite in a
pytester project against mock models, one with a planted regression."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from suite_runs import make_suite, run_suite

from rest_checks.items.suites import load_suite

SOURCES = ["--rest-suite", "arith,mcq", "--rest-n", "60", "--rest-seed", "3"]
BASELINE = "baselines/mock_oracle.json"
ITEMS = 120


def _broken_ids() -> set[str]:
    """Every other item of the suite: a 50-point regression, planted."""
    items = load_suite(("arith", "mcq"), 60, 3)
    return {item.id for item in items[::2]}


REGRESSED = f"""
from rest_checks.models.mock import MockModel
from rest_checks.models.registry import register_model


class RefusedKey(MockModel):
    def identity(self):
        return {{"backend": "mock", "name": "refused"}}

    def stream(self, requests, sink):
        from rest_checks.models.base import ModelAuthError
        raise ModelAuthError("the server refused the API key; check OPENAI_API_KEY")


register_model("mock:refused", lambda options: RefusedKey("oracle", spec="mock:refused"))

register_model(
    "mock:regressed",
    lambda options: MockModel("text-only", spec="mock:regressed",
                              only_items={sorted(_broken_ids())!r}),
)
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    project = make_suite(pytester, REGRESSED)
    run_suite(project, "--model", "mock:oracle", *SOURCES, "--snapshot-update").assert_outcomes(
        passed=ITEMS
    )
    assert (project.path / BASELINE).is_file()
    return project


def _results(pytester: pytest.Pytester) -> dict:
    return json.loads((pytester.path / "results.json").read_text(encoding="utf-8"))


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 2])
def test_a_planted_regression_fails_after_one_wave_and_the_rest_is_skipped(
    suite: pytest.Pytester, workers: int
) -> None:
    args = ["--model", "mock:regressed", "--rest-baseline", BASELINE, *SOURCES]
    result = run_suite(
        suite,
        *args,
        "--rest-sequential",
        "--rest-json",
        "results.json",
        "--junitxml",
        "j.xml",
        workers=workers,
    )
    assert result.ret == 1
    gate = _results(suite)["baseline"]["gate"]
    asked = gate["sequential"]["items_asked"]
    assert asked == 50  # one wave decides a 50-point drop
    outcomes = result.parseoutcomes()
    assert outcomes["skipped"] == ITEMS - asked
    assert outcomes["passed"] + outcomes["failed"] == asked
    assert gate["verdict"] == "failed" and gate["n_common"] == asked
    assert gate["sequential"]["requests_saved"] == 4 * (ITEMS - asked)
    assert gate["coverage"]["partial"] is False
    assert _results(suite)["calls"]["model"] == 4 * asked  # the rest were never asked
    result.stdout.fnmatch_lines(
        [
            "*baseline gate FAILED*",
            f"*sequential gate: decided after {asked} of {ITEMS} items*"
            f"{ITEMS - asked} items not asked, {4 * (ITEMS - asked)} requests saved*",
        ]
    )
    junit = ET.parse(suite.path / "j.xml").getroot()
    properties = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert properties["rest_gate_verdict"] == "failed"
    assert properties["rest_gate_items_asked"] == f"{asked}/{ITEMS}"
    skipped = [s.get("message", "") for s in junit.iter("skipped")]
    assert len(skipped) == ITEMS - asked
    assert all(f"not needed: the gate decided after {asked} of {ITEMS} items" in m for m in skipped)


@pytest.mark.slow
def test_an_unchanged_model_passes_early_at_a_wide_tolerance(suite: pytest.Pytester) -> None:
    args = ["--model", "mock:oracle", *SOURCES, "--rest-tolerance", "0.2"]
    result = run_suite(
        suite, *args, "--rest-sequential", "--rest-json", "results.json", "--rest-html", "r.html"
    )
    assert result.ret == 0
    result.assert_outcomes(passed=50, skipped=ITEMS - 50)
    html = (suite.path / "r.html").read_text(encoding="utf-8")
    assert f"sequential gate: decided after 50 of {ITEMS} items" in html
    results = _results(suite)
    gate = results["baseline"]["gate"]
    assert gate["verdict"] == "passed" and gate["upper_bound"] <= 0.2
    assert results["complete"] is True and results["coverage"]["not_needed"] == ITEMS - 50
    # Without the flag the same run asks everything.
    run_suite(suite, *args).assert_outcomes(passed=ITEMS)


@pytest.mark.slow
def test_refused_before_any_call_when_it_cannot_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_suite(pytester, REGRESSED)
    temp = pytester.mkdir("temp")  # where the xdist runs make their run folders
    monkeypatch.setenv("TMPDIR", str(temp))
    args = ["--model", "mock:oracle", "--rest-suite", "arith", "--rest-n", "2"]
    none = run_suite(project, *args, "--rest-sequential")
    assert none.ret == pytest.ExitCode.USAGE_ERROR
    none.stderr.fnmatch_lines(["*--rest-sequential needs a baseline*none at*mock_oracle.json*"])
    update = run_suite(project, *args, "--rest-sequential", "--snapshot-update")
    assert update.ret == pytest.ExitCode.USAGE_ERROR
    update.stderr.fnmatch_lines(["*--rest-sequential cannot be used with --snapshot-update*"])
    assert not (project.path / BASELINE).exists()
    run_suite(project, *args, "--snapshot-update").assert_outcomes(passed=2)
    workers = run_suite(project, *args, "--rest-sequential", "--rest-no-cache", workers=2)
    assert workers.ret == pytest.ExitCode.USAGE_ERROR
    workers.stderr.fnmatch_lines(
        ["*--rest-sequential under xdist (-n 2) needs the response cache*"]
    )
    # A refused key while the controller asks the waves stops the run, not xdist.
    refused = ["--model", "mock:refused", "--rest-baseline", BASELINE, *args[2:]]
    stopped = run_suite(project, *refused, "--rest-sequential", workers=2)
    assert stopped.ret == pytest.ExitCode.INTERRUPTED
    assert "refused the API key" in stopped.stdout.str() + stopped.stderr.str()
    assert "INTERNALERROR" not in stopped.stdout.str() + stopped.stderr.str()
    assert not list(temp.iterdir()), "runs stopped while their workers start leave nothing"
