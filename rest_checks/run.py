"""One REST run: its items, the (cached) model, the finished cases, and the end of the run.

The pytest plugin makes one ``RestRun`` per process and forwards its hooks here:

- ``plan(cases)`` after collection: the (item, rendering) cases this process will run;
- ``prefetch(share)`` before the first test: ask the model for them in one batch;
- the tests call ``cross_modal``, ``text_answer``, ``check_rendering``, ``conclude``;
- ``payload()`` on an xdist worker and ``merge(payload)`` on the controller;
- ``finish(exitstatus)`` on the controller: metrics, the baseline gate, the results JSON
  and the baseline, as an ``Outcome`` (the summary lines and whether the run failed).

Nothing here imports pytest, so the whole flow is unit-tested without it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rest_checks import report
from rest_checks.answers import extract_answer, same_answer
from rest_checks.baselines import (
    Baseline,
    BaselineMismatch,
    check_compatible,
    gate,
    run_signature,
    write_baseline,
)
from rest_checks.cache import ModelCalls, ResponseCache
from rest_checks.config import RestSettings
from rest_checks.items.base import Item
from rest_checks.items.suites import load_suite
from rest_checks.metrics import character_error_rate, consistent
from rest_checks.modalities import ANSWER_MODALITIES, Modality
from rest_checks.models.base import Model, ModelAuthError, ModelError
from rest_checks.prompts import Request, build_requests, image_request, text_request
from rest_checks.records import CaseKind, CaseRecord, case_fingerprint, case_key
from rest_checks.render import DEFAULT_SPEC, REST_PLUS_GRID, RenderSpec, describe_spec
from rest_checks.verdicts import InconsistentAnswers, Verdict, judge

# A case: an item and the name of its rendering ("default", a REST+ grid name), or None
# for the Hypothesis check, which needs only the text answer ahead.
Case = tuple[Item, str | None]


@dataclass
class Outcome:
    """The end of a run: the summary lines, and whether the run must fail."""

    lines: list[str] = field(default_factory=list)
    failed: bool = False


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


def rendering_spec(rendering: str) -> RenderSpec:
    return DEFAULT_SPEC if rendering == "default" else REST_PLUS_GRID[rendering]


def case_requests(item: Item, rendering: str, with_ocr: bool = True) -> dict[Modality, Request]:
    """The requests of one cross-modal case; only the rendering differs across renderings."""
    return build_requests(item, rendering_spec(rendering), with_ocr=with_ocr, rendering=rendering)


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
    ) -> None:
        self.settings = settings
        cache = ResponseCache(settings.cache_dir) if settings.cache_dir else None
        self.calls = ModelCalls(model, cache)
        self.identity = self.calls.identity
        self.baseline = baseline
        self.baseline_explicit = baseline_explicit
        self.image_dir = image_dir or settings.rootdir / ".rest-images"
        self.hypothesis_profile = hypothesis_profile
        self.with_ocr = with_ocr
        self.records: list[CaseRecord] = []
        # Calls counted by xdist workers, merged on the controller.
        self.model_calls = 0
        self.cache_hits = 0
        self.item_notes: list[str] = []
        self._items: list[Item] | None = None
        self._planned: list[Case] = []
        self._prefetched = False
        # The rendering each item's Hypothesis check tried last: after shrinking, the
        # simplest failing one.
        self._last_rendering: dict[str, tuple[RenderSpec, str | None]] = {}

    # --- items ----------------------------------------------------------------------------

    def items(self) -> list[Item]:
        if self._items is None:
            s = self.settings
            self._items = load_suite(s.suite_sources(), s.n, s.seed, self.item_notes)
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
                for name, spec in REST_PLUS_GRID.items():
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
        lines.extend(f"rest-checks: {note}" for note in self.item_notes)
        lines.append(
            f"rest-checks: baseline {s.baseline_path}"
            + ("" if self.baseline else " (none yet: every inconsistency fails)")
            + (" (being rewritten: --snapshot-update)" if s.update_baseline else "")
        )
        return lines

    # --- asking ahead ---------------------------------------------------------------------

    def plan(self, cases: Sequence[Case]) -> None:
        """Remember the cases this process will run, in test order, without duplicates."""
        seen: dict[tuple[str, str | None], Case] = {}
        for item, rendering in cases:
            seen.setdefault((item.id, rendering), (item, rendering))
        self._planned = list(seen.values())

    def requests_for(self, item: Item, rendering: str | None) -> list[Request]:
        """What one case will ask: a rendering's requests, or (``None``) the text one."""
        if rendering is None:
            return [text_request(item)]
        return list(case_requests(item, rendering, self.with_ocr).values())

    def prefetch(self, share: tuple[int, int] | None = None) -> tuple[int, int]:
        """Ask ahead, once, for the planned cases (of ``share = (index, count)`` only: an
        xdist worker's share; the others find the rest in the shared disk cache).

        Returns (cases, requests) asked. A request that fails for good does not stop the
        run: the cases that need it ask again when they run and fail as model errors. A
        refused key (``ModelAuthError``) propagates: no case can succeed.
        """
        if self._prefetched:
            return 0, 0
        self._prefetched = True
        cases = self._planned
        if share is not None:
            index, count = share
            # Without a disk cache workers cannot share answers: each asks as it goes.
            cases = cases[index::count] if self.calls.cache is not None else []
        requests = [r for item, rendering in cases for r in self.requests_for(item, rendering)]
        if not requests:
            return 0, 0
        try:
            self.calls.generate(requests)
        except ModelAuthError:
            raise
        except ModelError:
            pass  # each case asks again and fails (or succeeds) on its own
        return len(cases), len(requests)

    # --- cases ----------------------------------------------------------------------------

    def _extract(self, text: str, item: Item) -> tuple[str | None, str | None]:
        found = extract_answer(text, item.answer_type, lenient=self.settings.lenient)
        return found.answer, found.rule

    def cross_modal(self, item: Item, rendering: str = "default") -> CaseRecord:
        """Ask in text, image and mixed form (and for the OCR transcription)."""
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
        requests = case_requests(item, rendering, self.with_ocr)
        try:
            replies = self.calls.generate(list(requests.values()))
        except ModelAuthError:
            raise
        except ModelError:
            return self._errored(base, *self._failing_request(requests))
        responses = dict(zip(requests, replies, strict=True))
        failed = [(m, r.error) for m, r in responses.items() if r.error is not None]
        if failed:
            return self._errored(base, *failed[0])
        answers: dict[str, str | None] = {}
        rules: dict[str, str | None] = {}
        for modality in ANSWER_MODALITIES:
            answers[modality], rules[modality] = self._extract(responses[modality].text, item)
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
        if not record.consistent:
            record.images = self._save_images(item, rendering, requests)
        return self._keep(record)

    def _failing_request(self, requests: dict[Modality, Request]) -> tuple[str | None, str]:
        """Which request of a failed case fails, asked one at a time (those answered
        already come from memory or the cache), and why."""
        for modality, request in requests.items():
            try:
                self.calls.generate([request])
            except ModelAuthError:
                raise
            except ModelError as exc:
                return modality, str(exc)
        return None, "the model failed on this case's batch and answered it alone"

    def _errored(self, base: dict[str, Any], modality: str | None, message: str) -> CaseRecord:
        """A case without a reply: a model error, neither consistent nor inconsistent."""
        record = CaseRecord(
            **base, answers={}, raw={}, consistent=False, error=message, error_modality=modality
        )
        return self._keep(record)

    def _keep(self, record: CaseRecord) -> CaseRecord:
        self.records.append(record)
        return record

    def text_answer(self, item: Item) -> str | None:
        (response,) = self.calls.generate([text_request(item)])
        if response.error is not None:
            raise ModelError(f"{item.id} (text): {response.error}")
        return self._extract(response.text, item)[0]

    def check_rendering(self, item: Item, spec: RenderSpec, text_answer: str | None) -> None:
        """Raise ``InconsistentAnswers`` unless the image rendered with ``spec`` gives
        ``text_answer``; one example of the Hypothesis render-invariance check."""
        (response,) = self.calls.generate([image_request(item, spec, "hypothesis")])
        if response.error is not None:
            raise ModelError(f"{item.id} (image, {describe_spec(spec)}): {response.error}")
        image_answer = self._extract(response.text, item)[0]
        self._last_rendering[item.id] = (spec, image_answer)
        if not same_answer(image_answer, text_answer):
            raise InconsistentAnswers(
                f"{item.id}: the image answer {image_answer or '(no answer)'} differs from the "
                f"text answer {text_answer or '(no answer)'} when rendered in {describe_spec(spec)}"
            )

    @contextlib.contextmanager
    def invariance_case(self, item: Item, text_answer: str | None) -> Iterator[None]:
        """Record the outcome of an item's Hypothesis check and judge it like any case."""
        try:
            yield
        except InconsistentAnswers:
            spec, image_answer = self._last_rendering[item.id]
            record = self._invariance(item, False, describe_spec(spec), text_answer, image_answer)
            verdict = self.verdict(record)
            if verdict.status == "xfail":
                verdict.enforce(f"{verdict.message}: {record.detail}")
            raise
        self._invariance(item, True, "", text_answer, text_answer)

    def _invariance(
        self, item: Item, consistent: bool, detail: str, text: str | None, image: str | None
    ) -> CaseRecord:
        return self._keep(
            CaseRecord(
                key=case_key(item.id, "invariance"),
                kind="invariance",
                item_id=item.id,
                task=item.task,
                rendering="invariance",
                expected=item.expected,
                answers={"text": text, "image": image},
                raw={},
                consistent=consistent,
                detail=detail,
                fingerprint=case_fingerprint(item, None),
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
        self, item: Item, rendering: str, requests: dict[Modality, Request]
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
                "model_calls": self.calls.counter.model_calls,
                "cache_hits": self.calls.counter.cache_hits,
            }
        )

    def merge(self, payload: str) -> None:
        """Take in a worker's cases and call counts (on the controller)."""
        data = json.loads(payload)
        self.records.extend(CaseRecord.from_json(r) for r in data["records"])
        self.model_calls += int(data["model_calls"])
        self.cache_hits += int(data["cache_hits"])

    def finish(self, interrupted: bool = False) -> Outcome:
        """Metrics, the gate, the results JSON and (with ``--snapshot-update``) the
        baseline. ``interrupted``: the run did not finish, so no baseline is written."""
        if not self.records:
            return Outcome()
        s = self.settings
        records = sorted(self.records, key=lambda r: r.key)
        errors = [r for r in records if r.error is not None]
        gate_result = None
        if self.baseline is not None and not s.update_baseline:
            judged = [r for r in records if r.kind == "cross_modal" and r.error is None]
            gate_result = gate(
                self.baseline,
                {r.key: r.consistent for r in judged},
                s.alpha,
                s.tolerance,
                tasks={r.key: r.task for r in judged},
            )
        results = report.build_results(
            settings=s,
            identity=self.identity,
            records=records,
            model_calls=self.model_calls + self.calls.counter.model_calls,
            cache_hits=self.cache_hits + self.calls.counter.cache_hits,
            baseline=self.baseline,
            baseline_explicit=self.baseline_explicit,
            gate_result=gate_result,
            signature=self.signature(),
        )
        outcome = Outcome(lines=report.format_summary(results))
        if s.json_path is not None:
            report.write_results(s.json_path, results)
            outcome.lines.append(f"results written to {s.json_path}")
        if s.update_baseline:
            outcome.lines.append(self._write_baseline(results, interrupted, errors))
        if len(errors) > s.allow_errors:
            outcome.failed = True
        if gate_result is not None and gate_result.verdict == "failed":
            outcome.failed = True
        if gate_result is not None and gate_result.verdict == "inconclusive":
            outcome.failed = outcome.failed or s.fail_inconclusive
        return outcome

    def _write_baseline(
        self, results: dict[str, Any], interrupted: bool, errors: list[CaseRecord]
    ) -> str:
        path = self.settings.baseline_path
        if interrupted:
            return "baseline NOT written: the run did not finish"
        if errors:
            return (
                f"baseline NOT written: {len(errors)} case(s) got no reply from the model "
                "(see the errors above); a baseline must record every case"
            )
        document = report.baseline_from_results(
            results, previous=self.baseline, fingerprints=self.fingerprints()
        )
        write_baseline(path, document)
        return f"baseline written to {path}"

    def close(self) -> None:
        self.calls.close()


__all__ = ["BaselineMismatch", "Case", "Outcome", "RestRun", "plus_items"]
