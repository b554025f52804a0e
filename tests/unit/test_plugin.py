"""The plugin end to end, through pytester, under ``-n 0`` and ``-n 2``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rest_checks.items.suites import load_suite

REPO = Path(__file__).resolve().parents[2]
SUITE = (REPO / "tests" / "test_rest_suite.py").read_text(encoding="utf-8")
HYPOTHESIS_CONFTEST = (REPO / "conftest.py").read_text(encoding="utf-8")

# A registered model that breaks exactly two items (text-only on those, oracle elsewhere).
BREAKING_CONFTEST = (
    HYPOTHESIS_CONFTEST
    + """
from rest_checks.models.mock import MockModel
from rest_checks.models.registry import register_model

class RefusedKey(MockModel):
    def generate(self, requests):
        from rest_checks.models.base import ModelAuthError
        raise ModelAuthError("the server refused the API key; check OPENAI_API_KEY")


register_model("mock:refused", lambda options: RefusedKey("oracle", spec="mock:refused"))
register_model(
    "mock:breaks-two",
    lambda options: MockModel("text-only", spec="mock:breaks-two",
                              only_items={"soebench-0002", "arith-0001"}),
)
"""
)

FAST = ["--rest-n", "2", "-p", "no:randomly", "-p", "no:cacheprovider"]


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(BREAKING_CONFTEST)
    pytester.makepyfile(test_rest_suite=SUITE)
    return pytester


def run(pytester: pytest.Pytester, *args: str, workers: int = 0) -> pytest.RunResult:
    dist = ["-n", str(workers)] if workers else ["-p", "no:xdist"]
    return pytester.runpytest_subprocess(*FAST, *dist, *args)


def results(pytester: pytest.Pytester, name: str = "out.json") -> dict[str, Any]:
    return json.loads((pytester.path / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("workers", [0, 2])
def test_oracle_passes_with_full_rer(suite: pytest.Pytester, workers: int) -> None:
    result = run(suite, "--model", "mock:oracle", "--rest-json", "out.json", workers=workers)
    result.assert_outcomes(passed=6)
    data = results(suite)
    assert data["metrics"]["rer"] == 1.0
    assert data["n_items"] == 6
    expected_ids = {item.id for item in load_suite(("soebench", "arith", "mcq"), 2, 0)}
    assert {item["id"] for item in data["items"]} == expected_ids
    result.stdout.fnmatch_lines(["*rest-checks summary*", "*RER*100.0%*"])


@pytest.mark.parametrize("workers", [0, 2])
def test_collecting_only_asks_nothing_and_judges_nothing(
    suite: pytest.Pytester, workers: int
) -> None:
    """``--collect-only`` lists the cases; no case ran, so none is an error, no results or
    baseline file is written, and the exit status is pytest's own (0)."""
    result = run(
        suite,
        "--model",
        "mock:oracle",
        "--rest-json",
        "out.json",
        "--snapshot-update",
        "--collect-only",
        workers=workers,
    )
    assert result.ret == 0, result.stdout.str()
    result.stdout.no_fnmatch_line("*never finished*")
    result.stdout.no_fnmatch_line("*rest-checks summary*")
    assert not (suite.path / "out.json").exists()
    assert not list(suite.path.glob("baselines/*.json"))


def test_text_only_fails_one_case_per_item(suite: pytest.Pytester) -> None:
    result = run(suite, "--model", "mock:text-only", "--rest-json", "out.json")
    result.assert_outcomes(failed=6)
    assert results(suite)["metrics"]["rer"] == 0.0
    # The failure message tells the whole story of a case.
    result.stdout.fnmatch_lines(
        [
            "*the final answers differ across modalities*",
            "*expected:*",
            "*text*->*",
            "*raw image tail*",
            "*image image: *.png*",
        ]
    )


def test_header_names_what_makes_the_run_reproducible(suite: pytest.Pytester) -> None:
    result = run(suite, "--model", "mock:oracle", "--rest-seed", "7", "--co")
    result.stdout.fnmatch_lines(
        [
            "rest-checks: model=mock:oracle suite=soebench,arith,mcq n=2 seed=7 items=6",
            'rest-checks: model identity {"backend": "mock", "name": "oracle"}',
        ]
    )


def test_metrics_are_the_same_with_and_without_workers(suite: pytest.Pytester) -> None:
    run(suite, "--model", "mock:breaks-two", "--rest-json", "serial.json", "--rest-no-cache")
    run(
        suite,
        "--model",
        "mock:breaks-two",
        "--rest-json",
        "parallel.json",
        "--rest-no-cache",
        workers=2,
    )
    serial, parallel = results(suite, "serial.json"), results(suite, "parallel.json")
    assert serial["metrics"] == parallel["metrics"]
    assert serial["cases"] == parallel["cases"]
    assert serial["metrics"]["counts"]["rer"] == [4, 6]


@pytest.mark.parametrize("workers", [0, 2])
def test_second_identical_run_makes_no_model_call(suite: pytest.Pytester, workers: int) -> None:
    run(suite, "--model", "mock:oracle", "--rest-json", "first.json", workers=workers)
    run(suite, "--model", "mock:oracle", "--rest-json", "second.json", workers=workers)
    first, second = results(suite, "first.json"), results(suite, "second.json")
    assert first["calls"]["model"] > 0
    assert second["calls"]["model"] == 0
    # Each process counts a request once, as a call or a hit: alone, the second run reads
    # what the first asked or read. Under xdist each worker counts what it reads, and which
    # worker reads a request depends on the scheduling: every one of the 24 requests (6
    # items x 4) is read at least once and by at most both workers.
    if workers == 0:
        assert second["calls"]["cache"] == first["calls"]["model"] + first["calls"]["cache"]
    else:
        assert 24 <= second["calls"]["cache"] <= 2 * 24
    assert second["metrics"] == first["metrics"]


@pytest.mark.parametrize("workers", [0, 2])
def test_baseline_gate_names_exactly_the_broken_items(suite: pytest.Pytester, workers: int) -> None:
    update = run(suite, "--model", "mock:oracle", "--snapshot-update", workers=workers)
    update.assert_outcomes(passed=6)
    baseline = suite.path / "baselines" / "mock_oracle.json"
    assert json.loads(baseline.read_text())["cases"]["soebench-0002"]["consistent"] is True

    result = run(
        suite,
        "--model",
        "mock:breaks-two",
        "--rest-baseline",
        str(baseline),
        "--rest-json",
        "out.json",
        workers=workers,
    )
    result.assert_outcomes(passed=4, failed=2)
    failed = sorted(
        line.split("::")[1].split(" ")[0] for line in result.outlines if line.startswith("FAILED")
    )
    assert failed == ["test_cross_modal[arith-0001]", "test_cross_modal[soebench-0002]"]
    result.stdout.fnmatch_lines(["*REGRESSION: arith-0001 was consistent in the baseline*"])
    assert results(suite)["baseline"]["regressions"] == ["arith-0001", "soebench-0002"]


def test_items_inconsistent_in_the_baseline_are_expected_failures(
    suite: pytest.Pytester,
) -> None:
    run(suite, "--model", "mock:breaks-two", "--snapshot-update").assert_outcomes(
        passed=4, xfailed=2
    )
    result = run(suite, "--model", "mock:breaks-two")
    result.assert_outcomes(passed=4, xfailed=2)
    assert result.ret == 0


def test_significant_rer_drop_fails_the_session(suite: pytest.Pytester) -> None:
    run(suite, "--model", "mock:oracle", "--rest-n", "4", "--snapshot-update")
    baseline = str(suite.path / "baselines" / "mock_oracle.json")
    # Every item breaks: 12 lost, none gained, exact McNemar p = 2 * 0.5**12.
    result = run(
        suite,
        "--model",
        "mock:text-only",
        "--rest-n",
        "4",
        "--rest-baseline",
        baseline,
        "--rest-json",
        "out.json",
    )
    assert result.ret == 1
    gate = results(suite)["baseline"]["gate"]
    assert gate["failed"] is True
    assert gate["lost"] == 12 and gate["gained"] == 0
    result.stdout.fnmatch_lines(["*baseline gate FAILED*"])


def test_unknown_model_is_a_usage_error_before_any_test(suite: pytest.Pytester) -> None:
    result = run(suite, "--model", "no-such-model")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown model 'no-such-model'; known: reference, mock:oracle*"])
    assert "passed" not in result.stdout.str()


def test_bad_option_value_says_what_is_accepted(suite: pytest.Pytester) -> None:
    result = run(suite, "--rest-n", "many")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--rest-n*'many' is not an integer*"])


def test_environment_beats_ini_and_command_line_beats_environment(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.makeini("[pytest]\nrest_model = mock:text-only\nrest_seed = 3\n")
    result = run(suite, "--co")
    result.stdout.fnmatch_lines(["rest-checks: model=mock:text-only * seed=3 *"])
    monkeypatch.setenv("REST_MODEL", "mock:oracle")
    result = run(suite, "--co")
    result.stdout.fnmatch_lines(["rest-checks: model=mock:oracle * seed=3 *"])
    result = run(suite, "--co", "--model", "mock:breaks-two", "--rest-seed", "5")
    result.stdout.fnmatch_lines(["rest-checks: model=mock:breaks-two * seed=5 *"])


def test_bad_environment_value_names_the_variable(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REST_SEED", "soon")
    result = run(suite, "--co")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*environment variable REST_SEED='soon'*not an integer*"])


@pytest.mark.parametrize("workers", [0, 2])
def test_rest_plus_reports_rer_per_rendering(suite: pytest.Pytester, workers: int) -> None:
    result = run(
        suite,
        "--model",
        "mock:oracle",
        "--rest-n",
        "1",
        "--rest-plus",
        "--rest-plus-n",
        "1",
        "--rest-json",
        "out.json",
        workers=workers,
    )
    data = results(suite)
    # 3 items: one cross-modal case, the grid's variants and one Hypothesis case each.
    n_variants = len(data["rest_plus"])
    assert n_variants >= 10
    result.assert_outcomes(passed=3 * (1 + n_variants + 1))
    assert all(v["value"] == 1.0 and v["n"] == 3 for v in data["rest_plus"].values())
    assert data["invariance"]["n_items"] == 3
    result.stdout.fnmatch_lines(["*REST+ RER per rendering:*", "*dejavu-sans-50dpi*"])


def test_rest_plus_failure_is_shrunk_and_reported_in_words(suite: pytest.Pytester) -> None:
    result = run(
        suite,
        "--model",
        "mock:text-only",
        "--rest-n",
        "1",
        "--rest-plus",
        "--rest-plus-n",
        "1",
        "-k",
        "render_invariance and soebench",
    )
    result.assert_outcomes(failed=1)
    # Shrinking leads to the simplest rendering: the default font, at some DPI, in words.
    result.stdout.fnmatch_lines(["*differs from the text answer*when rendered in*DPI*"])


def test_rest_plus_is_off_by_default(suite: pytest.Pytester) -> None:
    result = run(suite, "--model", "mock:oracle", "--rest-n", "1")
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] == 3
    assert outcomes.get("deselected", 0) > 0


def test_item_file_reports_what_was_dropped(suite: pytest.Pytester) -> None:
    rows = [
        {
            "id": "q1",
            "question": "Which planet is largest?",
            "options": ["Mars", "Jupiter"],
            "answer": "B",
        },
        {
            "id": "q2",
            "question": "What is $\\frac{1}{2}$ of 4?",
            "options": ["1", "2"],
            "answer": "B",
        },
    ]
    items = suite.path / "mine.jsonl"
    items.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    result = run(suite, "--model", "mock:oracle", "--rest-suite", "mine.jsonl")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "rest-checks: items from mine.jsonl (rest-jsonl, detected): kept 1 item(s), "
            "dropped 1 (latex: 1)",
            "*items from mine.jsonl (rest-jsonl): kept 1, dropped 1 (latex: 1)",
        ]
    )


def test_published_layouts_run_and_report_their_layout_under_quiet(
    suite: pytest.Pytester,
) -> None:
    (suite.path / "gsm.jsonl").write_text(
        json.dumps(
            {"question": "Ann has 3 pens. How many?", "answer": "Worked out: 1 + 2 = 3\n#### 3"}
        )
        + "\n"
    )
    (suite.path / "arc.txt").write_text(
        "questionID,AnswerKey,question\nq1,2,Which is hot? (1) ice (2) fire (3) snow\n"
    )
    result = run(
        suite,
        "-q",
        "--model",
        "mock:oracle",
        "--rest-suite",
        "gsm.jsonl,arc.txt",
        "--rest-format",
        "auto",
        "--rest-json",
        "out.json",
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*items from gsm.jsonl (gsm8k): kept 1, dropped 0",
            "*items from arc.txt (arc-csv): kept 1, dropped 0",
        ]
    )
    items = {item["id"]: item for item in results(suite)["items"]}
    assert (items["gsm-0001"]["expected"], items["q1"]["expected"]) == ("3", "B")
    # The oracle's transcription is what the image showed: the problem, not its solution.
    assert "Ann has 3 pens." in items["gsm-0001"]["raw"]["ocr"]
    assert "Worked out" not in items["gsm-0001"]["raw"]["ocr"]


def test_malformed_item_file_stops_the_run_naming_file_and_line(
    suite: pytest.Pytester,
) -> None:
    items = suite.path / "bad.jsonl"
    items.write_text(
        '{"id": "q1", "question": "Q?", "options": ["a", "b"], "answer": "A"}\n'
        '{"id": "q2", "question": "Q2?", "options": ["a", "b"], "answer": "Z"}\n'
    )
    result = run(suite, "--model", "mock:oracle", "--rest-suite", "bad.jsonl")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*bad.jsonl:2:*"])


def test_updating_part_of_the_suite_keeps_the_other_cases(suite: pytest.Pytester) -> None:
    run(suite, "--model", "mock:oracle", "--snapshot-update")
    baseline = suite.path / "baselines" / "mock_oracle.json"
    before = json.loads(baseline.read_text())["cases"]
    run(suite, "--model", "mock:oracle", "--snapshot-update", "-k", "soebench")
    after = json.loads(baseline.read_text())["cases"]
    assert after == before and len(after) == 6


def test_only_selected_cases_are_asked_ahead(suite: pytest.Pytester) -> None:
    result = run(
        suite,
        "--model",
        "mock:oracle",
        "--rest-no-cache",
        "--rest-json",
        "out.json",
        "-k",
        "soebench-0001",
    )
    result.assert_outcomes(passed=1)
    assert results(suite)["calls"]["model"] == 4


@pytest.mark.parametrize("workers", [0, 2])
def test_each_case_asks_only_for_its_own_renderings(suite: pytest.Pytester, workers: int) -> None:
    # 6 items x 4 requests, and for the 3 perturbed items 12 grid variants beyond the
    # default x 3 rendered requests (their text request is the default one): 132.
    result = run(
        suite,
        "--model",
        "mock:oracle",
        "--rest-plus",
        "--rest-plus-n",
        "1",
        "-k",
        "not invariance",
        "--rest-json",
        "out.json",
        workers=workers,
    )
    result.assert_outcomes(passed=6 + 3 * 13)
    calls = results(suite)["calls"]["model"]
    if workers == 0:
        assert calls == 132
    else:
        # Workers share the disk cache; one may ask for a case of the other's share
        # before that share is in (at most once more, by the other worker), never for
        # renderings no case needs (those would be hundreds more).
        assert 132 <= calls <= 2 * 132


@pytest.mark.parametrize("workers", [0, 2])
def test_a_refused_key_stops_the_run_at_once(suite: pytest.Pytester, workers: int) -> None:
    # Without a disk cache, workers ask case by case: the key fails inside a test there.
    result = run(suite, "--model", "mock:refused", "--rest-no-cache", workers=workers)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*refused the API key*"])
    assert "passed" not in result.stdout.str()
    assert result.stdout.str().count("FAILED") <= workers + 1


def test_x_asks_ahead_one_window_in_test_order(suite: pytest.Pytester) -> None:
    from rest_checks.asking_ahead import ASK_AHEAD_WINDOW

    args = ["--model", "mock:text-only", "--rest-no-cache", "--rest-json", "out.json"]
    result = run(suite, *args, "--rest-suite", "arith", "--rest-n", "40", "-x")
    result.assert_outcomes(failed=1)
    # The first case failed: only its window was asked, not the other cases.
    assert results(suite)["calls"]["model"] == 4 * ASK_AHEAD_WINDOW


def test_progress_is_shown_while_asking_and_not_under_q(suite: pytest.Pytester) -> None:
    args = ["--model", "mock:oracle", "--rest-no-cache", "-p", "no:xdist"]
    shown = suite.runpytest_subprocess(*FAST, *args)
    # Not a terminal here: plain lines, the last one with the final count.
    shown.stdout.fnmatch_lines(
        [
            "rest-checks: asking the model: 24/24 (24 sent, 0 from the disk cache, "
            "0 from memory, 0 retries, 0 failed)*"
        ]
    )
    quiet = suite.runpytest_subprocess(*FAST, *args, "-q")
    assert "asking the model" not in quiet.stdout.str()


def test_items_are_generated_once_on_the_controller_and_sent_to_workers(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Run inside an xdist worker, the inner controller would inherit its worker name.
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makeconftest(
        HYPOTHESIS_CONFTEST
        + """
import os
from pathlib import Path

import rest_checks.run

_load_suite = rest_checks.run.load_suite


def _logged_load_suite(*args, **kwargs):
    with (Path(__file__).parent / "loads.txt").open("a") as log:
        log.write(os.environ.get("PYTEST_XDIST_WORKER", "controller") + "\\n")
    return _load_suite(*args, **kwargs)


rest_checks.run.load_suite = _logged_load_suite
"""
    )
    pytester.makepyfile(test_rest_suite=SUITE)
    result = run(pytester, "--model", "mock:oracle", workers=2)
    result.assert_outcomes(passed=6)
    assert (pytester.path / "loads.txt").read_text().split() == ["controller"]
