"""The paper's metrics over result tables. Pure functions: no I/O, no model knowledge.

A result table is a sequence of ``ItemOutcome`` rows: one item, its canonical expected
answer, and the canonical final answer the model gave in each of the three answer
modalities (``None`` where no answer could be parsed; see ``rest_checks.answers``).

Definitions (PAPER.md)
    accuracy(m)  share of items answered correctly in modality ``m``.
    RER          Render-Equivalence Rate: share of items whose final answers in text, image
                 and mixed are identical. Sameness, not correctness: consistently wrong is
                 consistent. No answer (``None``) differs from everything, ``None`` included.
    CFR          Cross-modality Failure Rate: among items correct in at least one modality,
                 the share correct in some but not all.
    MMC          Max Modal Coverage: share of items correct in at least one modality.
    agreement    pairwise: share of items with the same (non-None) answer in two modalities.
    CER          character error rate of an OCR transcription: Levenshtein distance over
                 the length of the reference.

Decisions
    * A rate over no items (an empty table; CFR when no item is correct anywhere) is
      ``float("nan")``, never 0 or an error. Each rate has a ``*_counts`` variant returning
      ``(successes, n)`` so callers can tell 0/0 apart and compute intervals.
      ``to_json`` methods write NaN as ``None``.
    * Correctness compares canonical strings: ``answer == expected``; ``None`` is wrong.
    * ``agreement_matrix`` puts on its diagonal the share of items with any answer in that
      modality (a modality agrees with itself wherever it answered).
    * CER normalisation: both strings are NFC-normalised and all whitespace (spaces, line
      breaks) is removed: spacing and line breaks are layout, not content, and OCR engines
      often drop the spaces of a line ("2A+3B-C=7"), which must not make a perfect reading
      imperfect. Case and punctuation count. An empty reference gives
      0.0 for an empty hypothesis and 1.0 otherwise. CER can exceed 1 (a hypothesis much
      longer than the reference). Levenshtein distance uses unit costs, O(n*m) time and
      O(min(n, m)) memory after stripping the common prefix and suffix; inputs needing
      more than ``MAX_LEVENSHTEIN_CELLS`` table cells raise ``ValueError`` rather than
      stall a run (a normal transcription needs a few million at most).
    * ``ocr_perfect`` keeps rows with a CER of exactly 0 (after normalisation).
    * Intervals are Wilson score intervals (good at small n and near 0 or 1); for n = 0
      the interval is (0, 1).
    * Paired comparison between runs uses McNemar's exact test: a two-sided binomial test
      (p = 1/2) on the discordant items, computed in exact rational arithmetic;
      ``p_value_drop`` is the one-sided p-value for "RER went down".
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import combinations
from statistics import NormalDist
from typing import Any, Literal

from rest_checks.modalities import ANSWER_MODALITIES

__all__ = [
    "MAX_LEVENSHTEIN_CELLS",
    "MODALITIES",
    "ItemOutcome",
    "PairedComparison",
    "Proportion",
    "Summary",
    "accuracies",
    "accuracy",
    "accuracy_counts",
    "agreement_matrix",
    "cfr",
    "cfr_counts",
    "character_error_rate",
    "compare_runs",
    "levenshtein",
    "mcnemar_exact",
    "mean_ocr_cer",
    "mmc",
    "mmc_counts",
    "normalize_transcription",
    "ocr_perfect",
    "pairwise_agreement",
    "pairwise_agreement_counts",
    "rer",
    "rer_counts",
    "summarize",
    "summary_by",
    "wilson_interval",
]

MODALITIES: tuple[str, ...] = tuple(ANSWER_MODALITIES)
MAX_LEVENSHTEIN_CELLS = 25_000_000

NAN = float("nan")


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
        """Per modality, whether the answer equals the expected one (None is wrong)."""
        return {
            m: self.answers[m] is not None and self.answers[m] == self.expected for m in MODALITIES
        }

    @property
    def n_correct(self) -> int:
        """In how many of the three modalities the answer is correct."""
        return sum(self.correct.values())

    @property
    def consistent(self) -> bool:
        """All three answers present and identical (right or wrong)."""
        first = self.answers[MODALITIES[0]]
        return first is not None and all(self.answers[m] == first for m in MODALITIES)

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


def _is(answer: str | None, expected: str) -> bool:
    return answer is not None and answer == expected


def _check_modality(modality: str) -> None:
    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; expected one of {', '.join(MODALITIES)}")


def _ratio(counts: tuple[int, int]) -> float:
    successes, n = counts
    return successes / n if n else NAN


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
    return _ratio(accuracy_counts(rows, modality))


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
    return _ratio(rer_counts(rows))


def cfr_counts(rows: Iterable[ItemOutcome]) -> tuple[int, int]:
    """(items correct in some but not all modalities, items correct in at least one)."""
    covered = [r.n_correct for r in rows if r.n_correct > 0]
    return sum(k < len(MODALITIES) for k in covered), len(covered)


def cfr(rows: Iterable[ItemOutcome]) -> float:
    """Cross-modality Failure Rate: among items correct in at least one modality, the share
    correct in some but not all modalities.

    NaN when no item is correct in any modality (0/0); ``cfr_counts`` gives the counts.
    """
    return _ratio(cfr_counts(rows))


def mmc_counts(rows: Iterable[ItemOutcome]) -> tuple[int, int]:
    """(items correct in at least one modality, items)."""
    table = list(rows)
    return sum(r.n_correct > 0 for r in table), len(table)


def mmc(rows: Iterable[ItemOutcome]) -> float:
    """Max Modal Coverage: share of items correct in at least one modality (the accuracy
    of an oracle that picks the best modality per item). NaN for an empty table.
    """
    return _ratio(mmc_counts(rows))


def pairwise_agreement_counts(rows: Iterable[ItemOutcome], a: str, b: str) -> tuple[int, int]:
    """(items with the same non-None answer in modalities ``a`` and ``b``, items)."""
    _check_modality(a)
    _check_modality(b)
    table = list(rows)
    same = sum(r.answers[a] is not None and r.answers[a] == r.answers[b] for r in table)
    return same, len(table)


def pairwise_agreement(rows: Iterable[ItemOutcome], a: str, b: str) -> float:
    """Share of items whose answers in modalities ``a`` and ``b`` are the same answer.

    Two missing answers do not agree. NaN for an empty table.
    """
    return _ratio(pairwise_agreement_counts(rows, a, b))


def agreement_matrix(rows: Iterable[ItemOutcome]) -> dict[str, dict[str, float]]:
    """Pairwise agreement for every pair of modalities, ``matrix[a][b]``, symmetric.

    The diagonal is the share of items with any answer in that modality.
    """
    table = list(rows)
    return {a: {b: pairwise_agreement(table, a, b) for b in MODALITIES} for a in MODALITIES}


# ---------------------------------------------------------------------------------------
# OCR control


def normalize_transcription(text: str) -> str:
    """NFC, all whitespace (spaces, tabs, line breaks) removed."""
    return "".join(unicodedata.normalize("NFC", text).split())


def levenshtein(a: str, b: str) -> int:
    """Edit distance with unit-cost insertions, deletions and substitutions.

    O(len(a) * len(b)) time, O(min(len(a), len(b))) memory. Raises ``ValueError`` when the
    table would exceed ``MAX_LEVENSHTEIN_CELLS`` cells.
    """
    # The common prefix and suffix cost nothing; a near-perfect transcription becomes cheap.
    start = 0
    shortest = min(len(a), len(b))
    while start < shortest and a[start] == b[start]:
        start += 1
    end = 0
    while end < shortest - start and a[-1 - end] == b[-1 - end]:
        end += 1
    a, b = a[start : len(a) - end], b[start : len(b) - end]
    if len(a) < len(b):
        a, b = b, a  # b is the shorter: one row of len(b) + 1
    if not b:
        return len(a)
    if len(a) * len(b) > MAX_LEVENSHTEIN_CELLS:
        raise ValueError(
            f"strings too long for an edit distance: {len(a)} x {len(b)} characters differ "
            f"(limit {MAX_LEVENSHTEIN_CELLS} table cells)"
        )
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        left = i
        for j, cb in enumerate(b, 1):
            left = min(previous[j] + 1, left + 1, previous[j - 1] + (ca != cb))
            current.append(left)
        previous = current
    return previous[-1]


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance between the normalised strings over the normalised reference's
    length.

    Normalisation: ``normalize_transcription`` (NFC, whitespace removed). An empty
    reference gives 0.0 when the hypothesis is empty too, else 1.0. The value can exceed 1
    when the hypothesis is much longer than the reference.
    """
    ref = normalize_transcription(reference)
    hyp = normalize_transcription(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return levenshtein(ref, hyp) / len(ref)


def ocr_perfect(rows: Iterable[ItemOutcome]) -> list[ItemOutcome]:
    """The rows whose transcription was perfect (``ocr_cer == 0``), in order."""
    return [r for r in rows if r.ocr_cer is not None and r.ocr_cer == 0]


def mean_ocr_cer(rows: Iterable[ItemOutcome]) -> float:
    """Mean CER over the rows that have one; NaN when none has."""
    values = [r.ocr_cer for r in rows if r.ocr_cer is not None]
    return math.fsum(values) / len(values) if values else NAN


# ---------------------------------------------------------------------------------------
# Statistics


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``successes / n``.

    ``(0.0, 1.0)`` when ``n == 0``. E.g. 8 of 10 at 95%: about (0.490, 0.943).
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * math.sqrt(p * (1 - p) / n + z2n / (4 * n))
    # At 0 and n the bounds are exactly 0 and 1; rounding must not move them.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def _binomial_half_cdf(k: int, n: int) -> Fraction:
    """P(X <= k) for X ~ Binomial(n, 1/2), exactly."""
    total = 0
    term = 1  # C(n, 0); the next is C(n, i + 1) = C(n, i) * (n - i) / (i + 1)
    for i in range(k + 1):
        total += term
        term = term * (n - i) // (i + 1)
    return Fraction(total, 2**n)


def mcnemar_exact(
    b: int, c: int, *, alternative: Literal["two-sided", "greater", "less"] = "two-sided"
) -> float:
    """Exact McNemar test on the discordant pair counts ``b`` and ``c``.

    Under the null hypothesis each discordant item falls on either side with probability
    1/2, so ``b ~ Binomial(b + c, 1/2)``. Two-sided: ``min(1, 2 * P(X <= min(b, c)))``;
    ``"greater"``: ``P(X >= b)`` (evidence that ``b`` exceeds ``c``); ``"less"``:
    ``P(X <= b)``. 1.0 when ``b + c == 0``. E.g. b=0, c=5: 0.0625; b=1, c=9: 0.021484375.
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    if alternative == "two-sided":
        p = 2 * _binomial_half_cdf(min(b, c), n)
    elif alternative == "greater":
        p = _binomial_half_cdf(c, n)  # P(X >= b) == P(n - X <= c), by symmetry
    elif alternative == "less":
        p = _binomial_half_cdf(b, n)
    else:
        raise ValueError(f"alternative must be two-sided, greater or less, got {alternative!r}")
    return float(min(Fraction(1), p))


@dataclass(frozen=True)
class Proportion:
    """A count-based rate with its Wilson interval. ``value`` is NaN when ``n == 0``."""

    successes: int
    n: int
    confidence: float = 0.95

    @property
    def value(self) -> float:
        return _ratio((self.successes, self.n))

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.successes, self.n, self.confidence)

    @classmethod
    def of(cls, counts: tuple[int, int], confidence: float = 0.95) -> Proportion:
        return cls(counts[0], counts[1], confidence)


def _json_float(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


# ---------------------------------------------------------------------------------------
# Paired comparison of two runs


@dataclass(frozen=True)
class PairedComparison:
    """Consistency of the same items in a baseline run and the current run.

    Counts are over the items present in both runs. ``lost``: consistent in the baseline,
    inconsistent now; ``gained``: the reverse. ``rer_drop = rer_baseline - rer_current``.
    ``p_value`` is McNemar's exact two-sided test on (lost, gained); ``p_value_drop`` the
    one-sided test that the current run loses more items than it gains.
    """

    n_common: int
    both_consistent: int
    lost: int
    gained: int
    both_inconsistent: int
    rer_baseline: float
    rer_current: float
    rer_drop: float
    p_value: float
    p_value_drop: float
    lost_ids: tuple[str, ...]
    gained_ids: tuple[str, ...]
    only_in_baseline: tuple[str, ...]
    only_in_current: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready values (NaN as None, id tuples as lists)."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if isinstance(value, tuple):
                out[key] = list(value)
            elif isinstance(value, float):
                out[key] = _json_float(value)
            else:
                out[key] = value
        return out


def compare_runs(baseline: Mapping[str, bool], current: Mapping[str, bool]) -> PairedComparison:
    """Compare per-item consistency (item id -> consistent) of a baseline and a current run.

    Only items present in both count; the others are listed in ``only_in_*``. RERs are over
    the common items (NaN when there are none).
    """
    common = sorted(set(baseline) & set(current))
    lost_ids = tuple(i for i in common if baseline[i] and not current[i])
    gained_ids = tuple(i for i in common if not baseline[i] and current[i])
    both = sum(1 for i in common if baseline[i] and current[i])
    neither = len(common) - both - len(lost_ids) - len(gained_ids)
    rer_before = _ratio((both + len(lost_ids), len(common)))
    rer_now = _ratio((both + len(gained_ids), len(common)))
    return PairedComparison(
        n_common=len(common),
        both_consistent=both,
        lost=len(lost_ids),
        gained=len(gained_ids),
        both_inconsistent=neither,
        rer_baseline=rer_before,
        rer_current=rer_now,
        rer_drop=rer_before - rer_now,
        p_value=mcnemar_exact(len(lost_ids), len(gained_ids)),
        p_value_drop=mcnemar_exact(len(lost_ids), len(gained_ids), alternative="greater"),
        lost_ids=lost_ids,
        gained_ids=gained_ids,
        only_in_baseline=tuple(sorted(set(baseline) - set(current))),
        only_in_current=tuple(sorted(set(current) - set(baseline))),
    )


# ---------------------------------------------------------------------------------------
# Summaries


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

    def to_json(self) -> dict[str, Any]:
        """Plain floats and ints (NaN as None).

        Top level: ``n_items``, ``rer``, ``cfr``, ``mmc``, ``accuracy`` {modality: rate},
        ``agreement`` {pair: rate}, ``ocr_cer``, ``n_ocr``, ``n_ocr_perfect``,
        ``rer_ocr_perfect``, ``confidence``; then ``counts`` and ``intervals`` with the same
        keys holding ``[successes, n]`` and ``[low, high]``.
        """
        rates: dict[str, Proportion | Mapping[str, Proportion]] = {
            "rer": self.rer,
            "cfr": self.cfr,
            "mmc": self.mmc,
            "accuracy": self.accuracy,
            "agreement": self.agreement,
            "rer_ocr_perfect": self.rer_ocr_perfect,
        }

        def each(fn: Callable[[Proportion], Any]) -> dict[str, Any]:
            return {
                key: fn(value)
                if isinstance(value, Proportion)
                else {k: fn(v) for k, v in value.items()}
                for key, value in rates.items()
            }

        out: dict[str, Any] = {"n_items": self.n_items}
        out.update(each(lambda p: _json_float(p.value)))
        out.update(
            ocr_cer=_json_float(self.ocr_cer),
            n_ocr=self.n_ocr,
            n_ocr_perfect=self.n_ocr_perfect,
            confidence=self.confidence,
            counts=each(lambda p: [p.successes, p.n]),
            intervals=each(lambda p: list(p.interval)),
        )
        return out


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
