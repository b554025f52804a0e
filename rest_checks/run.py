"""One REST run: its items, the (cached) model, the finished cases, and the end of the run.

The pytest plugin makes one ``RestRun`` per process and forwards its hooks here:

- ``plan(cases)`` after collection: the (item, rendering) cases this process will run;
- ``prefetch(share)`` before the first test: ask the model for them in one batch, or
  (``window``: under ``-x`` / ``--maxfail``) for the first few, and ``ask_ahead(case)``
  before each test for the next few in test order;
- the tests call ``cross_modal``, ``text_answer``, ``check_rendering``, ``conclude``;
- ``payload()`` on an xdist worker and ``merge(payload)`` on the controller;
- ``finish(exitstatus)`` on the controller: metrics, the baseline gate, the results JSON
  and the baseline, as an ``Outcome`` (the summary lines and whether the run failed).

Nothing here imports pytest, so the whole flow is unit-tested without it.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rest_checks import report
from rest_checks.answers import extract_answer, solution_variables
from rest_checks.asking_ahead import ASK_AHEAD_WINDOW, AskingAhead
from rest_checks.atomic import (
    check_folder_writable,
    check_writable,
    describe_os_error,
    remove_stale_temps,
)
from rest_checks.baselines import (
    Baseline,
    BaselineMismatch,
    check_compatible,
    gate,
    run_signature,
    write_baseline,
)
from rest_checks.cache import ResponseCache
from rest_checks.case_requests import (
    Case,
    case_requests,
    key_of,
    plus_renderings,
    rendering_spec,
    with_budget,
)
from rest_checks.case_rows import case_verdict
from rest_checks.config import RestSettings
from rest_checks.csv_export import write_csv
from rest_checks.diagnosis import case_factors, diagnose
from rest_checks.html_report import ReportDependencyError, render_report, write_report
from rest_checks.items.base import Item
from rest_checks.items.files import LoadResult
from rest_checks.items.suites import load_suite
from rest_checks.metrics import character_error_rate, consistent, same_answer
from rest_checks.modalities import ANSWER_MODALITIES, Modality
from rest_checks.model_gateway import CallCounter, ModelCalls
from rest_checks.models.base import Model, ModelError, ModelUnusableError, Response
from rest_checks.progress import Progress
from rest_checks.prompts import Request, image_request, text_request
from rest_checks.records import CaseKind, CaseRecord, case_fingerprint, case_key
from rest_checks.render import DEFAULT_SPEC, RenderSpec, describe_spec
from rest_checks.reply_outcomes import AMBIGUOUS, TRUNCATED, was_cut
from rest_checks.sequential import SequentialDecision, sequential_gate
from rest_checks.step_summary import markdown_summary
from rest_checks.verdict_text import named
from rest_checks.verdicts import InconsistentAnswers, Verdict, judge


@dataclass
class Outcome:
    """The end of a run: the summary lines, and whether the run must fail."""

    lines: list[str] = field(default_factory=list)
    failed: bool = False
    # The run in a few named values, for a JUnit report's test-suite properties.
    properties: list[tuple[str, str]] = field(default_factory=list)


def plus_items(items: Sequence[Item], per_task: int) -> list[Item]:
    """The first ``per_task`` items of each task source: the ones REST+ perturbs."""
    if per_task <= 0:
        return list(items)
    seen: dict[str, int] = {}
    chosen = []
    for item in items:
        if seen.get(item.task, 0) < per_task:
            seen[item.task] = seen.get(item.task, 0) + 1
            chosen.append(item)
    return chosen


def suite_properties(results: dict[str, Any]) -> list[tuple[str, str]]:
    """The run's headline and the gate's verdict as (name, value) pairs."""
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


def _sequential_properties(gate_result: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """A sequential run's items asked and requests saved (nothing for a fixed run)."""
    sequential = None if gate_result is None else gate_result.get("sequential")
    if not sequential:
        return []
    return [
        ("rest_gate_items_asked", f"{sequential['items_asked']}/{sequential['items']}"),
        ("rest_gate_requests_saved", str(sequential["requests_saved"])),
    ]


class RestRun:
    """Asks the model about items and keeps what came back, then judges the run."""

    def __init__(
        self,
        settings: RestSettings,
        model: Model,
        *,
        baseline: Baseline | None = None,
        baseline_explicit: bool = False,
        image_dir: Path | None = None,
        hypothesis_profile: str = "",
        with_ocr: bool = True,
        prices: Mapping[str, float] | None = None,
    ) -> None:
        self.settings = settings
        # The model's prices per million tokens (models file), for the run's cost.
        self.prices = dict(prices or {})
        cache = ResponseCache(settings.cache_dir) if settings.cache_dir else None
        self.calls = ModelCalls(model, cache)
        self.asking = AskingAhead(self.calls, settings, with_ocr, self._run_cases)
        # The folder the xdist workers of a run without a disk cache share their replies
        # through (made on the controller, removed at its end).
        self._shared_folder: Path | None = None
        # The answer budget changes answers (cut or not), so it belongs to the identity.
        self.identity = self.calls.identity
        if settings.max_tokens is not None:
            self.identity = {**self.identity, "max_tokens": settings.max_tokens}
        self.baseline = baseline
        self.baseline_explicit = baseline_explicit
        self.image_dir = image_dir or settings.rootdir / ".rest-images"
        self.hypothesis_profile = hypothesis_profile
        self.with_ocr = with_ocr
        self.records: list[CaseRecord] = []
        # What each item file or directory gave: layout, items kept and dropped.
        self.item_loads: list[LoadResult] = []
        self._items: list[Item] | None = None
        # The rendering each item's Hypothesis check tried last: after shrinking, the
        # simplest failing one.
        self._last_rendering: dict[str, tuple[RenderSpec, str | None]] = {}
        # Per item, the first Hypothesis rendering whose request failed for good.
        self._rendering_failures: dict[str, str] = {}
        # Case keys each process planned (under xdist, every worker's, merged here).
        self._planned_keys: set[str] = set()
        # The sequential gate's decision (--rest-sequential), and the case keys it did not
        # need: they are not asked, their tests are skipped, the run is not partial for them.
        self.sequential: SequentialDecision | None = None

    # --- items ----------------------------------------------------------------------------

    def items(self) -> list[Item]:
        if self._items is None:
            s = self.settings
            self._items = load_suite(s.suite_sources(), s.n, s.seed, self.item_loads, s.layout)
        return self._items

    def items_payload(self) -> str:
        """The items as JSON: generated once on the xdist controller, sent to the workers."""
        return json.dumps([asdict(item) for item in self.items()])

    def use_items(self, payload: str) -> None:
        """Take the items of :meth:`items_payload` instead of generating them again."""
        self._items = [
            Item(**{**row, "options": tuple(row["options"])}) for row in json.loads(payload)
        ]

    def plus_items(self) -> list[Item]:
        return plus_items(self.items(), self.settings.plus_n)

    def signature(self) -> dict[str, Any]:
        """What the run's cases depend on besides the model (see ``baselines``)."""
        return run_signature(self.settings, self.hypothesis_profile)

    def fingerprints(self) -> dict[str, str]:
        """Every case this configuration can run, by key, with its content fingerprint."""
        prints = {case_key(i.id): case_fingerprint(i, DEFAULT_SPEC) for i in self.items()}
        if self.settings.plus:
            for item in self.plus_items():
                for name, spec in plus_renderings(self.settings).items():
                    prints[case_key(item.id, name)] = case_fingerprint(item, spec)
                prints[case_key(item.id, "invariance")] = case_fingerprint(item, None)
        return prints

    def check_baseline(self) -> None:
        """Refuse a baseline of other items, settings or model before any model call.

        Raises ``BaselineMismatch`` saying what differs and the ways out.
        """
        if self.baseline is None or self.settings.update_baseline:
            return
        check_compatible(
            self.baseline,
            signature=self.signature(),
            fingerprints=self.fingerprints(),
            identity=self.identity,
            model=self.settings.model,
            explicit=self.baseline_explicit,
        )

    def header_lines(self) -> list[str]:
        s = self.settings
        lines = [
            f"{s.header()} items={len(self.items())}",
            f"rest-checks: model identity {json.dumps(self.identity, sort_keys=True)}",
        ]
        lines.extend(f"rest-checks: items from {load.message}" for load in self.item_loads)
        lines.append(
            f"rest-checks: baseline {s.baseline_path}"
            + ("" if self.baseline else " (none yet: every inconsistency fails)")
            + (" (being rewritten: --snapshot-update)" if s.update_baseline else "")
        )
        if s.sequential:
            lines.append(
                "rest-checks: sequential gate (--rest-sequential): items asked in waves until "
                "the verdict is certain; the rest are skipped"
            )
        return lines

    # --- asking ahead (``rest_checks.asking_ahead``) ---------------------------------------

    @property
    def not_needed(self) -> frozenset[str]:
        """The case keys the sequential gate decided without: not asked, their tests
        skipped, the run not partial for them."""
        return self.asking.not_needed

    @not_needed.setter
    def not_needed(self, keys: frozenset[str]) -> None:
        self.asking.not_needed = frozenset(keys)

    def _run_cases(self) -> list[Case]:
        """Every case of the configured run in the suite's order (the Hypothesis checks
        ask as they go, so they are not among them)."""
        cases: list[Case] = [(item, "default") for item in self.items()]
        if self.settings.plus:
            names = plus_renderings(self.settings)
            cases += [(item, name) for item in self.plus_items() for name in names]
        return cases

    def plan(self, cases: Sequence[Case]) -> None:
        """Remember the cases this process will run, in test order (``AskingAhead.plan``)."""
        self._planned_keys.update(self.asking.plan(cases))

    def planned(self) -> list[Case]:
        return self.asking.planned()

    def requests_for(self, item: Item, rendering: str | None) -> list[Request]:
        return self.asking.requests_for(item, rendering)

    def stored(self, item: Item, rendering: str | None) -> bool:
        return self.asking.stored(item, rendering)

    def ask(self, cases: list[Case], progress: Progress | None = None) -> tuple[int, int]:
        return self.asking.ask(cases, progress)

    def prefetch(
        self,
        share: tuple[int, int] | None = None,
        *,
        window: int | None = None,
        progress: Progress | None = None,
    ) -> tuple[int, int]:
        return self.asking.prefetch(share, window=window, progress=progress)

    def ask_ahead(self, item: Item, rendering: str | None) -> tuple[int, int]:
        return self.asking.ask_ahead(item, rendering)

    def skip_reason(self, item: Item, rendering: str | None) -> str | None:
        """Why a case is not run: the sequential gate decided without it; else None."""
        if self.sequential is None or key_of(item, rendering) not in self.not_needed:
            return None
        return self.sequential.reason()

    def shared_folder(self) -> str | None:
        """On the xdist controller of a run without a disk cache: a folder, new for this
        run, through which its workers share their replies (``None`` with a cache)."""
        if self.calls.cache is not None:
            return None
        if self._shared_folder is None:
            self._shared_folder = Path(tempfile.mkdtemp(prefix="rest-checks-replies-"))
        return str(self._shared_folder)

    def use_shared_folder(self, folder: str | None) -> None:
        """On an xdist worker: keep replies in the run's shared folder (if any)."""
        if folder is not None and self.calls.cache is None:
            self.calls.share_through(ResponseCache(Path(folder)))

    # --- cases ----------------------------------------------------------------------------

    def _extract(self, response: Response, item: Item) -> tuple[str | None, str | None]:
        """The answer of a reply and the rule that read it, or why there is none
        (``rest_checks.reply_outcomes``)."""
        if was_cut(response.extra):
            return None, TRUNCATED
        variables = solution_variables(item.expected) if item.answer_type == "solution" else ()
        found = extract_answer(
            response.text,
            item.answer_type,
            lenient=self.settings.lenient,
            options=item.options,
            variables=variables,
        )
        return found.answer, AMBIGUOUS if found.ambiguous else found.rule

    def cross_modal(self, item: Item, rendering: str = "default") -> CaseRecord:
        """Ask in text, image and mixed form (and for the OCR transcription)."""
        record = self.read_case(item, rendering)
        if record.error is None and (not record.consistent or self.settings.report_pages == "all"):
            requests = case_requests(item, rendering, self.with_ocr, self.settings.max_tokens)
            record.images = self._save_images(item, rendering, requests)
            record.prompts = {m: r.prompt for m, r in requests.items() if m != "ocr"}
        return self._keep(record)

    def read_case(self, item: Item, rendering: str = "default") -> CaseRecord:
        """One cross-modal case read from the replies (asked now unless asked already),
        without keeping it: what ``cross_modal`` records, and what the sequential gate
        reads to decide how many items to ask."""
        spec = rendering_spec(rendering)
        kind: CaseKind = "cross_modal" if rendering == "default" else "rest_plus"
        base: dict[str, Any] = {
            "key": case_key(item.id, None if kind == "cross_modal" else rendering),
            "kind": kind,
            "item_id": item.id,
            "task": item.task,
            "rendering": rendering,
            "expected": item.expected,
            "detail": describe_spec(spec),
            "fingerprint": case_fingerprint(item, spec),
        }
        requests = case_requests(item, rendering, self.with_ocr, self.settings.max_tokens)
        try:
            replies = self.calls.generate(list(requests.values()))
        except ModelUnusableError:
            raise
        except ModelError:
            return self._error_record(base, *self._failing_request(requests))
        responses = dict(zip(requests, replies, strict=True))
        failed = [(m, r.error) for m, r in responses.items() if r.error is not None]
        if failed:
            return self._error_record(base, *failed[0])
        answers: dict[str, str | None] = {}
        rules: dict[str, str | None] = {}
        for modality in ANSWER_MODALITIES:
            answers[modality], rules[modality] = self._extract(responses[modality], item)
        cer = None
        if "ocr" in responses:
            cer = character_error_rate(item.full_text(), responses["ocr"].text)
        record = CaseRecord(
            **base,
            answers=answers,
            rules=rules,
            raw={m: r.text for m, r in responses.items()},
            consistent=consistent(answers),
            ocr_cer=cer,
            n_visual_tokens={m: r.n_visual_tokens for m, r in responses.items()},
            extra={m: r.extra for m, r in responses.items() if r.extra},
        )
        for modality in ANSWER_MODALITIES:
            if rules[modality] == TRUNCATED:  # the budget it hit, for the failure message
                budget = {"max_tokens": requests[modality].max_tokens}
                record.extra[modality] = {**record.extra.get(modality, {}), **budget}
        return record

    def _failing_request(self, requests: dict[Modality, Request]) -> tuple[str | None, str]:
        """Which request of a failed case fails, asked one at a time (those answered
        already come from memory or the cache), and why."""
        for modality, request in requests.items():
            try:
                self.calls.generate([request])
            except ModelUnusableError:
                raise
            except ModelError as exc:
                return modality, str(exc)
        return None, "the model failed on this case's batch and answered it alone"

    def _error_record(self, base: dict[str, Any], modality: str | None, message: str) -> CaseRecord:
        """A case without a reply: a model error, neither consistent nor inconsistent."""
        return CaseRecord(
            **base, answers={}, raw={}, consistent=False, error=message, error_modality=modality
        )

    def _errored(self, base: dict[str, Any], modality: str | None, message: str) -> CaseRecord:
        return self._keep(self._error_record(base, modality, message))

    def _keep(self, record: CaseRecord) -> CaseRecord:
        self.records.append(record)
        return record

    def text_answer(self, item: Item) -> str | None:
        (response,) = self.calls.generate(
            [with_budget(text_request(item), self.settings.max_tokens)]
        )
        if response.error is not None:
            raise ModelError(f"{item.id} (text): {response.error}")
        return self._extract(response, item)[0]

    def check_rendering(self, item: Item, spec: RenderSpec, text_answer: str | None) -> None:
        """Raise ``InconsistentAnswers`` unless the image rendered with ``spec`` gives
        ``text_answer``; one example of the Hypothesis render-invariance check."""
        failure = self._rendering_failures.get(item.id)
        if failure is not None:
            # One rendering's request failed for good: the case is a model error, and the
            # examples Hypothesis tries while shrinking ask nothing more.
            raise ModelError(failure)
        request = with_budget(image_request(item, spec, "hypothesis"), self.settings.max_tokens)
        (response,) = self.calls.generate([request])
        if response.error is not None:
            failure = f"{item.id} (image, {describe_spec(spec)}): {response.error}"
            self._rendering_failures[item.id] = failure
            raise ModelError(failure)
        image_answer = self._extract(response, item)[0]
        self._last_rendering[item.id] = (spec, image_answer)
        if not same_answer(image_answer, text_answer):
            raise InconsistentAnswers(
                f"{item.id}: the image answer {image_answer or '(no answer)'} differs from the "
                f"text answer {text_answer or '(no answer)'} when rendered in {describe_spec(spec)}"
            )

    @contextlib.contextmanager
    def invariance_case(self, item: Item) -> Iterator[str | None]:
        """Ask for the item's text answer and give it to the ``with`` block (the Hypothesis
        check, which calls ``check_rendering``); record the outcome and judge it like any
        case. A request that fails for good, the text one or a drawn rendering's, makes the
        case a model error like any other case's (counted, listed, tolerated only by
        ``--rest-allow-errors``)."""
        base = self._invariance_base(item)
        try:
            text_answer = self.text_answer(item)
        except ModelUnusableError:
            raise
        except ModelError as exc:
            self.verdict(self._errored(base, "text", str(exc))).enforce()
            raise  # unreachable: an errored case's verdict raises
        try:
            yield text_answer
        except InconsistentAnswers:
            spec, image_answer = self._last_rendering[item.id]
            record = self._invariance(item, False, describe_spec(spec), text_answer, image_answer)
            request = with_budget(image_request(item, spec, "hypothesis"), self.settings.max_tokens)
            record.images = self._save_images(item, "invariance", {"image": request})
            record.prompts = {"image": request.prompt}
            verdict = self.verdict(record)
            if verdict.status == "xfail":
                verdict.enforce(f"{verdict.message}: {record.detail}")
            raise
        except ModelUnusableError:
            raise
        except Exception as exc:
            failure = self._rendering_failures.get(item.id)
            if failure is None:
                raise
            # A model error, whether Hypothesis raised it alone or in a group.
            self.verdict(self._errored(base, "image", failure)).enforce()
            raise AssertionError("unreachable: an errored case's verdict raises") from exc
        self._invariance(item, True, "", text_answer, text_answer)

    def _invariance_base(self, item: Item) -> dict[str, Any]:
        return {
            "key": case_key(item.id, "invariance"),
            "kind": "invariance",
            "item_id": item.id,
            "task": item.task,
            "rendering": "invariance",
            "expected": item.expected,
            "fingerprint": case_fingerprint(item, None),
        }

    def _invariance(
        self, item: Item, consistent: bool, detail: str, text: str | None, image: str | None
    ) -> CaseRecord:
        return self._keep(
            CaseRecord(
                **self._invariance_base(item),
                answers={"text": text, "image": image},
                raw={},
                consistent=consistent,
                detail=detail,
            )
        )

    def verdict(self, record: CaseRecord) -> Verdict:
        baseline_state = self.baseline.consistent(record.key) if self.baseline else None
        return judge(
            record,
            baseline_state,
            require_correct=self.settings.require_correct,
            updating=self.settings.update_baseline,
            errors_tolerated=self.settings.allow_errors > 0,
        )

    def conclude(self, record: CaseRecord) -> None:
        """Pass, fail with the full story, or xfail when the baseline had it inconsistent."""
        self.verdict(record).enforce()

    def _save_images(
        self, item: Item, rendering: str, requests: Mapping[Modality, Request]
    ) -> dict[str, str]:
        """Write what the model saw, so a failure can be looked at."""
        self.image_dir.mkdir(parents=True, exist_ok=True)
        paths: dict[str, str] = {}
        for modality, request in requests.items():
            if request.image_png is None or modality == "ocr":
                continue
            path = self.image_dir / f"{item.id}-{rendering}-{modality}.png"
            path.write_bytes(request.image_png)
            paths[modality] = str(path)
        return paths

    # --- workers and the controller -------------------------------------------------------

    def payload(self) -> str:
        """What an xdist worker sends home: its cases and call counts."""
        return json.dumps(
            {
                "records": [r.to_json() for r in self.records],
                "planned": sorted(self._planned_keys),
                "calls": self.calls.counter.to_json(),
            }
        )

    def merge(self, payload: str) -> None:
        """Take in a worker's cases and call counts (on the controller)."""
        data = json.loads(payload)
        self.records.extend(CaseRecord.from_json(r) for r in data["records"])
        self._planned_keys.update(data.get("planned", ()))
        self.calls.counter.add(CallCounter.from_json(data["calls"]))

    def outputs(self) -> list[tuple[str, Path]]:
        """Every file this run was asked to write, and what it is."""
        s = self.settings
        named = [
            ("results JSON", s.json_path),
            ("HTML report", s.html_path),
            ("CSV", s.csv_path),
            ("baseline", s.baseline_path if s.update_baseline else None),
        ]
        return [(what, path) for what, path in named if path is not None]

    def check_outputs(self) -> None:
        """Before any model call: raise ``OutputError`` naming the first output (or the
        response cache) that cannot be written, so no run ends with its replies unsaved."""
        for what, path in self.outputs():
            check_writable(path, f"the {what}")
        if self.calls.cache is not None:
            check_folder_writable(
                self.calls.cache.directory,
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
        if self.calls.cache is not None:
            self.calls.cache.remove_stale_temps()

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
        if not self.records and (ended_early or not self._planned_keys):
            # Stopped before any case: no results to speak of.
            return Outcome(lines=[self._kept_line()] if interrupted else [])
        s = self.settings
        records = sorted(self.records + self._never_finished(ended_early), key=lambda r: r.key)
        errors = [r for r in records if r.error is not None]
        answered = {r.key for r in records if r.error is None}
        run_coverage = self._coverage(records, ended_early)
        gate_result, diagnosis = None, None
        if self.baseline is not None and not s.update_baseline:
            judged = [r for r in records if r.kind == "cross_modal" and r.error is None]
            gate_result = gate(
                self.baseline,
                {r.key: r.consistent for r in judged},
                s.alpha,
                s.tolerance,
                tasks={r.key: r.task for r in judged},
                answered=answered | self.not_needed,
            )
            if self.sequential is not None:
                gate_result = sequential_gate(gate_result, self.sequential)
            diagnosis = diagnose(
                self.baseline.cases,
                {r.key: r.consistent for r in records if r.error is None},
                case_factors(records, self.items(), rendering_spec),
                s.alpha,
            )
        results = report.build_results(
            settings=s,
            identity=self.identity,
            records=records,
            calls=self.calls.counter.to_json(),
            baseline=self.baseline,
            baseline_explicit=self.baseline_explicit,
            gate_result=gate_result,
            diagnosis=diagnosis,
            prices=self.prices,
            signature=self.signature(),
            complete=run_coverage["complete"],
            coverage=run_coverage,
            sources=[load.to_json() for load in self.item_loads],
            subjects={item.id: item.subject for item in self.items() if item.subject},
        )
        outcome = Outcome(
            lines=report.format_summary(results), properties=suite_properties(results)
        )
        if s.json_path is not None:
            json_path = s.json_path
            outcome.lines.append(
                _written(
                    "results",
                    json_path,
                    lambda: report.write_results(json_path, results),
                    f"results written to {json_path}",
                )
            )
        if s.update_baseline:
            outcome.lines.append(self._write_baseline(results, run_coverage))
        # Results or a baseline that could not be written fail the run: CI reads them.
        # The reports below are for people; one that fails costs nothing else.
        unwritten = [line for line in outcome.lines if " NOT written to " in line]
        if interrupted:
            outcome.lines.append(self._kept_line())
        # Last, so a report that cannot be written costs nothing else of the run.
        outcome.lines.extend(self._write_reports(results, step_summary, artifact_url))
        if unwritten:
            outcome.failed = True  # an output that was asked for is missing
        if len(errors) > s.allow_errors:
            outcome.failed = True
        if gate_result is not None and gate_result.verdict == "failed":
            outcome.failed = True
        if gate_result is not None and gate_result.verdict == "inconclusive":
            outcome.failed = outcome.failed or s.fail_inconclusive
        return outcome

    def _never_finished(self, ended_early: bool) -> list[CaseRecord]:
        """Planned cases that never came home in a run that was not stopped: the process
        running them was lost (an xdist worker that died) or the test broke before it
        recorded anything. Each is an error of its case."""
        if ended_early:
            return []
        finished = {r.key for r in self.records}
        by_id = {item.id: item for item in self.items()}
        lost = []
        for key in sorted(self._planned_keys - finished - self.not_needed):
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
                    error="the case never finished: the process running it was lost (a "
                    "crashed xdist worker) or the test stopped before recording it",
                )
            )
        return lost

    def _coverage(self, records: Sequence[CaseRecord], ended_early: bool) -> dict[str, Any]:
        """Which cases of this configuration (items, REST+ grid, Hypothesis checks) got an
        answer. ``complete``: all of them, and the run was not stopped."""
        configuration = set(self.fingerprints()) - self.not_needed
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
            "not_needed": len(self.not_needed),
        }

    def _kept_line(self) -> str:
        """What an interrupted run kept: every reply it received is in the cache already
        (each is stored as it arrives), so a rerun asks only for the others."""
        received = self.calls.counter.model_calls - self.calls.counter.errors
        cache = self.calls.cache
        if cache is None:
            return "run interrupted: no reply was kept (--rest-no-cache); a rerun asks again"
        what = f"the {received} replies received are" if received > 0 else "every reply received is"
        return (
            f"run interrupted: {what} kept in the cache {cache.directory}; "
            "a rerun asks only for the others"
        )

    def _write_reports(
        self, results: dict[str, Any], step_summary: Path | None, artifact_url: str | None
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
                line = f"{what} NOT written to {target}: {describe_os_error(exc)}"
            except (ReportDependencyError, ValueError, KeyError, TypeError) as exc:
                line = f"{what} NOT written to {target}: {type(exc).__name__}: {exc}"
            if line:
                lines.append(line)
        return lines

    def case_properties(self, key: str) -> list[tuple[str, str]]:
        """What a JUnit report records of a finished case: item, task, rendering, answers
        and verdict; nothing when the case has not finished here."""
        record = next((r for r in reversed(self.records) if r.key == key), None)
        if record is None:
            return []
        baseline_state = None if self.baseline is None else self.baseline.consistent(key)
        verdict = case_verdict(
            record.consistent,
            record.error is not None,
            baseline_state,
            self.settings.update_baseline,
        )
        return [
            ("rest_item", record.item_id),
            ("rest_task", record.task),
            ("rest_rendering", record.detail or record.rendering),
            ("rest_answers", json.dumps(record.answers, sort_keys=True)),
            ("rest_verdict", verdict),
        ]

    def _write_baseline(self, results: dict[str, Any], run_coverage: Mapping[str, Any]) -> str:
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
            return f"baseline NOT written to {path}: {why}; a baseline records every case"
        document = report.baseline_from_results(results)
        return _written(
            "baseline", path, lambda: write_baseline(path, document), f"baseline written to {path}"
        )

    def close(self) -> None:
        self.calls.close()
        if self._shared_folder is not None:  # the workers are done with it
            shutil.rmtree(self._shared_folder, ignore_errors=True)


def _written(what: str, path: Path, write: Callable[[], None], done: str) -> str:
    """``done`` once ``write()`` has written ``path``; else one line naming the path and
    the error (the errno's name and words), and the run goes on to its other outputs."""
    try:
        write()
    except OSError as exc:
        return f"{what} NOT written to {path}: {describe_os_error(exc)}"
    return done


__all__ = [
    "ASK_AHEAD_WINDOW",
    "BaselineMismatch",
    "Case",
    "Outcome",
    "RestRun",
    "case_requests",
    "plus_items",
    "plus_renderings",
    "rendering_spec",
    "with_budget",
]
