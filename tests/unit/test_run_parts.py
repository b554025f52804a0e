"""The run's parts on their own: a test's case key, the JUnit properties of a case and of
the suite, the live count on pytest's terminal, and that the case runner and the finisher
share the run's records (a case run is a case finished)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from rest_checks.config import RestSettings
from rest_checks.junit_properties import case_properties, suite_properties
from rest_checks.model_gateway import CallCounter
from rest_checks.models.mock import MockModel
from rest_checks.progress import Progress
from rest_checks.records import CaseRecord, planned_case_key
from rest_checks.run import RestRun
from rest_checks.terminal_progress import live_progress


@pytest.mark.parametrize(
    ("rendering", "key"),
    [
        ("default", "arith-0001"),
        (None, "arith-0001@invariance"),
        ("red-text", "arith-0001@red-text"),
        ("parity-72dpi", "arith-0001@parity-72dpi"),
    ],
)
def test_a_tests_case_key_names_its_rendering(rendering: str | None, key: str) -> None:
    assert planned_case_key("arith-0001", rendering) == key


def record(consistent: bool, error: str | None = None, **values: Any) -> CaseRecord:
    base: dict[str, Any] = {
        "key": "arith-0002@blur",
        "kind": "rest_plus",
        "item_id": "arith-0002",
        "task": "arith",
        "rendering": "blur",
        "expected": "7",
        "answers": {"text": "7", "image": "1", "mixed": "7"},
        "raw": {},
        "consistent": consistent,
        "error": error,
    }
    return CaseRecord(**{**base, **values})


@pytest.mark.parametrize(
    ("consistent", "error", "before", "updating", "verdict"),
    [
        (True, None, False, False, "consistent"),
        (False, None, True, False, "regression"),
        (False, None, True, True, "inconsistent"),  # the baseline is being rewritten
        (False, None, None, False, "inconsistent"),
        (False, "HTTP 500", True, False, "error"),
    ],
)
def test_a_cases_junit_properties_say_its_verdict_against_the_baseline(
    consistent: bool, error: str | None, before: bool | None, updating: bool, verdict: str
) -> None:
    properties = dict(case_properties(record(consistent, error), before, updating))
    assert properties["rest_verdict"] == verdict
    assert properties["rest_item"] == "arith-0002"
    assert properties["rest_rendering"] == "blur"  # no detail: the rendering's name
    assert json.loads(properties["rest_answers"]) == {"text": "7", "image": "1", "mixed": "7"}
    detailed = dict(case_properties(record(True, detail="blur 1.5 px"), None, False))
    assert detailed["rest_rendering"] == "blur 1.5 px"


def results(gate: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "model": "mock:oracle",
        "metrics": {"rer": 0.125, "counts": {"rer": [1, 8]}},
        "baseline": {"gate": gate, "regressions": ["a", "b"]},
        "complete": False,
        "errors": [{"key": "c"}],
    }


def test_the_suites_junit_properties_carry_the_headline_and_the_gate() -> None:
    without = dict(suite_properties(results(None)))
    assert without == {
        "rest_model": "mock:oracle",
        "rest_rer": "0.1250",
        "rest_rer_count": "1/8",
        "rest_gate_verdict": "none",
        "rest_gate_upper_bound": "n/a",
        "rest_complete": "false",
        "rest_regressions": "2",
        "rest_errors": "1",
    }
    sequential = {"items_asked": 40, "items": 100, "requests_saved": 180}
    gated = dict(
        suite_properties(
            results({"verdict": "passed", "upper_bound": 0.031, "sequential": sequential})
        )
    )
    assert gated["rest_gate_verdict"] == "passed"
    assert gated["rest_gate_upper_bound"] == "0.0310"
    assert gated["rest_gate_items_asked"] == "40/100"
    assert gated["rest_gate_requests_saved"] == "180"
    failed = {"verdict": "failed", "upper_bound": 0.2, "sequential": None}
    fixed = dict(suite_properties(results(failed)))
    assert "rest_gate_items_asked" not in fixed


class Writer:
    def __init__(self) -> None:
        self.text: list[str] = []

    def write(self, text: str, flush: bool = False) -> None:
        self.text.append(text)


def terminal_config(*, verbosity: int = 0, worker: bool = False, writer: Writer) -> Any:
    reporter = SimpleNamespace(isatty=False)
    config = SimpleNamespace(
        pluginmanager=SimpleNamespace(getplugin=lambda name: reporter),
        get_verbosity=lambda: verbosity,
        get_terminal_writer=lambda: writer,
    )
    if worker:
        config.workerinput = {"workerid": "gw0", "workercount": 2}
    return config


@pytest.mark.parametrize(
    ("verbosity", "worker", "wanted", "live"),
    [
        (0, False, True, True),
        (-1, False, True, False),
        (0, True, True, False),
        (0, False, False, False),
    ],
)
def test_the_live_count_shows_only_on_a_terminal_that_wants_it(
    capsys: pytest.CaptureFixture[str], verbosity: int, worker: bool, wanted: bool, live: bool
) -> None:
    writer = Writer()
    progress = Progress()
    counter = CallCounter()
    progress.watch(counter)
    with live_progress(
        terminal_config(verbosity=verbosity, worker=worker, writer=writer), progress, wanted
    ):
        progress.expect(3)
        for _ in range(3):
            counter.model_calls += 1
    shown = "".join(writer.text)
    if live:
        assert shown.startswith("\n")  # off the line of the test file's dots
        assert "3/3" in shown.splitlines()[-1]
        assert capsys.readouterr().err == ""
    else:
        assert shown == ""
        assert capsys.readouterr().err == "\n"  # the asking's own lines start apart


def test_a_case_the_runner_keeps_is_one_the_run_finishes(tmp_path: Path) -> None:
    values = {"rest_model": "mock:text-only", "rest_suite": ("arith",), "rest_n": 2}
    settings = RestSettings.from_values(
        {**values, "rest_no_cache": True, "rest_json": "out.json"}, tmp_path
    )
    run = RestRun(settings, MockModel("text-only"), with_ocr=False)
    run.plan([(item, "default") for item in run.items()])
    first, second = run.items()
    run.cases.cross_modal(first)  # through the part itself, not the run's entry point
    run.cross_modal(second)
    assert [r.item_id for r in run.records] == [first.id, second.id]
    outcome = run.finish()
    document = json.loads((tmp_path / "out.json").read_text())
    assert sorted(document["cases"]) == [first.id, second.id]
    assert document["complete"] is True
    assert "items 2" in outcome.lines[0]
