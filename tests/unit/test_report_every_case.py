"""Every case in the report (``--rest-report-pages all``): the replies and pages of the
consistent cases too, a page shown twice embedded once, and a stated size past which pages
are named rather than embedded, the failed cases' first."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from rest_checks.case_rows import case_rows
from rest_checks.html_report import render as report_render
from rest_checks.html_report import render_report
from tests.unit.report_sample import build_sample_run


@pytest.fixture(scope="module")
def every_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("every-case")
    results = build_sample_run(root, rest_html="report.html", rest_report_pages="all")
    return root, results


def _figures(html: str) -> dict[str, str]:
    """Figure id -> its content."""
    return dict(re.findall(r'<figure id="([^"]+)">(.*?)</figure>', html, flags=re.S))


def test_consistent_cases_show_their_replies_and_pages(
    every_case: tuple[Path, dict[str, Any]],
) -> None:
    root, results = every_case
    html = (root / "report.html").read_text(encoding="utf-8")
    consistent = [i for i in results["items"] if i["verdict"] == "consistent"]
    assert consistent and all(set(i["images"]) == {"image", "mixed"} for i in consistent)
    figures = _figures(html)
    for item in consistent:
        assert f"page-{item['key']}-image" in figures
    # Their raw replies are in the page as well.
    assert html.count("<h4>Raw text reply</h4>") == len(results["items"]) + len(
        results["rest_plus_items"]
    )


def test_a_page_shown_twice_is_embedded_once(every_case: tuple[Path, dict[str, Any]]) -> None:
    root, _ = every_case
    figures = _figures((root / "report.html").read_text(encoding="utf-8"))
    # The REST+ rendering dejavu-sans-200dpi is the default rendering: the same pages.
    copy = figures["page-arith-0001@dejavu-sans-200dpi-image"]
    assert "the same page as" in copy and "<img" not in copy
    urls = re.findall(r'src="(data:image/png;base64,[^"]+)"', "".join(figures.values()))
    assert len(urls) == len(set(urls))


def test_past_the_page_budget_pages_are_named_failed_cases_first(
    every_case: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, results = every_case
    failed = {row.key for row in case_rows(results) if row.failed}
    # Room for about two pages.
    sizes = sorted(len(p.read_bytes()) for p in (root / ".rest-images").glob("*.png"))
    monkeypatch.setattr(report_render, "PAGE_BUDGET_BYTES", 3 * sizes[-1])
    figures = _figures(render_report(results, search=[root]))
    shown = [key for key, figure in figures.items() if "<img" in figure]
    assert 1 <= len(shown) < len(figures) // 4, shown
    assert all(key.removeprefix("page-").rsplit("-", 1)[0] in failed for key in shown)
    left_out = [key for key, f in figures.items() if "left out: the report" in f]
    assert len(left_out) > len(figures) // 2
