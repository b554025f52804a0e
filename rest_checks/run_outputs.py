"""The files a run writes: which they are, checked writable before any model call,
cleared at the start so a stopped run leaves none of an earlier one, and written at the end
(the results JSON, the baseline, then the reports), each failure one line in the summary.

A results JSON or a baseline that cannot be written fails the run (CI reads them); a
report that cannot be written costs nothing else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rest_checks import report
from rest_checks.atomic import (
    check_folder_writable,
    check_writable,
    describe_os_error,
    remove_stale_temps,
)
from rest_checks.baselines import write_baseline
from rest_checks.config import RestSettings
from rest_checks.csv_export import write_csv
from rest_checks.html_report import ReportDependencyError, render_report, write_report
from rest_checks.response_store import ResponseCache
from rest_checks.results_document import ResultsDocument, RunCoverage
from rest_checks.step_summary import markdown_summary
from rest_checks.wording import named

# What a summary line of an output that could not be written says (and fails the run by).
NOT_WRITTEN = " NOT written to "


class RunOutputs:
    """The run's output files, from its settings; ``cache``: the response cache, if any."""

    def __init__(self, settings: RestSettings, cache: ResponseCache | None) -> None:
        self.settings = settings
        self.cache = cache

    def outputs(self) -> list[tuple[str, Path]]:
        """Every file this run was asked to write, and what it is."""
        s = self.settings
        wanted = [
            ("results JSON", s.json_path),
            ("HTML report", s.html_path),
            ("CSV", s.csv_path),
            ("baseline", s.baseline_path if s.update_baseline else None),
        ]
        return [(what, path) for what, path in wanted if path is not None]

    def check_outputs(self) -> None:
        """Before any model call: raise ``OutputError`` naming the first output (or the
        response cache) that cannot be written, so no run ends with its replies unsaved."""
        for what, path in self.outputs():
            check_writable(path, f"the {what}")
        if self.cache is not None:
            check_folder_writable(
                self.cache.directory,
                "the response cache",
                hint="give another with --rest-cache DIR, or run with --rest-no-cache",
            )

    def start(self) -> None:
        """On the controller, before any test: remove the earlier results file and the
        reports this run will replace, so that a run that stops early never leaves one a
        CI step would read as this run's; and the temporary files killed runs left."""
        for what, path in self.outputs():
            if what != "baseline":  # kept: a stopped run writes none, so the old one holds
                path.unlink(missing_ok=True)
        folders = {path.parent for _, path in self.outputs()}
        for folder in folders | {self.settings.baseline_path.parent}:
            remove_stale_temps(folder)
        if self.cache is not None:
            self.cache.remove_stale_temps()

    def write_records(self, results: ResultsDocument, run_coverage: RunCoverage) -> list[str]:
        """The results JSON and (with ``--snapshot-update``) the baseline: one line each."""
        s = self.settings
        lines = []
        if s.json_path is not None:
            json_path = s.json_path
            lines.append(
                _written(
                    "results",
                    json_path,
                    lambda: report.write_results(json_path, results),
                    f"results written to {json_path}",
                )
            )
        if s.update_baseline:
            lines.append(self._write_baseline(results, run_coverage))
        return lines

    def write_reports(
        self, results: ResultsDocument, step_summary: Path | None, artifact_url: str | None
    ) -> list[str]:
        """The HTML report, the CSV and the CI summary the settings ask for. One that
        cannot be written is said in the summary and stops none of the others."""
        s = self.settings
        report_name = None if s.html_path is None else s.html_path.name

        def html() -> str:
            assert s.html_path is not None
            write_report(s.html_path, render_report(results, search=[s.rootdir, Path.cwd()]))
            return f"HTML report written to {s.html_path}"

        def csv() -> str:
            assert s.csv_path is not None
            write_csv(s.csv_path, results)
            return f"cases written as CSV to {s.csv_path}"

        def summary() -> str:
            assert step_summary is not None
            with open(step_summary, "a", encoding="utf-8") as handle:
                handle.write(markdown_summary(results, report_name, artifact_url))
            return ""

        wanted = [
            ("HTML report", html, s.html_path),
            ("CSV", csv, s.csv_path),
            ("step summary", summary, step_summary),
        ]
        lines = []
        for what, write, target in wanted:
            if target is None:
                continue
            try:
                line = write()
            except OSError as exc:
                line = f"{what}{NOT_WRITTEN}{target}: {describe_os_error(exc)}"
            except (ReportDependencyError, ValueError, KeyError, TypeError) as exc:
                line = f"{what}{NOT_WRITTEN}{target}: {type(exc).__name__}: {exc}"
            if line:
                lines.append(line)
        return lines

    def _write_baseline(self, results: ResultsDocument, run_coverage: RunCoverage) -> str:
        """Write the baseline of a whole run; say why not otherwise (the line says "NOT
        written to", which fails the run)."""
        path = self.settings.baseline_path
        why = None
        if run_coverage["ended_early"]:
            why = "the run was stopped before its end (Ctrl-C, -x/--maxfail or a refused key)"
        elif run_coverage["errors"]:
            why = (
                f"{run_coverage['errors']} case(s) got no reply from the model (see the errors "
                "above)"
            )
        elif run_coverage["not_run"]:
            not_run = run_coverage["not_run"]
            why = (
                f"{len(not_run)} of the {run_coverage['cases']} cases of this configuration "
                f"did not run (-k, -m, --lf or deselection): {named(not_run)}"
            )
        if why is not None:
            return f"baseline{NOT_WRITTEN}{path}: {why}; a baseline records every case"
        document = report.baseline_from_results(results)
        return _written(
            "baseline", path, lambda: write_baseline(path, document), f"baseline written to {path}"
        )


def _written(what: str, path: Path, write: Callable[[], None], done: str) -> str:
    """``done`` once ``write()`` has written ``path``; else one line naming the path and
    the error (the errno's name and words), and the run goes on to its other outputs."""
    try:
        write()
    except OSError as exc:
        return f"{what}{NOT_WRITTEN}{path}: {describe_os_error(exc)}"
    return done
