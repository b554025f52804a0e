"""CI output of a pytest run, end to end through pytester: JUnit XML properties (also from
xdist workers), the Markdown summary appended to ``$GITHUB_STEP_SUMMARY``, and the HTML
report and CSV written at the end of the run."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET

import pytest

from tests.unit.test_plugin import BREAKING_CONFTEST, FAST, SUITE


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(BREAKING_CONFTEST)
    pytester.makepyfile(test_rest_suite=SUITE)
    return pytester


def _properties(element: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in element.iter("property")}


def test_junit_xml_records_each_case_and_the_run_also_under_xdist(suite: pytest.Pytester) -> None:
    result = suite.runpytest_subprocess(
        *FAST, "-n", "2", "--model", "mock:breaks-two", "--junitxml", "junit.xml"
    )
    result.assert_outcomes(passed=4, failed=2)
    root = ET.parse(suite.path / "junit.xml").getroot()
    suite_element = root.find("testsuite")
    assert suite_element is not None
    suite_properties = _properties(suite_element.find("properties"))  # type: ignore[arg-type]
    assert suite_properties["rest_rer"] == f"{4 / 6:.4f}"
    assert suite_properties["rest_rer_count"] == "4/6"
    assert suite_properties["rest_gate_verdict"] == "none"  # no baseline yet
    assert suite_properties["rest_gate_upper_bound"] == "n/a"
    assert suite_properties["rest_complete"] == "true"
    cases = {c.get("name"): _properties(c) for c in root.iter("testcase")}
    broken = cases["test_cross_modal[soebench-0002]"]
    assert broken["rest_item"] == "soebench-0002" and broken["rest_task"] == "soebench"
    assert broken["rest_verdict"] == "inconsistent"
    answers = json.loads(broken["rest_answers"])
    assert answers["text"] != answers["image"] == answers["mixed"]
    assert broken["rest_rendering"].startswith("DejaVu Sans, 200 DPI")
    assert cases["test_cross_modal[arith-0002]"]["rest_verdict"] == "consistent"


def test_step_summary_report_and_csv_are_written_at_the_end(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = suite.path / "step-summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "team/models")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    args = ["-p", "no:xdist", "--model", "mock:breaks-two", "--rest-html", "out/report.html"]
    suite.runpytest_subprocess(*FAST, *args, "--snapshot-update")  # the baseline
    result = suite.runpytest_subprocess(*FAST, *args, "--rest-csv", "out/cases.csv")
    result.assert_outcomes(passed=4, xfailed=2)
    result.stdout.fnmatch_lines(["*HTML report written to *out*report.html*"])
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n")  # appended, never overwritten
    assert text.count("## rest-checks: mock:breaks-two") == 2
    assert "**Baseline gate: INCONCLUSIVE**" in text
    assert "(https://github.com/team/models/actions/runs/42#artifacts)" in text
    html = (suite.path / "out" / "report.html").read_text(encoding="utf-8")
    assert 'data-verdict="inconsistent"' in html and "data:image/png;base64," in html
    with open(suite.path / "out" / "cases.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["case"] for r in rows if r["verdict"] == "inconsistent") == [
        "arith-0001",
        "soebench-0002",
    ]


def test_report_without_its_extra_is_a_usage_error_before_any_test(
    suite: pytest.Pytester,
) -> None:
    # Python starts with matplotlib hidden, as in an installation without the report extra.
    suite.makepyfile(
        sitecustomize="import sys\nsys.modules['matplotlib'] = None\n",
    )
    result = suite.runpytest_subprocess(
        *FAST, "-p", "no:xdist", "--model", "mock:oracle", "--rest-html", "r.html"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--rest-html needs matplotlib*rest-checks?report?*"])
