"""The end of a run: the gate, the results document, and whether the run fails.

``RunFinisher`` reads what the run set up (settings, model identity, baseline) and what it
collected (the case records, the call counts, the planned case keys) through the narrow
``RunSoFar`` view, judges it, has ``RunOutputs`` write the results JSON, the baseline and
the reports, and says how it went as an ``Outcome``: the summary lines, the JUnit suite
properties and whether the run fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rest_checks import report
from rest_checks.baselines import Baseline, GateResult, gate
from rest_checks.case_requests import rendering_spec
from rest_checks.config import RestSettings
from rest_checks.diagnosis import Diagnosis, case_factors, diagnose
from rest_checks.items.base import Item
from rest_checks.items.files import LoadResult
from rest_checks.junit_properties import Properties, case_properties, suite_properties
from rest_checks.model_gateway import ModelCalls
from rest_checks.records import CaseKind, CaseRecord
from rest_checks.results_document import ResultsDocument, RunCoverage
from rest_checks.run_outputs import NOT_WRITTEN, RunOutputs
from rest_checks.sequential import SequentialDecision, sequential_gate

# Why a planned case that never came home is an error of its case.
NEVER_FINISHED = (
    "the case never finished: the process running it was lost (a crashed xdist worker) or "
    "the test stopped before recording it"
)


@dataclass
class Outcome:
    """The end of a run: the summary lines, and whether the run must fail."""

    lines: list[str] = field(default_factory=list)
    failed: bool = False
    # The run in a few named values, for a JUnit report's test-suite properties.
    properties: Properties = field(default_factory=list)


class RunSoFar(Protocol):
    """What finishing reads of a run: what it was set up with and what it collected."""

    settings: RestSettings
    identity: dict[str, Any]
    baseline: Baseline | None
    baseline_explicit: bool
    prices: dict[str, float]
    calls: ModelCalls
    item_loads: list[LoadResult]
    # The finished cases, and the calls counted by xdist workers (merged on the controller).
    records: list[CaseRecord]
    sequential: SequentialDecision | None
    not_needed: frozenset[str]

    @property
    def planned_keys(self) -> set[str]: ...

    def items(self) -> list[Item]: ...

    def fingerprints(self) -> dict[str, str]: ...

    def signature(self) -> dict[str, Any]: ...


class RunFinisher:
    """Finishes a run: judges it, writes its outputs and says how it went."""

    def __init__(self, run: RunSoFar, files: RunOutputs) -> None:
        self.run = run
        self.files = files

    # --- the end --------------------------------------------------------------------------

    def finish(
        self,
        interrupted: bool = False,
        stopped: bool = False,
        step_summary: Path | None = None,
        artifact_url: str | None = None,
    ) -> Outcome:
        """Metrics, the gate, the results JSON, the reports and (with ``--snapshot-update``)
        the baseline. ``interrupted``: Ctrl-C or an internal error ended the run;
        ``stopped``: ``-x``/``--maxfail`` or a refused key ended it early. Only a whole run
        (every case of the configuration answered, nothing stopped) gives a verdict beyond
        inconclusive or writes a baseline; the results JSON says ``complete`` and the
        coverage. ``step_summary``: a file (CI's step summary) the Markdown summary is
        appended to; ``artifact_url``: where CI keeps the HTML report."""
        ended_early = interrupted or stopped
        if not self.run.records and (ended_early or not self.run.planned_keys):
            # Stopped before any case: no results to speak of.
            return Outcome(lines=[self._kept_line()] if interrupted else [])
        records = sorted(self.run.records + self._never_finished(ended_early), key=lambda r: r.key)
        run_coverage = self._coverage(records, ended_early)
        gate_result, diagnosis = self._judge(records)
        results = self._results(records, gate_result, diagnosis, run_coverage)
        outcome = Outcome(
            lines=report.format_summary(results), properties=suite_properties(results)
        )
        written = self.files.write_records(results, run_coverage)
        outcome.lines.extend(written)
        # Results or a baseline that could not be written fail the run: CI reads them.
        # The reports below are for people; one that fails costs nothing else.
        unwritten = any(NOT_WRITTEN in line for line in written)
        if interrupted:
            outcome.lines.append(self._kept_line())
        # Last, so a report that cannot be written costs nothing else of the run.
        outcome.lines.extend(self.files.write_reports(results, step_summary, artifact_url))
        errors = sum(r.error is not None for r in records)
        outcome.failed = unwritten or self._fails(errors, gate_result)
        return outcome

    def _judge(self, records: Sequence[CaseRecord]) -> tuple[GateResult | None, Diagnosis | None]:
        """The baseline gate and the diagnosis of what changed; none without a baseline
        or while one is being written."""
        run, s = self.run, self.run.settings
        if run.baseline is None or s.update_baseline:
            return None, None
        answered = {r.key for r in records if r.error is None}
        judged = [r for r in records if r.kind == "cross_modal" and r.error is None]
        gate_result = gate(
            run.baseline,
            {r.key: r.consistent for r in judged},
            s.alpha,
            s.tolerance,
            tasks={r.key: r.task for r in judged},
            answered=answered | run.not_needed,
        )
        if run.sequential is not None:
            gate_result = sequential_gate(gate_result, run.sequential)
        diagnosis = diagnose(
            run.baseline.cases,
            {r.key: r.consistent for r in records if r.error is None},
            case_factors(records, run.items(), rendering_spec),
            s.alpha,
        )
        return gate_result, diagnosis

    def _results(
        self,
        records: list[CaseRecord],
        gate_result: GateResult | None,
        diagnosis: Diagnosis | None,
        run_coverage: RunCoverage,
    ) -> ResultsDocument:
        """The results document of the run (``report.build_results``)."""
        run = self.run
        return report.build_results(
            settings=run.settings,
            identity=run.identity,
            records=records,
            calls=run.calls.counter.to_json(),
            baseline=run.baseline,
            baseline_explicit=run.baseline_explicit,
            gate_result=gate_result,
            diagnosis=diagnosis,
            prices=run.prices,
            signature=run.signature(),
            complete=run_coverage["complete"],
            coverage=run_coverage,
            sources=[load.to_json() for load in run.item_loads],
            subjects={item.id: item.subject for item in run.items() if item.subject},
        )

    def _fails(self, errors: int, gate_result: GateResult | None) -> bool:
        """Whether the run fails for its cases: more model errors than tolerated, or the
        gate's verdict (inconclusive only with ``--rest-fail-inconclusive``)."""
        s = self.run.settings
        if errors > s.allow_errors:
            return True
        if gate_result is not None and gate_result.verdict == "failed":
            return True
        return (
            gate_result is not None
            and gate_result.verdict == "inconclusive"
            and s.fail_inconclusive
        )

    def _never_finished(self, ended_early: bool) -> list[CaseRecord]:
        """Planned cases that never came home in a run that was not stopped: the process
        running them was lost (an xdist worker that died) or the test broke before it
        recorded anything. Each is an error of its case."""
        if ended_early:
            return []
        finished = {r.key for r in self.run.records}
        by_id = {item.id: item for item in self.run.items()}
        lost = []
        for key in sorted(self.run.planned_keys - finished - self.run.not_needed):
            item_id, _, rendering = key.partition("@")
            item = by_id.get(item_id)
            kind: CaseKind = (
                "cross_modal"
                if not rendering
                else "invariance"
                if rendering == "invariance"
                else "rest_plus"
            )
            lost.append(
                CaseRecord(
                    key=key,
                    kind=kind,
                    item_id=item_id,
                    task=item.task if item else "",
                    rendering=rendering or "default",
                    expected=item.expected if item else "",
                    answers={},
                    raw={},
                    consistent=False,
                    error=NEVER_FINISHED,
                )
            )
        return lost

    def _coverage(self, records: Sequence[CaseRecord], ended_early: bool) -> RunCoverage:
        """Which cases of this configuration (items, REST+ grid, Hypothesis checks) got an
        answer. ``complete``: all of them, and the run was not stopped."""
        not_needed = self.run.not_needed
        configuration = set(self.run.fingerprints()) - not_needed
        answered = {r.key for r in records if r.error is None}
        errored = {r.key for r in records if r.error is not None}
        not_run = sorted(configuration - answered - errored)
        return {
            "complete": not ended_early and not errored and configuration <= answered,
            "ended_early": ended_early,
            "cases": len(configuration),
            "answered": len(configuration & answered),
            "errors": len(errored),
            "not_run": not_run,
            "not_needed": len(not_needed),
        }

    def _kept_line(self) -> str:
        """What an interrupted run kept: every reply it received is in the cache already
        (each is stored as it arrives), so a rerun asks only for the others."""
        counter = self.run.calls.counter
        received = counter.model_calls - counter.errors
        cache = self.run.calls.cache
        if cache is None:
            return "run interrupted: no reply was kept (--rest-no-cache); a rerun asks again"
        what = f"the {received} replies received are" if received > 0 else "every reply received is"
        return (
            f"run interrupted: {what} kept in the cache {cache.directory}; "
            "a rerun asks only for the others"
        )

    # --- per test -------------------------------------------------------------------------

    def case_properties(self, key: str) -> Properties:
        """What a JUnit report records of a finished case (``junit_properties``); nothing
        when the case has not finished here."""
        record = next((r for r in reversed(self.run.records) if r.key == key), None)
        if record is None:
            return []
        baseline = self.run.baseline
        baseline_state = None if baseline is None else baseline.consistent(key)
        return case_properties(record, baseline_state, self.run.settings.update_baseline)
