"""A run's results as one self-contained HTML file: charts as inline SVG, the pages the
model saw as data URLs, no script or style from anywhere else. Everything the model wrote
is escaped by the template engine (autoescape), and the page's Content-Security-Policy lets
only its own filter script run, so a reply holding markup is shown as text.

Needs the ``report`` extra (matplotlib, jinja2); ``require_report_dependencies`` says so
before a run starts.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rest_checks.atomic import write_atomic

if TYPE_CHECKING:
    from rest_checks.leaderboard import Leaderboard
    from rest_checks.results_document import ResultsDocument

REPORT_DEPENDENCIES = ("matplotlib", "jinja2")


class ReportDependencyError(RuntimeError):
    """The HTML report was asked for without its optional dependencies."""


def require_report_dependencies(what: str = "the HTML report") -> None:
    missing = [m for m in REPORT_DEPENDENCIES if importlib.util.find_spec(m) is None]
    if missing:
        raise ReportDependencyError(
            f"{what} needs {', '.join(missing)}: pip install 'rest-checks[report]'"
        )


def render_report(results: ResultsDocument, search: Sequence[Path] = ()) -> str:
    """The report of one run as HTML text; page paths are looked up under ``search``."""
    require_report_dependencies()
    from rest_checks.html_report.render import render_run

    return render_run(results, search)


def render_comparison_report(
    first: ResultsDocument, second: ResultsDocument, names: tuple[str, str]
) -> str:
    """Two runs side by side as HTML text."""
    require_report_dependencies("the comparison report")
    from rest_checks.html_report.render import render_comparison

    return render_comparison(first, second, names)


def render_leaderboard_report(board: Leaderboard) -> str:
    """Many runs side by side as HTML text (``rest_checks.leaderboard``)."""
    require_report_dependencies("the leaderboard page")
    from rest_checks.html_report.render import render_leaderboard

    return render_leaderboard(board)


def write_report(path: Path, html: str) -> None:
    """Write atomically, so a CI step never uploads half a report."""
    write_atomic(path, html)


__all__ = [
    "ReportDependencyError",
    "render_comparison_report",
    "render_leaderboard_report",
    "render_report",
    "require_report_dependencies",
    "write_report",
]
