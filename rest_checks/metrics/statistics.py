"""Intervals and tests: Wilson score intervals, McNemar's exact test and the paired
comparison of two runs (the bound of the paired drop is in ``paired_bound``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from statistics import NormalDist
from typing import TYPE_CHECKING, Literal

from rest_checks.metrics._common import json_float, ratio

if TYPE_CHECKING:
    from rest_checks.results_document import PairedCounts

__all__ = [
    "PairedComparison",
    "Proportion",
    "binomial_upper_tail",
    "compare_runs",
    "holm_levels",
    "mcnemar_exact",
    "wilson_interval",
]


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


def binomial_upper_tail(k: int, n: int, share: Fraction) -> float:
    """P(X >= k) for X ~ Binomial(n, share), exactly (``share`` a fraction in [0, 1]).

    E.g. k=3, n=3, share=1/2: 0.125; k=0: 1.0."""
    if n < 0 or k < 0:
        raise ValueError(f"need k >= 0 and n >= 0, got k={k}, n={n}")
    if not 0 <= share <= 1:
        raise ValueError(f"share must lie in [0, 1], got {share}")
    if k == 0:
        return 1.0
    if k > n:
        return 0.0
    a, total = share.numerator, share.denominator
    b = total - a
    if b == 0:
        return 1.0  # every draw succeeds
    # The sum over i >= k of C(n, i) a^i b^(n - i), over total^n: integers throughout.
    # Each term from the last (exact: every term is an integer), not from its own powers.
    term = math.comb(n, k) * a**k * b ** (n - k)
    tail = 0
    for i in range(k, n + 1):
        tail += term
        term = term * (n - i) * a // ((i + 1) * b)
    return float(min(Fraction(1), Fraction(tail, total**n)))


def holm_levels(p_values: Mapping[str, float], alpha: float) -> dict[str, float | None]:
    """Holm's step-down levels: the smallest p-value is tested at alpha/m, the next at
    alpha/(m - 1), ...; once one is not below its level, none after it is tested (None).
    A name is rejected when its p-value is below its level."""
    levels: dict[str, float | None] = {}
    stopped = False
    ordered = sorted(p_values, key=lambda name: p_values[name])
    for rank, name in enumerate(ordered):
        level = None if stopped else alpha / (len(ordered) - rank)
        levels[name] = level
        stopped = stopped or level is None or not p_values[name] < level
    return levels


@dataclass(frozen=True)
class Proportion:
    """A count-based rate with its Wilson interval. ``value`` is NaN when ``n == 0``."""

    successes: int
    n: int
    confidence: float = 0.95

    @property
    def value(self) -> float:
        return ratio((self.successes, self.n))

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.successes, self.n, self.confidence)

    @classmethod
    def of(cls, counts: tuple[int, int], confidence: float = 0.95) -> Proportion:
        return cls(counts[0], counts[1], confidence)


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

    def to_json(self) -> PairedCounts:
        """Plain JSON-ready values (NaN as None, id tuples as lists)."""
        return {
            "n_common": self.n_common,
            "both_consistent": self.both_consistent,
            "lost": self.lost,
            "gained": self.gained,
            "both_inconsistent": self.both_inconsistent,
            "rer_baseline": json_float(self.rer_baseline),
            "rer_current": json_float(self.rer_current),
            "rer_drop": json_float(self.rer_drop),
            "p_value": self.p_value,
            "p_value_drop": self.p_value_drop,
            "lost_ids": list(self.lost_ids),
            "gained_ids": list(self.gained_ids),
            "only_in_baseline": list(self.only_in_baseline),
            "only_in_current": list(self.only_in_current),
        }


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
    rer_before = ratio((both + len(lost_ids), len(common)))
    rer_now = ratio((both + len(gained_ids), len(common)))
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
