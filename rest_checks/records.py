"""A finished case in plain data: what the tests produce and the report consumes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from rest_checks.items.base import Item
from rest_checks.metrics import ItemOutcome
from rest_checks.modalities import ANSWER_MODALITIES

CaseKind = Literal["cross_modal", "rest_plus", "invariance"]


def case_fingerprint(item: Item, rendering: Any) -> str:
    """A short hash of what a case asks: the item's content and, for a rendered case, the
    rendering (a dataclass such as ``RenderSpec``; None for the Hypothesis check, whose
    renderings the Hypothesis profile decides)."""
    content = {
        "task": item.task,
        "context": item.context,
        "question": item.question,
        "options": list(item.options),
        "expected": item.expected,
        "answer_type": item.answer_type,
        "rendering": None if rendering is None else asdict(rendering),
    }
    blob = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def case_key(item_id: str, rendering: str | None = None) -> str:
    """``soebench-0001`` for the cross-modal case, ``soebench-0001@red-text`` for others."""
    return item_id if not rendering else f"{item_id}@{rendering}"


def planned_case_key(item_id: str, rendering: str | None) -> str:
    """The case key of a test's case by its rendering's name as the tests carry it:
    ``default`` the cross-modal case, None the Hypothesis check (``@invariance``), any
    other name a REST+ rendering."""
    return case_key(item_id, None if rendering == "default" else rendering or "invariance")


@dataclass
class CaseRecord:
    """One finished case, in plain data so that xdist workers can send it home."""

    key: str
    kind: CaseKind
    item_id: str
    task: str
    rendering: str
    expected: str
    answers: dict[str, str | None]
    raw: dict[str, str]
    # Set by whoever finishes the case, never recomputed here: for a cross-modal or REST+
    # case ``rest_checks.metrics.consistent(answers)``; for the Hypothesis check, whether
    # every rendering tried kept the text answer.
    consistent: bool
    ocr_cer: float | None = None
    n_visual_tokens: dict[str, int | None] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    # Of a case that failed, per modality: the page the model saw (a PNG path) and the
    # prompt it was sent, so a report can show them.
    images: dict[str, str] = field(default_factory=dict)
    prompts: dict[str, str] = field(default_factory=dict)
    detail: str = ""
    # What the case asked about: a hash of the item's content and the rendering, so a
    # baseline's case is matched by content, never by id alone.
    fingerprint: str = ""
    # Why the model gave no reply (a request failed for good); such a case is neither
    # consistent nor inconsistent and stays out of every rate.
    error: str | None = None
    error_modality: str | None = None
    # Per modality, which extraction rule produced the answer (see ``answers``), or why
    # there is none: "ambiguous" or "truncated" (see ``reply_outcomes``).
    rules: dict[str, str | None] = field(default_factory=dict)

    def outcome(self) -> ItemOutcome:
        return ItemOutcome(
            id=self.item_id,
            task=self.task,
            expected=self.expected,
            answers={m: self.answers.get(m) for m in ANSWER_MODALITIES},
            ocr_cer=self.ocr_cer,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CaseRecord:
        return cls(**data)
