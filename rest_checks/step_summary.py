"""The run as Markdown for a CI page: appended to ``$GITHUB_STEP_SUMMARY`` when GitHub
Actions sets it. The headline table, the gate's verdict, and the regressed cases, each
pointing into the HTML report when the run wrote one."""

from __future__ import annotations

from collections.abc import Mapping

from rest_checks.case_rows import case_rows
from rest_checks.diagnosis_text import diagnosis_line
from rest_checks.rates_text import headline_rates
from rest_checks.reply_outcomes import outcome_phrases
from rest_checks.results_document import ResultsDocument
from rest_checks.verdict_text import gate_lines
from rest_checks.wording import NAMED, pct


def _cell(text: object) -> str:
    """Text safe inside a Markdown table cell: no pipes, no markup, one line."""
    escaped = str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    for char in "`*_[]<>#":
        escaped = escaped.replace(char, "\\" + char)
    return escaped


# Public for the other Markdown pages (the leaderboard).
markdown_cell = _cell


def _gate_line(results: ResultsDocument) -> str:
    base = results["baseline"]
    lines = gate_lines(results)
    gate = base["gate"]
    if not lines or gate is None:
        if base["present"]:
            return "**Baseline gate:** none (the baseline is being rewritten)"
        return f"**Baseline gate:** no baseline at `{_cell(base['path'])}`"
    verdict = gate["verdict"].upper()
    first, *rest = lines
    text = f"**Baseline gate: {verdict}**" + _cell(first[first.index(verdict) + len(verdict) :])
    diagnosis = base["diagnosis"]
    if diagnosis:
        rest.append(diagnosis_line(diagnosis))
    return "<br>".join([text, *(_cell(line.strip()) for line in rest)])


def artifact_page(environ: Mapping[str, str]) -> str | None:
    """The page of this GitHub Actions run, which lists its uploaded artifacts."""
    parts = [environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    if not all(parts):
        return None
    server, repository, run_id = parts
    return f"{server}/{repository}/actions/runs/{run_id}#artifacts"


def markdown_summary(
    results: ResultsDocument, report_name: str | None = None, artifact_url: str | None = None
) -> str:
    """``report_name``: the HTML report's file name, if the run wrote one; ``artifact_url``:
    where CI keeps it. Each regressed case names its anchor in the report."""
    lines = [
        f"## rest-checks: {_cell(results['model'])}",
        "",
        _gate_line(results),
        "",
        "| metric | value | 95% interval | count |",
        "|---|---:|---:|---:|",
    ]
    for name, rate in headline_rates(results["metrics"]):
        low, high = rate["ci95"]
        lines.append(
            f"| {name} | {pct(rate['value'])} | [{pct(low)}, {pct(high)}] "
            f"| {rate['k']}/{rate['n']} |"
        )
    outcomes = outcome_phrases(results["outcomes"])
    if outcomes:
        lines += ["", f"**No answer:** {_cell('; '.join(outcomes))}"]
    rows = case_rows(results)
    errors = [r for r in rows if r.verdict == "error"]
    if errors:
        lines += ["", f"**{len(errors)} case(s) got no reply from the model** and are in no rate."]
    regressed = [r for r in rows if r.verdict == "regression"]
    lines += ["", f"### Regressions ({len(regressed)})", ""]
    if not regressed:
        lines.append("None: no case that was consistent in the baseline is inconsistent now.")
    for row in regressed[:NAMED]:
        name = _cell(row.key)
        if artifact_url:
            name = f"[{name}]({artifact_url})"
        where = f" — `{report_name}#case-{row.key}`" if report_name else ""
        answers = ", ".join(f"{m} {_cell(row.answer_label(m))}" for m in row.answers)
        lines.append(f"- {name} (expected {_cell(row.expected)}): {answers}{where}")
    if len(regressed) > NAMED:
        lines.append(f"- and {len(regressed) - NAMED} more")
    if report_name:
        target = f"[{_cell(report_name)}]({artifact_url})" if artifact_url else f"`{report_name}`"
        lines += ["", f"The HTML report: {target}, with the pages the model saw."]
    return "\n".join(lines) + "\n"
