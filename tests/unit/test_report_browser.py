"""The HTML report as a person sees it, in a real headless Chromium (Debian's ``chromium``,
driven by Playwright): counts, pages that load, filters, markup in replies shown as text,
and the essentials with JavaScript off. One screenshot per section is kept under
``.rest-report-screens/``.

Without Chromium these tests are skipped, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rest_checks.case_rows import case_rows, verdict_counts
from rest_checks.diagnosis_text import diagnosis_line
from rest_checks.html_report import render_comparison_report
from tests.unit.report_sample import ALREADY, BROKEN, HOSTILE, build_sample_run

REPO = Path(__file__).resolve().parents[2]
SCREENS = REPO / ".rest-report-screens"
SECTIONS = ("summary", "headline", "rest-plus", "invariance", "cases")


def _chromium() -> str | None:
    found = os.environ.get("REST_CHROMIUM") or shutil.which("chromium")
    return found or shutil.which("chromium-browser")


def _require(what: str, found: Any) -> Any:
    """Skip without it, except in CI (``CI=true``), where the browser tests must run."""
    if found is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI needs {what} for the report's browser tests")
        pytest.skip(f"{what} is not installed")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _require("Chromium (apt-get install chromium)", _chromium())
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = _require("Playwright (pip install -e '.[dev]')", None)
    with sync_playwright() as playwright:
        # --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
        chromium = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("report")
    results = build_sample_run(root, rest_html="report.html")
    return root / "report.html", results


_CONTEXTS: list[Any] = []


@pytest.fixture(autouse=True)
def _close_pages() -> Iterator[None]:
    """Each test's pages are closed after it, so no test sees another's state."""
    yield
    while _CONTEXTS:
        _CONTEXTS.pop().close()


def _open(browser: Any, path: Path, javascript: bool = True) -> Any:
    context = browser.new_context(
        java_script_enabled=javascript, viewport={"width": 1200, "height": 900}
    )
    _CONTEXTS.append(context)
    page = context.new_page()
    page.goto(path.as_uri())
    return page


def _visible_cases(page: Any) -> int:
    return int(page.locator("tbody.case:visible").count())


def test_the_counts_and_the_verdict_are_what_the_results_say(
    browser: Any, report: tuple[Path, dict[str, Any]]
) -> None:
    path, results = report
    page = _open(browser, path)
    rows = case_rows(results)
    assert page.locator("#shown-count").inner_text() == str(len(rows))
    assert _visible_cases(page) == len(rows)
    for verdict, n in verdict_counts(rows).items():
        assert page.locator(f'[data-verdict-count="{verdict}"]').inner_text() == f"{n} {verdict}"
    verdict = page.locator("#gate-verdict").inner_text()
    assert verdict.startswith("baseline gate INCONCLUSIVE (not a pass; partial: 8 of 9")
    assert "RER may have dropped by up to" in verdict
    rer = page.locator("#headline-table tr", has_text="RER").first.inner_text()
    k, n = results["metrics"]["counts"]["rer"]
    assert f"{k}/{n}" in rer


def test_a_failing_case_shows_the_pages_the_model_saw(
    browser: Any, report: tuple[Path, dict[str, Any]]
) -> None:
    path, _ = report
    page = _open(browser, path)
    case = page.locator(f'[id="case-{HOSTILE}"]')
    assert case.locator("details").get_attribute("open") is not None  # a regression opens
    images = case.locator("img")
    assert images.count() == 2  # the image and the mixed request
    for i in range(images.count()):
        images.nth(i).scroll_into_view_if_needed()
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth") > 0
    counterexample = page.locator('[id="case-soebench-0002@invariance"] img')
    assert counterexample.evaluate("img => img.naturalWidth") > 0


def test_filters_change_the_visible_rows(browser: Any, report: tuple[Path, dict[str, Any]]) -> None:
    path, results = report
    page = _open(browser, path)
    rows = case_rows(results)
    page.select_option('select[name="verdict"]', "regression")
    assert _visible_cases(page) == len(results["baseline"]["regressions"])
    page.select_option('select[name="rendering"]', "default")
    assert _visible_cases(page) == len(BROKEN)
    assert page.locator("#shown-count").inner_text() == str(len(BROKEN))
    page.select_option('select[name="verdict"]', "")
    page.select_option('select[name="rendering"]', "")
    page.select_option('select[name="task"]', "mcq")
    assert _visible_cases(page) == sum(r.task == "mcq" for r in rows)


def test_markup_in_a_reply_is_shown_as_text_and_runs_nothing(
    browser: Any, report: tuple[Path, dict[str, Any]]
) -> None:
    path, _ = report
    page = _open(browser, path)
    page.wait_for_load_state("load")
    assert page.evaluate("typeof window.__restInjected") == "undefined"
    reply = page.locator(f'[id="case-{HOSTILE}"] pre.reply', has_text="onerror")
    assert "<script>window.__restInjected" in reply.inner_text()
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator("script").count() == 1  # the filter script, nothing else


def test_the_essentials_work_with_javascript_off(
    browser: Any, report: tuple[Path, dict[str, Any]]
) -> None:
    path, results = report
    page = _open(browser, path, javascript=False)
    rows = case_rows(results)
    assert page.locator("#filters").is_hidden()  # no controls that cannot work
    assert _visible_cases(page) == len(rows)
    assert page.locator("#shown-count").inner_text() == str(len(rows))
    assert page.locator("#gate-verdict").is_visible()
    # A closed case (an expected failure) opens natively and its pages load.
    case = page.locator(f'[id="case-{ALREADY}"]')
    assert case.locator("details").get_attribute("open") is None
    case.locator("summary").click()
    image = case.locator("img").first
    image.scroll_into_view_if_needed()
    assert image.is_visible() and image.evaluate("img => img.naturalWidth") > 0
    assert page.locator("#chart-font_dpi svg").is_visible()


def test_every_section_renders_and_is_kept_as_a_screenshot(
    browser: Any, report: tuple[Path, dict[str, Any]]
) -> None:
    path, _ = report
    page = _open(browser, path)
    SCREENS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENS / "report-top.png"))
    for section in SECTIONS:
        locator = page.locator(f"#{section}")
        assert locator.bounding_box()["height"] > 50, section
        shot = SCREENS / f"report-{section}.png"
        locator.screenshot(path=str(shot))
        assert shot.read_bytes().startswith(b"\x89PNG")
    # What a reader meets first in the case table: a regression, opened (docs/report.png).
    page.locator("#cases").scroll_into_view_if_needed()
    page.evaluate("document.getElementById('cases').scrollIntoView()")
    page.screenshot(path=str(SCREENS / "report-cases-view.png"))


def test_the_comparison_lists_the_cases_that_changed(
    browser: Any, report: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    _, after = report
    before = json.loads(json.dumps(after))
    before["cases"] = dict.fromkeys(before["cases"], True)
    html = tmp_path / "compare.html"
    html.write_text(render_comparison_report(before, after, ("before", "after")), encoding="utf-8")
    page = _open(browser, html)
    lost = [k for k, v in after["cases"].items() if not v]
    assert ALREADY in lost  # every case was consistent in "before"
    assert page.locator('tr.changed[data-direction="lost"]').count() == len(lost)
    assert "lost 3, gained 0" in page.locator("#mcnemar").inner_text()
    page.locator("#changed").screenshot(path=str(SCREENS / "compare-changed.png"))


def test_the_diagnosis_table_shows_every_level_the_results_hold(
    browser: Any, report: tuple[Path, dict[str, Any]]
) -> None:
    path, results = report
    diagnosis = results["baseline"]["diagnosis"]
    page = _open(browser, path)
    assert page.locator("#diagnosis-line").inner_text() == diagnosis_line(diagnosis)
    rows = page.locator("#diagnosis-table tr")
    assert rows.count() == 1 + len(diagnosis["levels"]) > 1
    for index, level in enumerate(diagnosis["levels"], start=1):
        cells = rows.nth(index).locator("td").all_inner_texts()
        assert cells[1:5] == [
            level["level"],
            str(level["n"]),
            str(level["lost"]),
            str(level["gained"]),
        ]
    assert diagnosis["lost"] == sum(
        lv["lost"] for lv in diagnosis["levels"] if lv["factor"] == "task"
    )


def test_the_leaderboard_sorts_by_a_clicked_column_and_reads_without_javascript(
    browser: Any, tmp_path: Path
) -> None:
    from board_runs import write_board_runs

    from rest_checks.cli import main

    runs = write_board_runs(tmp_path / "runs")
    html = tmp_path / "board.html"
    assert main(["compare", str(runs), "-o", str(html)]) == 0
    page = _open(browser, html)
    board = page.locator("#board-table")

    def names() -> list[str]:
        return [
            text.rsplit("/", 1)[-1]
            for text in board.locator("tbody tr td:first-child").all_inner_texts()
        ]

    assert names()[-1] == "much-worse"  # best RER first
    board.locator("thead th", has_text="RER").click()  # highest first
    assert names()[-1] == "much-worse"
    board.locator("thead th", has_text="RER").click()  # the other way
    assert names()[0] == "much-worse"
    board.locator("thead th", has_text="run").click()
    assert names() == sorted(names(), reverse=True)
    assert page.locator("#pairs li.shown").count() == 3
    page.locator("#board").screenshot(path=str(SCREENS / "leaderboard.png"))
    still = _open(browser, html, javascript=False)
    assert still.locator("#board-table tbody tr").count() == 4
    assert still.locator("#task-arith tbody tr").count() == 4


def test_the_leaderboard_shows_the_probe_scatter(browser: Any, tmp_path: Path) -> None:
    from board_runs import add_probe, write_board_runs

    from rest_checks.cli import main

    runs = write_board_runs(tmp_path / "runs")
    add_probe(runs)
    html = tmp_path / "board.html"
    assert main(["compare", str(runs), "-o", str(html)]) == 0
    page = _open(browser, html)
    chart = page.locator("#probe svg")
    assert chart.is_visible() and chart.bounding_box()["width"] > 300
    assert page.locator("#probe-fit").inner_text().startswith("RER = ")
    assert page.locator("#probe-table tr").count() == 1 + 4
    page.locator("#probe").screenshot(path=str(SCREENS / "leaderboard-probe.png"))


def test_the_parity_curve_shows_in_the_report(browser: Any, tmp_path: Path) -> None:
    from parity_runs import build_parity_run

    results = build_parity_run(tmp_path)
    page = _open(browser, tmp_path / "report.html")
    assert page.locator("#parity svg").is_visible()
    assert (
        page.locator("#parity-line")
        .inner_text()
        .startswith("parity: image accuracy reaches text accuracy (100.0%) at 121 DPI")
    )
    assert page.locator("#parity-table tr").count() == 1 + len(results["parity"]["steps"])
    page.locator("#parity").screenshot(path=str(SCREENS / "parity.png"))


def test_every_case_opens_to_its_pages_and_replies(browser: Any, tmp_path: Path) -> None:
    results = build_sample_run(tmp_path, rest_html="report.html", rest_report_pages="all")
    key = next(i["key"] for i in results["items"] if i["verdict"] == "consistent")
    page = _open(browser, tmp_path / "report.html")
    figure = page.locator(f'[id="page-{key}-image"]')
    assert not figure.is_visible()  # a consistent case starts closed
    page.locator(f'[id="page-{key}-image"]').locator("xpath=ancestor::details/summary").click()
    image = figure.locator("img")
    assert image.is_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
