"""Every headline number of a run in one ``Summary``, overall or per group."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

from rest_checks.metrics._common import json_float
from rest_checks.metrics.ocr import mean_ocr_cer, ocr_perfect
from rest_checks.metrics.rates import (
    MODALITIES,
    ItemOutcome,
    accuracy_counts,
    cfr_counts,
    mmc_counts,
    pairwise_agreement_counts,
    rer_counts,
)
from rest_checks.metrics.statistics import Proportion

if TYPE_CHECKING:
    from rest_checks.results_document import Metrics

__all__ = ["PAIRS", "Summary", "summarize", "summary_by"]


def _pair_name(a: str, b: str) -> str:
    return f"{a}-{b}"


PAIRS: tuple[tuple[str, str], ...] = tuple(combinations(MODALITIES, 2))


@dataclass(frozen=True)
class Summary:
    """Every headline number of a run, each rate with its counts and Wilson interval.

    ``agreement`` is keyed ``"text-image"``, ``"text-mixed"``, ``"image-mixed"``.
    ``ocr_cer`` is the mean CER over the ``n_ocr`` items that have one (NaN when none);
    ``rer_ocr_perfect`` is the RER on the ``n_ocr_perfect`` items with CER 0.
    """

    n_items: int
    confidence: float
    rer: Proportion
    cfr: Proportion
    mmc: Proportion
    accuracy: Mapping[str, Proportion]
    agreement: Mapping[str, Proportion]
    ocr_cer: float
    n_ocr: int
    n_ocr_perfect: int
    rer_ocr_perfect: Proportion

    def to_json(self) -> Metrics:
        """The results document's ``metrics`` block: plain floats and ints (NaN as None),
        then ``counts`` ([successes, n]) and ``intervals`` ([low, high]) of every rate."""

        def count(p: Proportion) -> list[int]:
            return [p.successes, p.n]

        def interval(p: Proportion) -> list[float]:
            return list(p.interval)

        return {
            "n_items": self.n_items,
            "rer": json_float(self.rer.value),
            "cfr": json_float(self.cfr.value),
            "mmc": json_float(self.mmc.value),
            "accuracy": {k: json_float(p.value) for k, p in self.accuracy.items()},
            "agreement": {k: json_float(p.value) for k, p in self.agreement.items()},
            "rer_ocr_perfect": json_float(self.rer_ocr_perfect.value),
            "ocr_cer": json_float(self.ocr_cer),
            "n_ocr": self.n_ocr,
            "n_ocr_perfect": self.n_ocr_perfect,
            "confidence": self.confidence,
            "counts": {
                "rer": count(self.rer),
                "cfr": count(self.cfr),
                "mmc": count(self.mmc),
                "accuracy": {k: count(p) for k, p in self.accuracy.items()},
                "agreement": {k: count(p) for k, p in self.agreement.items()},
                "rer_ocr_perfect": count(self.rer_ocr_perfect),
            },
            "intervals": {
                "rer": interval(self.rer),
                "cfr": interval(self.cfr),
                "mmc": interval(self.mmc),
                "accuracy": {k: interval(p) for k, p in self.accuracy.items()},
                "agreement": {k: interval(p) for k, p in self.agreement.items()},
                "rer_ocr_perfect": interval(self.rer_ocr_perfect),
            },
        }


def summarize(rows: Iterable[ItemOutcome], confidence: float = 0.95) -> Summary:
    """All metrics of a table, with counts and Wilson intervals at ``confidence``."""
    table = list(rows)
    perfect = ocr_perfect(table)

    def prop(counts: tuple[int, int]) -> Proportion:
        return Proportion.of(counts, confidence)

    return Summary(
        n_items=len(table),
        confidence=confidence,
        rer=prop(rer_counts(table)),
        cfr=prop(cfr_counts(table)),
        mmc=prop(mmc_counts(table)),
        accuracy={m: prop(accuracy_counts(table, m)) for m in MODALITIES},
        agreement={
            _pair_name(a, b): prop(pairwise_agreement_counts(table, a, b)) for a, b in PAIRS
        },
        ocr_cer=mean_ocr_cer(table),
        n_ocr=sum(r.ocr_cer is not None for r in table),
        n_ocr_perfect=len(perfect),
        rer_ocr_perfect=prop(rer_counts(perfect)),
    )


def summary_by(
    rows: Iterable[ItemOutcome],
    key: str | Callable[[ItemOutcome], str] = "task",
    confidence: float = 0.95,
) -> dict[str, Summary]:
    """One ``Summary`` per group, groups sorted by name.

    ``key`` is an ``ItemOutcome`` attribute name (``"task"``) or a function of a row.
    """
    key_fn: Callable[[ItemOutcome], str]
    if isinstance(key, str):
        if key not in ItemOutcome.__dataclass_fields__:
            raise ValueError(f"ItemOutcome has no field {key!r} to group by")
        name = key
        key_fn = lambda row: str(getattr(row, name))  # noqa: E731
    else:
        key_fn = key
    groups: dict[str, list[ItemOutcome]] = {}
    for row in rows:
        groups.setdefault(key_fn(row), []).append(row)
    return {k: summarize(groups[k], confidence) for k in sorted(groups)}
