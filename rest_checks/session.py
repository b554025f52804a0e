"""The state of one REST run: settings, items, the (cached) model and the cases so far.

The pytest plugin creates one ``RestSession`` per process and the tests call into it; it
asks the model, parses answers and keeps ``CaseRecord``s, which the controller merges
into metrics, the baseline gate and the report.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from rest_checks.answers import extract_final_answer, same_answer
from rest_checks.baselines import Baseline
from rest_checks.cache import CachingModel, ResponseCache
from rest_checks.items.base import Item
from rest_checks.items.suites import load_suite
from rest_checks.metrics import character_error_rate
from rest_checks.models.base import Model, Response
from rest_checks.modalities import ANSWER_MODALITIES, Modality
from rest_checks.prompts import Request, build_requests, image_request, text_request
from rest_checks.records import CaseKind, CaseRecord, case_key
from rest_checks.render import DEFAULT_SPEC, REST_PLUS_GRID, RenderSpec, describe_spec
from rest_checks.verdicts import InconsistentAnswers, Verdict, enforce, judge


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


class RestSession:
    """Asks the model about items and keeps what came back."""

    def __init__(
        self,
        *,
        model: Model,
        suite: tuple[str, ...],
        n: int,
        seed: int,
        cache_dir: Path | None,
        image_dir: Path,
        baseline: Baseline | None = None,
        plus_n: int = 3,
        with_ocr: bool = True,
        require_correct: bool = False,
        updating: bool = False,
        chunk_size: int = 128,
    ) -> None:
        self.model = CachingModel(
            model, ResponseCache(cache_dir) if cache_dir else None, chunk_size=chunk_size
        )
        self.identity = self.model.identity
        self.suite = suite
        self.n = n
        self.seed = seed
        self.image_dir = image_dir
        self.baseline = baseline
        self.plus_n = plus_n
        self.with_ocr = with_ocr
        self.require_correct = require_correct
        self.updating = updating
        self.records: list[CaseRecord] = []
        # The rendering each item's Hypothesis check tried last: after shrinking, the
        # simplest failing one.
        self._last_rendering: dict[str, tuple[RenderSpec, str | None]] = {}
        self._items: list[Item] | None = None
        # What loading the items had to say (item files: kept and dropped, and why).
        self.item_notes: list[str] = []

    # --- items ---------------------------------------------------------------------------

    def items(self) -> list[Item]:
        if self._items is None:
            self._items = load_suite(self.suite, self.n, self.seed, self.item_notes)
        return self._items

    def plus_items(self) -> list[Item]:
        return plus_items(self.items(), self.plus_n)

    # --- the model -------------------------------------------------------------------------

    def ask(self, requests: Sequence[Request]) -> list[Response]:
        return self.model.generate(requests)

    def requests_for(self, item: Item, variant: str | None) -> list[Request]:
        """What one case will ask: a rendering's requests, or (``None``) the text one."""
        if variant is None:
            return [text_request(item)]
        spec = DEFAULT_SPEC if variant == "default" else REST_PLUS_GRID[variant]
        return list(_variant_requests(item, spec, variant, with_ocr=self.with_ocr).values())

    def prefetch(self, cases: Iterable[tuple[Item, str | None]]) -> int:
        """Ask for everything these cases will need in one batch, so backends can batch
        or parallelise; the tests are then served from the cache. A case is an item and a
        rendering variant (``"default"`` or a REST+ grid name), or ``None`` for a case
        that needs only the text answer ahead (the Hypothesis check). Returns the number
        of requests asked."""
        requests = [r for item, variant in cases for r in self.requests_for(item, variant)]
        if requests:
            self.ask(requests)
        return len(requests)

    # --- cases -----------------------------------------------------------------------------

    def cross_modal(self, item: Item, variant: str = "default") -> CaseRecord:
        """Ask in text, image and mixed form (and for the OCR transcription)."""
        spec = DEFAULT_SPEC if variant == "default" else REST_PLUS_GRID[variant]
        requests = _variant_requests(item, spec, variant, with_ocr=self.with_ocr)
        modalities = list(requests)
        responses = dict(zip(modalities, self.ask(list(requests.values())), strict=True))
        answers: dict[str, str | None] = {
            m: extract_final_answer(responses[m].text, item.answer_type) for m in ANSWER_MODALITIES
        }
        consistent = consistent_answers(answers)
        cer = None
        if "ocr" in responses:
            try:
                cer = character_error_rate(item.full_text(), responses["ocr"].text)
            except ValueError:
                cer = 1.0  # a runaway transcription, too long to align: as bad as none

        kind: CaseKind = "cross_modal" if variant == "default" else "rest_plus"
        record = CaseRecord(
            key=case_key(item.id, None if kind == "cross_modal" else variant),
            kind=kind,
            item_id=item.id,
            task=item.task,
            variant=variant,
            expected=item.expected,
            answers=answers,
            raw={m: r.text for m, r in responses.items()},
            consistent=consistent,
            ocr_cer=cer,
            n_visual_tokens={m: r.n_visual_tokens for m, r in responses.items()},
            extra={m: r.extra for m, r in responses.items() if r.extra},
            detail=describe_spec(spec),
        )
        if not consistent:
            record.images = self._save_images(item, variant, requests)
        self.records.append(record)
        return record

    def text_answer(self, item: Item) -> str | None:
        (response,) = self.ask([text_request(item)])
        return extract_final_answer(response.text, item.answer_type)

    def check_rendering(self, item: Item, spec: RenderSpec, text_answer: str | None) -> None:
        """Raise ``InconsistentAnswers`` unless the image rendered with ``spec`` gives
        ``text_answer``; one example of the Hypothesis render-invariance check."""
        (response,) = self.ask([image_request(item, spec, "hypothesis")])
        image_answer = extract_final_answer(response.text, item.answer_type)
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
            record = self._record_invariance(
                item, False, describe_spec(spec), text_answer, image_answer
            )
            verdict = self.verdict(record)
            if verdict.status == "xfail":
                enforce(Verdict("xfail", f"{verdict.message}: {record.detail}"))
            raise
        self._record_invariance(item, True, "", text_answer, text_answer)

    def _record_invariance(
        self, item: Item, consistent: bool, detail: str, text: str | None, image: str | None
    ) -> CaseRecord:
        record = CaseRecord(
            key=case_key(item.id, "invariance"),
            kind="invariance",
            item_id=item.id,
            task=item.task,
            variant="invariance",
            expected=item.expected,
            answers={"text": text, "image": image},
            raw={},
            consistent=consistent,
            detail=detail,
        )
        self.records.append(record)
        return record

    def verdict(self, record: CaseRecord) -> Verdict:
        baseline_state = self.baseline.consistent(record.key) if self.baseline else None
        return judge(
            record, baseline_state, require_correct=self.require_correct, updating=self.updating
        )

    def conclude(self, record: CaseRecord) -> None:
        """Pass, fail with the full story, or xfail when the baseline had it inconsistent."""
        enforce(self.verdict(record))

    def _save_images(
        self, item: Item, variant: str, requests: dict[Modality, Request]
    ) -> dict[str, str]:
        """Write what the model saw, so a failure can be looked at."""
        self.image_dir.mkdir(parents=True, exist_ok=True)
        paths: dict[str, str] = {}
        for modality, request in requests.items():
            if request.image_png is None or modality == "ocr":
                continue
            path = self.image_dir / f"{item.id}-{variant}-{modality}.png"
            path.write_bytes(request.image_png)
            paths[modality] = str(path)
        return paths

    def close(self) -> None:
        self.model.model.close()


def _variant_requests(
    item: Item, spec: RenderSpec, variant: str, with_ocr: bool = True
) -> dict[Modality, Request]:
    requests = build_requests(item, spec, with_ocr=with_ocr)
    if variant == "default":
        return requests
    # Only the rendering changes across variants; the text request stays the same call.
    return {m: _with_variant(r, variant) for m, r in requests.items()}


def _with_variant(request: Request, variant: str) -> Request:
    return replace(request, variant=variant)


def consistent_answers(answers: Mapping[str, str | None]) -> bool:
    """The same final answer in every modality; no answer differs from everything."""
    first, *others = (answers.get(m) for m in ANSWER_MODALITIES)
    return all(same_answer(first, other) for other in others)
