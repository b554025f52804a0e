"""How far RER may have dropped: a one-sided confidence bound for the paired difference.

Of ``n`` items judged in both runs, ``lost`` were consistent in the baseline and are not
now, ``gained`` the reverse. The paired RER drop is ``theta = P(lost) - P(gained)``,
estimated by ``(lost - gained) / n``. A gate may say "within tolerance" only when the
one-sided upper confidence bound of ``theta`` is at most the tolerance (a non-inferiority
test).

The bound is Tango's score bound for the difference of two paired proportions (Tango,
Statistics in Medicine 1998), with a continuity correction of one half on the count
difference ``lost - gained``. The score test of ``theta = delta`` is

    Z(delta) = (lost - gained + 1/2 - n * delta) / sqrt(n * (2 * g + delta * (1 - delta)))

where ``g`` is the maximum-likelihood estimate of ``P(gained)`` under ``theta = delta``
(the positive root of a quadratic). The upper bound at level ``1 - alpha`` is the
smallest ``delta`` at which ``Z(delta) <= -z(1 - alpha)``. Without the correction the
plain score test passes a drop of exactly the tolerance slightly more often than
``alpha`` at some sizes (5.3% at n = 450 with no churn, alpha = 5%); with it, the exact
rate is at most ``alpha`` over the grid in ``benchmarks/gate_error_rates.py`` and
``docs/gate.md``.

Pure functions on counts, in floating point; no I/O.
"""

from __future__ import annotations

import math
from fractions import Fraction
from statistics import NormalDist
from typing import Literal

from rest_checks.metrics.statistics import mcnemar_exact

__all__ = [
    "CONTINUITY",
    "drop_exceeds",
    "drop_upper_bound",
    "items_to_decide",
    "paired_verdict",
    "score_statistic",
    "shows_within",
]

# Half a count added to lost - gained: the score test on a lattice of whole counts, made
# conservative (see the module docstring).
CONTINUITY = 0.5
# Bisection stops when the bound is known to this many RER points (a billionth).
_PRECISION = 1e-9
# The most items ``items_to_decide`` looks for before it says "more than this".
MOST_ITEMS = 10_000_000


def _check(lost: int, gained: int, n: int) -> None:
    if lost < 0 or gained < 0 or lost + gained > n:
        raise ValueError(
            f"need 0 <= lost, gained and lost + gained <= n, got {lost}, {gained}, {n}"
        )


def _constrained_gained_rate(lost: float, gained: float, n: float, delta: float) -> float:
    """The maximum-likelihood P(gained) when P(lost) - P(gained) is held at ``delta``.

    Setting the derivative of the trinomial log-likelihood to zero gives
    ``2n g^2 + B g + C = 0`` with ``B = -(lost + gained) + delta (2n - lost + gained)`` and
    ``C = -gained delta (1 - delta)``; for ``delta >= 0`` C <= 0, so exactly one root is
    non-negative.
    """
    a = 2.0 * n
    b = -(lost + gained) + delta * (2.0 * n - lost + gained)
    c = -gained * delta * (1.0 - delta)
    root = (-b + math.sqrt(max(b * b - 4.0 * a * c, 0.0))) / (2.0 * a)
    return max(root, max(0.0, -delta))


def score_statistic(lost: float, gained: float, n: float, delta: float) -> float:
    """Tango's score statistic for ``theta = delta``, continuity-corrected (the module
    docstring). Negative when the counts show a drop smaller than ``delta``. Counts may
    be real numbers (``items_to_decide`` scales them)."""
    g = _constrained_gained_rate(lost, gained, n, delta)
    variance = n * (2.0 * g + delta * (1.0 - delta))
    numerator = lost - gained + CONTINUITY - n * delta
    if variance <= 0.0:
        return math.copysign(math.inf, numerator) if numerator else 0.0
    return numerator / math.sqrt(variance)


def _critical(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")
    return NormalDist().inv_cdf(1.0 - alpha)


def shows_within(lost: float, gained: float, n: float, tolerance: float, alpha: float) -> bool:
    """Whether the counts show, at level ``1 - alpha``, that the drop is at most
    ``tolerance``: the one-sided score test rejects ``theta >= tolerance``."""
    if n <= 0:
        return False
    return score_statistic(lost, gained, n, tolerance) <= -_critical(alpha)


def drop_upper_bound(lost: int, gained: int, n: int, alpha: float) -> float:
    """The one-sided ``1 - alpha`` upper confidence bound of the paired RER drop, as a
    share (0.064 is 6.4 points). 1.0 when ``n == 0`` (nothing is known). The smallest
    ``delta`` in ``[-1, 1]`` at which ``shows_within`` holds, found by bisection.

    E.g. lost 0, gained 0 of 450 at alpha 5%: about 0.0057; lost 38, gained 22: about
    0.069 (the observed drop is 0.036).
    """
    _check(lost, gained, n)
    if n == 0:
        return 1.0
    z = _critical(alpha)
    low, high = -1.0, 1.0
    if score_statistic(lost, gained, n, high - _PRECISION) > -z:
        return 1.0
    # Z(delta) falls as delta grows: find where it crosses -z.
    while high - low > _PRECISION:
        mid = (low + high) / 2.0
        if score_statistic(lost, gained, n, mid) <= -z:
            high = mid
        else:
            low = mid
    return high


def drop_exceeds(lost: int, gained: int, n: int, tolerance: float) -> bool:
    """Whether the observed drop ``(lost - gained) / n`` is above ``tolerance``, decided in
    exact arithmetic: the tolerance as the decimal it was written as (0.02 is 1/50), so a
    drop of exactly the tolerance is never above it by a rounding error."""
    _check(lost, gained, n)
    if n == 0:
        return False
    return Fraction(lost - gained, n) > Fraction(repr(float(tolerance)))


PairedVerdict = Literal["passed", "failed", "inconclusive"]


def fails(lost: int, gained: int, n: int, tolerance: float, alpha: float) -> bool:
    """A drop shown to be there and above the tolerance: the exact two-sided McNemar test
    is significant at ``alpha`` and ``lost - gained > tolerance * n`` (exactly)."""
    return mcnemar_exact(lost, gained) < alpha and drop_exceeds(lost, gained, n, tolerance)


def paired_verdict(
    lost: int, gained: int, n: int, tolerance: float, alpha: float
) -> PairedVerdict:
    """The gate's verdict on the counts of one comparison: ``failed`` (``fails``),
    ``passed`` (``shows_within``: the upper bound at most the tolerance), else
    ``inconclusive``."""
    if fails(lost, gained, n, tolerance, alpha):
        return "failed"
    if shows_within(lost, gained, n, tolerance, alpha):
        return "passed"
    return "inconclusive"


def _mcnemar_rejects(lost: float, gained: float, alpha: float) -> bool:
    """McNemar's test at two-sided level ``alpha``, in its normal form with Edwards'
    continuity correction (close to the exact test): for estimates of a size, never for
    a verdict (the gate uses the exact test)."""
    discordant = lost + gained
    if discordant <= 0:
        return False
    z = NormalDist().inv_cdf(1.0 - alpha / 2.0)
    return max(abs(lost - gained) - 1.0, 0.0) / math.sqrt(discordant) > z


def items_to_decide(lost: int, gained: int, n: int, tolerance: float, alpha: float) -> int | None:
    """About how many shared items, at the observed rates of lost and gained items, would
    decide the gate: pass (the bound within ``tolerance``) when the observed drop is below
    it, fail (McNemar significant and the drop above it) when above. None when no number
    can: the observed drop equals the tolerance, or there are no items to scale from.
    ``MOST_ITEMS + 1`` stands for "more than ``MOST_ITEMS``"."""
    _check(lost, gained, n)
    if n == 0:
        return None
    observed = Fraction(lost - gained, n)
    limit = Fraction(repr(float(tolerance)))
    if observed == limit:
        return None

    def decides(size: int) -> bool:
        scale = size / n
        b, c = lost * scale, gained * scale
        if observed < limit:
            return shows_within(b, c, size, tolerance, alpha)
        return _mcnemar_rejects(b, c, alpha)

    if decides(n):
        return n
    low, high = n, 2 * n  # low does not decide; look for a size that does
    while not decides(high):
        if high > MOST_ITEMS:
            return MOST_ITEMS + 1
        low, high = high, 2 * high
    while high - low > 1:
        mid = (low + high) // 2
        if decides(mid):
            high = mid
        else:
            low = mid
    return high
