"""What a JUnit XML report (``--junitxml``) records of a REST run: per test case its item,
task, rendering, answers and verdict; per test suite the headline and the gate's verdict."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rest_checks.case_rows import case_verdict
from rest_checks.records import CaseRecord
from rest_checks.results_document import Gate, ResultsDocument

if TYPE_CHECKING:
    import pytest

Properties = list[tuple[str, str]]


def case_properties(record: CaseRecord, baseline_state: bool | None, updating: bool) -> Properties:
    """A finished case as (name, value) pairs; ``baseline_state``: whether the baseline
    had the case consistent (None: not in it)."""
    verdict = case_verdict(record.consistent, record.error is not None, baseline_state, updating)
    return [
        ("rest_item", record.item_id),
        ("rest_task", record.task),
        ("rest_rendering", record.detail or record.rendering),
        ("rest_answers", json.dumps(record.answers, sort_keys=True)),
        ("rest_verdict", verdict),
    ]


def suite_properties(results: ResultsDocument) -> Properties:
    """The run's headline and the gate's verdict (the results document) as pairs."""
    rer = results["metrics"]["rer"]
    k, n = results["metrics"]["counts"]["rer"]
    gate_result = results["baseline"]["gate"]
    return [
        ("rest_model", str(results["model"])),
        ("rest_rer", "n/a" if rer is None else f"{rer:.4f}"),
        ("rest_rer_count", f"{k}/{n}"),
        ("rest_gate_verdict", "none" if gate_result is None else gate_result["verdict"]),
        (
            "rest_gate_upper_bound",
            "n/a" if gate_result is None else f"{gate_result['upper_bound']:.4f}",
        ),
        *_sequential_properties(gate_result),
        ("rest_complete", "true" if results["complete"] else "false"),
        ("rest_regressions", str(len(results["baseline"]["regressions"]))),
        ("rest_errors", str(len(results["errors"]))),
    ]


def _sequential_properties(gate_result: Gate | None) -> Properties:
    """A sequential run's items asked and requests saved (nothing for a fixed run)."""
    sequential = None if gate_result is None else gate_result["sequential"]
    if not sequential:
        return []
    return [
        ("rest_gate_items_asked", f"{sequential['items_asked']}/{sequential['items']}"),
        ("rest_gate_requests_saved", str(sequential["requests_saved"])),
    ]


def add_suite_properties(config: pytest.Config, properties: Properties) -> None:
    """Hand ``properties`` to pytest's junitxml plugin, which writes them as the test
    suite's after ``pytest_sessionfinish`` (so call it from a ``tryfirst`` one); nothing
    without ``--junitxml``."""
    try:
        from _pytest.junitxml import xml_key
    except ImportError:  # pragma: no cover - pytest moved its junitxml internals
        return
    xml = config.stash.get(xml_key, None)
    if xml is not None:
        for name, value in properties:
            xml.add_global_property(name, value)
