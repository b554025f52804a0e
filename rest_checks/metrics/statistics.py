"""Intervals and tests: Wilson score intervals, McNemar's exact test, the paired
comparison of two runs and the smallest RER drop a run of ``n`` items can detect."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from statistics import NormalDist
from typing import Any, Literal

from rest_checks.metrics._common import json_float, ratio

__all__ = [
    "PairedComparison",
    "Proportion",
    "compare_runs",
    "mcnemar_exact",
    "minimum_detectable_drop",
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


# Float slack when turning an expected count into a whole number of items: 0.14 * 100 / 2
# is 7.000000000000001 in floating point and must count as 7 items, not 8.
_COUNT_SLACK = 1e-9


def minimum_detectable_drop(n: int, alpha: float, discordant_share: float | None = None) -> float:
    """The smallest RER drop, as a share of ``n`` items, that the one-sided exact McNemar
    test at level ``alpha`` can detect.

    Definition. Let ``gained`` be the items expected to turn consistent between the runs
    by chance: 0 when ``discordant_share`` is None; otherwise ``discordant_share`` is the
    share of items expected to change state between two runs with no real difference
    (e.g. the run-to-run churn of the baseline), half of them each way, so
    ``gained = ceil(discordant_share * n / 2)`` (rounded up: more noise, a larger and so
    more cautious answer). The result is ``k / n`` for the smallest whole ``k >= 1`` with

        mcnemar_exact(gained + k, gained, alternative="greater") < alpha

    i.e. ``lost = gained + k`` items lost against ``gained`` gained, a net drop of ``k``
    items: ``k / n`` is the same quantity as ``PairedComparison.rer_drop``. Only ``k``
    with ``lost + gained <= n`` count. Returns ``math.inf`` when no such ``k`` exists
    (even losing every item the noise leaves is not significant), and for ``n == 0``.

    E.g. n=30, alpha=0.05, no gained items: losing 4 gives p = 1/16 = 0.0625, losing 5
    gives p = 1/32 = 0.03125 < 0.05, so the answer is 5/30. With n=4 even losing all four
    gives p = 1/16, so the answer is ``math.inf``. For a two-sided test at ``alpha``, pass
    ``alpha / 2`` (the exact two-sided p-value is twice the one-sided one, capped at 1).
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")
    if discordant_share is None:
        gained = 0
    elif 0 <= discordant_share <= 1:
        gained = max(0, math.ceil(discordant_share * n / 2 - _COUNT_SLACK))
    else:
        raise ValueError(f"discordant_share must lie in [0, 1], got {discordant_share}")

    def detected(k: int) -> bool:
        return mcnemar_exact(gained + k, gained, alternative="greater") < alpha

    largest = n - 2 * gained  # lost + gained <= n
    if largest < 1 or not detected(largest):
        return math.inf
    # The p-value falls as k grows (more trials, same threshold): bisect for the first k.
    missed, hit = 0, largest
    while hit - missed > 1:
        mid = (missed + hit) // 2
        if detected(mid):
            hit = mid
        else:
            missed = mid
    return hit / n


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

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready values (NaN as None, id tuples as lists)."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if isinstance(value, tuple):
                out[key] = list(value)
            elif isinstance(value, float):
                out[key] = json_float(value)
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
