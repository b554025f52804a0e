"""Fill the templates from results documents (needs jinja2 and matplotlib)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from rest_checks.case_rows import VERDICTS, CaseRow, case_rows, verdict_counts
from rest_checks.compare import compare_results
from rest_checks.diagnosis import FACTOR_NAMES
from rest_checks.diagnosis_text import diagnosis_line
from rest_checks.html_report.charts import parity_chart, probe_scatter, rest_plus_charts
from rest_checks.html_report.pages import EmbeddedPage, load_page
from rest_checks.leaderboard import Leaderboard
from rest_checks.modalities import ANSWER_MODALITIES
from rest_checks.model_gateway import describe_calls
from rest_checks.parity import parity_line, parity_point_words
from rest_checks.rates_text import agreement_rates, headline_rates
from rest_checks.reply_outcomes import outcome_phrases
from rest_checks.results_document import Metrics, Rate, ResultsDocument
from rest_checks.token_usage import usage_lines
from rest_checks.verdict_text import gate_lines
from rest_checks.wording import pct

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("rest_checks.html_report", "templates"),
    autoescape=True,  # every value from a results file is text, model replies above all
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


_ENV.filters["pct"] = pct
_ENV.filters["describe_calls"] = describe_calls


def _script(name: str = "filter.js") -> tuple[Markup, Markup]:
    """A page's script and its CSP hash: the only script the page may run."""
    source = (Path(__file__).parent / "templates" / name).read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii")
    return Markup(source), Markup(f"'sha256-{digest}'")


def _headline(metrics: Metrics) -> list[tuple[str, dict[str, Any]]]:
    rows: list[tuple[str, Rate]] = headline_rates(metrics)
    rows += [(f"agreement {pair}", rate) for pair, rate in agreement_rates(metrics)]
    return [(name, {**r, "low": r["ci95"][0], "high": r["ci95"][1]}) for name, r in rows]


def _ocr(metrics: Metrics) -> dict[str, Any] | None:
    if metrics["ocr_cer"] is None:
        return None
    return {
        "cer": metrics["ocr_cer"],
        "n": metrics["n_ocr"],
        "n_perfect": metrics["n_ocr_perfect"],
        "rer_perfect": metrics["rer_ocr_perfect"],
    }


# The most page data (base64) one report embeds; the failed cases' pages come first.
PAGE_BUDGET_BYTES = 40_000_000


def _case_pages(
    rows: Sequence[CaseRow], search: Sequence[Path]
) -> dict[str, dict[str, EmbeddedPage]]:
    """The pages of every case that kept them (``--rest-report-pages all`` keeps every
    case's), failed cases first, within ``PAGE_BUDGET_BYTES``: past it a page is named
    with where it lies instead. A page shown before (the same bytes) is embedded once and
    its copies refer to it (``EmbeddedPage.same_as``)."""
    pages: dict[str, dict[str, EmbeddedPage]] = {}
    seen: dict[str, str] = {}  # data URL -> the anchor of its first figure
    spent, spent_all = 0, False
    for row in sorted(rows, key=lambda r: not r.failed):
        for modality, path in row.images.items():
            page = load_page(path, search)
            anchor = f"page-{row.key}-{modality}"
            if page.data_url is not None and page.data_url in seen:
                page = EmbeddedPage(path, same_as=seen[page.data_url])
            elif page.data_url is not None and (
                spent_all or spent + len(page.data_url) > PAGE_BUDGET_BYTES
            ):
                spent_all = True  # no smaller page after it: the order is the priority
                page = EmbeddedPage(
                    path,
                    missing=f"left out: the report's {PAGE_BUDGET_BYTES // 1_000_000} MB of "
                    f"pages are spent; the page is at {path}",
                )
            elif page.data_url is not None:
                spent += len(page.data_url)
                seen[page.data_url] = anchor
            pages.setdefault(row.key, {})[modality] = page
    return pages


def render_run(results: ResultsDocument, search: Sequence[Path]) -> str:
    rows = case_rows(results)
    pages = _case_pages(rows, search)
    invariance = results.get("invariance") or {"n_items": 0, "counterexamples": {}}
    invariance_pages = {
        item: load_page(path, search) for item, path in invariance.get("pages", {}).items()
    }
    filters = [
        ("task", "task", sorted({r.task for r in rows})),
        ("verdict", "verdict", [v for v in VERDICTS if any(r.verdict == v for r in rows)]),
        ("rendering", "rendering", sorted({r.rendering for r in rows})),
    ]
    script, script_hash = _script()
    baseline = results.get("baseline") or {"present": False, "gate": None, "path": ""}
    diagnosis = results["baseline"].get("diagnosis") if results.get("baseline") else None
    usage, parity = results.get("usage"), results.get("parity")
    return _ENV.get_template("report.html.j2").render(
        results=results,
        identity_json=json.dumps(results.get("model_identity", {}), indent=2, sort_keys=True),
        signature_json=json.dumps(results.get("signature", {}), indent=2, sort_keys=True),
        baseline=baseline,
        gate=baseline.get("gate"),
        gate_lines=gate_lines(results) if baseline.get("gate") else [],
        diagnosis=diagnosis,
        diagnosis_line=diagnosis_line(diagnosis) if diagnosis else "",
        factor_names=FACTOR_NAMES,
        headline=_headline(results["metrics"]),
        ocr=_ocr(results["metrics"]),
        outcomes=outcome_phrases(results.get("outcomes") or {}),
        usage=usage,
        parity=parity,
        parity_line=parity_line(parity) if parity else "",
        parity_chart=Markup(parity_chart(parity)) if parity else "",
        usage_lines=usage_lines(usage) if usage else [],
        rest_plus=results.get("rest_plus", {}),
        charts=rest_plus_charts(results.get("rest_plus", {})),
        invariance=invariance,
        invariance_pages=invariance_pages,
        rows=rows,
        counts=verdict_counts(rows),
        pages=pages,
        filters=filters,
        modalities=ANSWER_MODALITIES,
        script=script,
        script_hash=script_hash,
    )


def render_comparison(
    first: ResultsDocument, second: ResultsDocument, names: tuple[str, str]
) -> str:
    comparison = compare_results(first, second, names)
    return _ENV.get_template("compare.html.j2").render(
        comparison=comparison,
        modalities=ANSWER_MODALITIES,
        script=None,
        script_hash=Markup("'none'"),
    )


def render_leaderboard(board: Leaderboard) -> str:
    script, script_hash = _script("sort.js")
    return _ENV.get_template("leaderboard.html.j2").render(
        board=board,
        probe_chart=Markup(probe_scatter(board.probe)) if board.probe else "",
        parity_words=parity_point_words,
        overall=[(run, rates) for run, rates, _ in board.rows],
        by_task=[
            (task, [(run, tasks[task]) for run, _, tasks in board.rows if task in tasks])
            for task in board.tasks
        ],
        script=script,
        script_hash=script_hash,
    )
