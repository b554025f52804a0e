"""Running one case: ask for (or find) its replies, read the answers, keep the record and
judge it against the baseline.

A cross-modal or REST+ case (``cross_modal``) asks in text, image and mixed form and, with
OCR, for the transcription; the Hypothesis render-invariance check (``invariance_case``
around ``check_rendering``) compares the image answer under drawn renderings with the text
answer. Every finished case lands in the shared ``records`` list the run finishes with.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from rest_checks.answers import extract_answer, solution_variables
from rest_checks.baselines import Baseline
from rest_checks.case_requests import case_requests, rendering_spec, with_budget
from rest_checks.config import RestSettings
from rest_checks.items.base import Item
from rest_checks.metrics import character_error_rate, consistent, same_answer
from rest_checks.modalities import ANSWER_MODALITIES, Modality
from rest_checks.model_gateway import ModelCalls
from rest_checks.models.base import ModelError, ModelUnusableError, Response
from rest_checks.prompts import Request, image_request, text_request
from rest_checks.records import CaseKind, CaseRecord, case_fingerprint, case_key
from rest_checks.render.specs import RenderSpec, describe_spec
from rest_checks.reply_outcomes import AMBIGUOUS, TRUNCATED, was_cut
from rest_checks.verdicts import InconsistentAnswers, Verdict, judge


class CaseRunner:
    """Runs the cases of one process and keeps each finished one in ``records``."""

    def __init__(
        self,
        settings: RestSettings,
        calls: ModelCalls,
        *,
        baseline: Baseline | None,
        image_dir: Path,
        with_ocr: bool,
        records: list[CaseRecord],
    ) -> None:
        self.settings = settings
        self.calls = calls
        self.baseline = baseline
        # Where the pages of a failed case are written, so a person can look at them.
        self.image_dir = image_dir
        self.with_ocr = with_ocr
        # The run's list (shared, never replaced): the finisher and the xdist payload read it.
        self.records = records
        # The rendering each item's Hypothesis check tried last: after shrinking, the
        # simplest failing one.
        self._last_rendering: dict[str, tuple[RenderSpec, str | None]] = {}
        # Per item, the first Hypothesis rendering whose request failed for good.
        self._rendering_failures: dict[str, str] = {}

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
        """The item's answer in text form: what every drawn rendering must give."""
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
        """The case judged against the baseline's record of it (``verdicts.judge``)."""
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
