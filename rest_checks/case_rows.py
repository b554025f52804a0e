"""Every case of a results document as one flat row: what the HTML report's table, the CSV
export and the CI summary list. Reads only the results JSON (``rest_checks.report``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rest_checks.modalities import ANSWER_MODALITIES
from rest_checks.reply_outcomes import answer_label
from rest_checks.results_document import CaseVerdict, Error, Item, ResultsDocument

VERDICTS: tuple[CaseVerdict, ...] = ("consistent", "inconsistent", "regression", "error")


def case_verdict(
    consistent: bool, error: bool, baseline_consistent: bool | None, updating: bool = False
) -> CaseVerdict:
    """A case in one word. A regression is a case the baseline had consistent and this run
    does not (never while the baseline is being rewritten); an error got no reply."""
    if error:
        return "error"
    if consistent:
        return "consistent"
    if baseline_consistent is True and not updating:
        return "regression"
    return "inconsistent"


@dataclass(frozen=True)
class CaseRow:
    """One case: an item at one rendering (or an item whose request failed)."""

    key: str
    item_id: str
    task: str
    rendering: str
    rendering_detail: str
    verdict: CaseVerdict
    expected: str
    answers: dict[str, str | None] = field(default_factory=dict)
    correct: dict[str, bool] = field(default_factory=dict)
    ocr_cer: float | None = None
    raw: dict[str, str] = field(default_factory=dict)
    prompts: dict[str, str] = field(default_factory=dict)
    images: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    # Per modality: the rule that read the answer, or why there is none.
    rules: dict[str, str | None] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def answer_label(self, modality: str) -> str:
        """The answer, or why there is none: "(no answer)", "(ambiguous)", "(truncated:
        cut at 1024 tokens)"."""
        return answer_label(
            self.answers.get(modality), self.rules.get(modality), self.extra.get(modality)
        )

    @property
    def failed(self) -> bool:
        """Worth a close look: the answers differ, or the model gave no reply."""
        return self.verdict != "consistent"


def _answered_row(item: Item) -> CaseRow:
    return CaseRow(
        key=item.get("key", item["id"]),
        item_id=item["id"],
        task=item["task"],
        rendering=item.get("rendering", "default"),
        rendering_detail=item.get("rendering_detail", ""),
        verdict=item.get("verdict") or ("consistent" if item["consistent"] else "inconsistent"),
        expected=item["expected"],
        answers={m: item["answers"].get(m) for m in ANSWER_MODALITIES},
        correct=dict(item.get("correct", {})),
        ocr_cer=item.get("ocr_cer"),
        raw=dict(item.get("raw", {})),
        prompts=dict(item.get("prompts", {})),
        images=dict(item.get("images", {})),
        rules=dict(item.get("rules") or {}),
        extra=dict(item.get("extra") or {}),
    )


def _error_row(error: Error) -> CaseRow:
    modality = error.get("modality") or "request"
    return CaseRow(
        key=error.get("key", error["id"]),
        item_id=error["id"],
        task=error.get("task", ""),
        rendering=error.get("rendering", "default"),
        rendering_detail=error.get("rendering_detail", ""),
        verdict="error",
        expected=error.get("expected", ""),
        error=f"{modality}: {error['message']}",
    )


def case_rows(results: ResultsDocument) -> list[CaseRow]:
    """The cross-modal cases, the REST+ cases and the errored cases, sorted by key."""
    rows = [_answered_row(i) for i in results.get("items", [])]
    rows += [_answered_row(i) for i in results.get("rest_plus_items", [])]
    rows += [_error_row(e) for e in results.get("errors", [])]
    return sorted(rows, key=lambda r: r.key)


def verdict_counts(rows: list[CaseRow]) -> dict[CaseVerdict, int]:
    return {v: sum(r.verdict == v for r in rows) for v in VERDICTS}
