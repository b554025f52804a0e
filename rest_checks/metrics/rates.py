"""Per-item outcomes and the rates over a result table: accuracy, RER, CFR, MMC and
pairwise agreement, each with a ``*_counts`` variant.

``consistent`` and ``correct`` are the only definitions of consistency and correctness in
the package; everything else (rows, verdicts, reports) calls them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rest_checks.metrics._common import ratio
from rest_checks.modalities import ANSWER_MODALITIES

__all__ = [
    "MODALITIES",
    "ItemOutcome",
    "accuracies",
    "accuracy",
    "accuracy_counts",
    "agreement_matrix",
    "cfr",
    "cfr_counts",
    "consistent",
    "correct",
    "mmc",
    "mmc_counts",
    "pairwise_agreement",
    "pairwise_agreement_counts",
    "rer",
    "rer_counts",
    "same_answer",
]

MODALITIES: tuple[str, ...] = tuple(ANSWER_MODALITIES)


# ---------------------------------------------------------------------------------------
# The two definitions


def same_answer(a: str | None, b: str | None) -> bool:
    """Two canonical answers are the same answer; no answer (None) matches nothing."""
    return a is not None and a == b


def correct(answer: str | None, expected: str) -> bool:
    """Whether ``answer`` is right: it equals the canonical ``expected`` string.

    ``None`` (no parseable answer) is always wrong.
    """
    return same_answer(answer, expected)


def consistent(answers: Mapping[str, str | None]) -> bool:
    """Whether an item's final answers are the same in text, image and mixed.

    All three answer modalities must be present with an answer, and the answers must be
    identical. Sameness, not correctness: consistently wrong is consistent. ``None`` (no
    parseable answer) differs from everything, ``None`` included, so an item with a
    missing answer is inconsistent; so is one where a modality's key is absent. Keys
    other than the three answer modalities (e.g. ``"ocr"``) are ignored.
    """
    first = answers.get(MODALITIES[0])
    return all(same_answer(first, answers.get(m)) for m in MODALITIES)


# ---------------------------------------------------------------------------------------
# Rows


@dataclass(frozen=True)
class ItemOutcome:
    """One item's results: its expected answer and the answer given in each modality.

    ``answers`` must hold exactly the keys ``"text"``, ``"image"`` and ``"mixed"``; a value
    is a canonical answer or ``None`` (no parseable answer). ``ocr_cer`` is the character
    error rate of the model's transcription of the item's image, when one was asked for.
    """

    id: str
    task: str
    expected: str
    answers: Mapping[str, str | None] = field(hash=False)
    ocr_cer: float | None = None

    def __post_init__(self) -> None:
        keys = set(self.answers)
        if keys != set(MODALITIES):
            missing = sorted(set(MODALITIES) - keys)
            extra = sorted(keys - set(MODALITIES))
            raise ValueError(
                f"item {self.id!r}: answers need exactly the modalities {', '.join(MODALITIES)}"
                f" (missing: {missing or 'none'}, unknown: {extra or 'none'})"
            )
        # An own copy, so the row cannot change under the metrics.
        object.__setattr__(self, "answers", dict(self.answers))
        if self.ocr_cer is not None and not self.ocr_cer >= 0:  # also rejects NaN
            raise ValueError(f"item {self.id!r}: ocr_cer must be >= 0, got {self.ocr_cer!r}")

    @property
    def correct(self) -> dict[str, bool]:
        """Per modality, whether the answer is right (see ``correct``; None is wrong)."""
        return {m: correct(self.answers[m], self.expected) for m in MODALITIES}

    @property
    def n_correct(self) -> int:
        """In how many of the three modalities the answer is correct."""
        return sum(self.correct.values())

    @property
    def consistent(self) -> bool:
        """All three answers present and identical, right or wrong (see ``consistent``)."""
        return consistent(self.answers)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready values: id, task, expected, answers, correct, consistent, ocr_cer."""
        return {
            "id": self.id,
            "task": self.task,
            "expected": self.expected,
            "answers": {m: self.answers[m] for m in MODALITIES},
            "correct": self.correct,
            "consistent": self.consistent,
            "ocr_cer": self.ocr_cer,
        }


def _check_modality(modality: str) -> None:
    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; expected one of {', '.join(MODALITIES)}")


# ---------------------------------------------------------------------------------------
# Rates over a table


def accuracy_counts(rows: Iterable[ItemOutcome], modality: str) -> tuple[int, int]:
    """(items correct in ``modality``, items)."""
    _check_modality(modality)
    table = list(rows)
    return sum(r.correct[modality] for r in table), len(table)


def accuracy(rows: Iterable[ItemOutcome], modality: str) -> float:
    """Share of items answered correctly in ``modality``; an unparseable answer is wrong.

    NaN for an empty table.
    """
    return ratio(accuracy_counts(rows, modality))


def accuracies(rows: Iterable[ItemOutcome]) -> dict[str, float]:
    """Accuracy per modality, ``{"text": ..., "image": ..., "mixed": ...}``."""
    table = list(rows)
    return {m: accuracy(table, m) for m in MODALITIES}


def rer_counts(rows: Iterable[ItemOutcome]) -> tuple[int, int]:
    """(consistent items, items)."""
    table = list(rows)
    return sum(r.consistent for r in table), len(table)


def rer(rows: Iterable[ItemOutcome]) -> float:
    """Render-Equivalence Rate: share of items whose final answers in text, image and mixed
    are identical.

    Sameness, not correctness: an item answered wrongly but identically in all three
    modalities is consistent. A missing (unparseable) answer differs from every answer,
    so any ``None`` makes the item inconsistent. NaN for an empty table.
    """
    return ratio(rer_counts(rows))


def cfr_counts(rows: Iterable[ItemOutcome]) -> tuple[int, int]:
    """(items correct in some but not all modalities, items correct in at least one)."""
    covered = [r.n_correct for r in rows if r.n_correct > 0]
    return sum(k < len(MODALITIES) for k in covered), len(covered)


def cfr(rows: Iterable[ItemOutcome]) -> float:
    """Cross-modality Failure Rate: among items correct in at least one modality, the share
    correct in some but not all modalities.

    NaN when no item is correct in any modality (0/0); ``cfr_counts`` gives the counts.
    """
    return ratio(cfr_counts(rows))


def mmc_counts(rows: Iterable[ItemOutcome]) -> tuple[int, int]:
    """(items correct in at least one modality, items)."""
    table = list(rows)
    return sum(r.n_correct > 0 for r in table), len(table)


def mmc(rows: Iterable[ItemOutcome]) -> float:
    """Max Modal Coverage: share of items correct in at least one modality (the accuracy
    of an oracle that picks the best modality per item). NaN for an empty table.
    """
    return ratio(mmc_counts(rows))


def pairwise_agreement_counts(rows: Iterable[ItemOutcome], a: str, b: str) -> tuple[int, int]:
    """(items with the same non-None answer in modalities ``a`` and ``b``, items)."""
    _check_modality(a)
    _check_modality(b)
    table = list(rows)
    return sum(same_answer(r.answers[a], r.answers[b]) for r in table), len(table)


def pairwise_agreement(rows: Iterable[ItemOutcome], a: str, b: str) -> float:
    """Share of items whose answers in modalities ``a`` and ``b`` are the same answer.

    Two missing answers do not agree. NaN for an empty table.
    """
    return ratio(pairwise_agreement_counts(rows, a, b))


def agreement_matrix(rows: Iterable[ItemOutcome]) -> dict[str, dict[str, float]]:
    """Pairwise agreement for every pair of modalities, ``matrix[a][b]``, symmetric.

    The diagonal is the share of items with any answer in that modality.
    """
    table = list(rows)
    return {a: {b: pairwise_agreement(table, a, b) for b in MODALITIES} for a in MODALITIES}
