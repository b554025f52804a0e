"""A finished case in plain data: what the tests produce and the report consumes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from rest_checks.metrics import ItemOutcome
from rest_checks.modalities import ANSWER_MODALITIES

CaseKind = Literal["cross_modal", "rest_plus", "invariance"]


def case_key(item_id: str, variant: str | None = None) -> str:
    """``soebench-0001`` for the cross-modal case, ``soebench-0001@red-text`` for others."""
    return item_id if not variant else f"{item_id}@{variant}"


@dataclass
class CaseRecord:
    """One finished case, in plain data so that xdist workers can send it home."""

    key: str
    kind: CaseKind
    item_id: str
    task: str
    variant: str
    expected: str
    answers: dict[str, str | None]
    raw: dict[str, str]
    consistent: bool
    ocr_cer: float | None = None
    n_visual_tokens: dict[str, int | None] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    images: dict[str, str] = field(default_factory=dict)
    detail: str = ""

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
