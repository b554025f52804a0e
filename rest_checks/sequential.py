"""The sequential gate: ask items a wave at a time and stop once the verdict is certain.

Each item judged in both runs gives ``d = baseline-consistent - now-consistent`` in
{-1, 0, 1}; the paired RER drop is ``theta = E[d]`` (items drawn i.i.d. from the suite's
population, as the fixed gate assumes). The gate keeps a betting confidence sequence
(Waudby-Smith and Ramdas, "Estimating means of bounded random variables by betting",
JRSS-B 2024) for the mean of ``x = (d + 1) / 2`` in [0, 1], ``mu = (theta + 1) / 2``:

- the *pass* capital ``K-(m) = prod(1 - lambda_i (x_i - m))`` is a non-negative
  martingale under ``mu = m``, so by Ville's inequality it reaches ``1 / alpha`` with
  probability at most ``alpha`` at *any* time, however the stop is chosen. It grows with
  ``m``, so testing the boundary ``m = (tolerance + 1) / 2`` covers every
  ``theta >= tolerance``: ``passed`` once ``K-(m_tol) >= 1 / alpha``;
- the *fail* capital ``K+(1/2) = prod(1 + lambda_i (x_i - 1/2))`` tests ``theta <= 0``
  the same way: ``failed`` once it reaches ``1 / alpha`` and the observed drop is above
  the tolerance (the fixed gate's rule, with the sequence in place of McNemar's test);
- the upper bound reported at a stop is the running minimum over looks of
  ``inf{theta : K-(m) >= 1 / alpha}``, found by bisection (the bets do not depend on m).

The bets are predictable (each uses only the items before it), which is all Ville's
inequality needs; their size only decides how soon a verdict comes. The fail capital uses
Waudby-Smith and Ramdas' plug-in
``lambda_t = min(c, sqrt(2 log(1/alpha) / (var_{t-1} t log(1 + t))))``, large early, which
suits a large regression; the pass capital (and so the bound) uses the same plug-in tuned
for a horizon of ``h`` items, ``sqrt(2 log(1/alpha) / (var_{t-1} h))`` with ``h`` half the
suite: a pass has to be shown against a gap of only the tolerance, and bets sized for the
time it takes grow the capital faster there (measured in ``benchmarks/sequential_gate.py``).
The running variance of ``x`` starts from a prior (``VARIANCE_PRIOR``). The fail bets
are capped below 1 (every factor positive for every ``m``). The pass bets may reach 1.5,
so that an unchanged model without churn passes sooner; their factors stay positive for
``m > 1 - 1/1.5``, i.e. ``theta > -1/3`` (``THETA_FLOOR``), which holds every tolerance:
the pass test is valid, and the bound is a confidence sequence on ``(-1/3, 1]`` (a bound
below that is reported as the floor, which is still an upper bound).

Pure: the order of items, the procedure on numbers and the gate it gives; no I/O, no
model (``rest_checks.sequential_run`` asks the model).
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from rest_checks.metrics.paired_bound import drop_exceeds

if TYPE_CHECKING:
    from rest_checks.baselines import GateResult
    from rest_checks.results_document import Sequential as SequentialJson

__all__ = [
    "FAIL_BET_CAP",
    "PASS_BET_CAP",
    "THETA_FLOOR",
    "VARIANCE_PRIOR",
    "WAVE",
    "BettingSequence",
    "SequentialDecision",
    "interleaved_order",
    "pass_horizon",
    "run_sequence",
    "sequential_gate",
]

# The largest bets. Below 1, 1 - lambda (x - m) > 0 for every x and m in [0, 1]; the pass
# bets go higher (faster passes without churn) and keep it positive above THETA_FLOOR.
PASS_BET_CAP = 1.5
FAIL_BET_CAP = 0.75
# The smallest drop the pass capital is defined at: m = 1 - 1 / PASS_BET_CAP.
THETA_FLOOR = 1.0 - 2.0 / PASS_BET_CAP
# The variance of x assumed before any item (x in [0, 1] has variance at most 1/4).
VARIANCE_PRIOR = 0.25
# Items asked between two looks.
WAVE = 50
# Bisection of the bound stops when it is known to this many RER points.
_PRECISION = 1e-7

# The pass bets are sized to show a pass within this share of the suite.
HORIZON_SHARE = 0.5

SequentialVerdict = Literal["passed", "failed", "inconclusive"]


def interleaved_order(tasks: Mapping[str, str], seed: int) -> list[str]:
    """The case keys of ``tasks`` (key -> task source) in a seeded random order,
    interleaved across task sources: each source's keys shuffled, then dealt in turn in
    proportion to the source's size, so that every prefix holds each source at about its
    share of the suite (a regression in one source shows up as early as in the others)."""
    rng = random.Random(f"rest-sequential:{seed}")
    by_task: dict[str, list[str]] = {}
    for key in sorted(tasks):
        by_task.setdefault(tasks[key], []).append(key)
    for keys in by_task.values():
        rng.shuffle(keys)
    # The k-th key of a source of size s goes at about (k + 1/2) / s of the way through.
    placed = sorted(
        ((k + 0.5) / len(keys), rng.random(), key)
        for keys in by_task.values()
        for k, key in enumerate(keys)
    )
    return [key for _, _, key in placed]


@dataclass
class BettingSequence:
    """The pass and fail capitals and the bets so far, updated an item at a time."""

    alpha: float
    tolerance: float
    # Items the pass bets are sized for (None: Waudby-Smith and Ramdas' t log(1 + t)).
    horizon: int | None = None
    variance_prior: float = VARIANCE_PRIOR
    xs: list[float] = field(default_factory=list)
    # The pass bets, which the bound is computed with.
    bets: list[float] = field(default_factory=list)
    log_pass_capital: float = 0.0
    log_fail_capital: float = 0.0
    lost: int = 0
    gained: int = 0
    # The running minimum of the upper bound over the looks so far.
    bound: float = 1.0
    _sum: float = 0.0
    _squares: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must lie strictly between 0 and 1, got {self.alpha}")
        if self.horizon is not None and self.horizon < 1:
            raise ValueError(f"the horizon must be a positive number of items, got {self.horizon}")

    @property
    def n(self) -> int:
        return len(self.xs)

    @property
    def threshold(self) -> float:
        return math.log(1.0 / self.alpha)

    def _next_bet(self, cap: float, horizon: int | None) -> float:
        """The bet on the next item, from the items before it only (predictable)."""
        t = self.n + 1
        variance = (self.variance_prior + self._squares) / t
        spread = t * math.log1p(t) if horizon is None else float(horizon)
        return min(cap, math.sqrt(2.0 * self.threshold / (variance * spread)))

    def add(self, d: int) -> None:
        """One item: ``d = 1`` lost, ``-1`` gained, ``0`` unchanged."""
        if d not in (-1, 0, 1):
            raise ValueError(f"d must be -1, 0 or 1, got {d!r}")
        x = (d + 1) / 2.0
        bet = self._next_bet(PASS_BET_CAP, self.horizon)
        fail_bet = self._next_bet(FAIL_BET_CAP, None)
        mean_before = (0.5 + self._sum) / (self.n + 1)
        self.xs.append(x)
        self.bets.append(bet)
        self._sum += x
        self._squares += (x - mean_before) ** 2
        m_tol = (self.tolerance + 1.0) / 2.0
        self.log_pass_capital += math.log1p(-bet * (x - m_tol))
        self.log_fail_capital += math.log1p(fail_bet * (x - 0.5))
        self.lost += d == 1
        self.gained += d == -1

    def log_capital_at(self, theta: float) -> float:
        """``log K-(m)`` at ``m = (theta + 1) / 2``: the evidence that the drop is below
        ``theta``."""
        m = (theta + 1.0) / 2.0
        factors = [1.0 - bet * (x - m) for bet, x in zip(self.bets, self.xs, strict=True)]
        if min(factors, default=1.0) <= 0.0:
            return -math.inf  # below THETA_FLOOR: no evidence counted
        return sum(math.log(f) for f in factors)

    def upper_bound_now(self) -> float:
        """``inf{theta > THETA_FLOOR : K-(theta) >= 1 / alpha}`` on the items so far (1.0:
        none)."""
        if self.log_capital_at(1.0) < self.threshold:
            return 1.0
        low, high = THETA_FLOOR, 1.0
        while high - low > _PRECISION:
            mid = (low + high) / 2.0
            if self.log_capital_at(mid) >= self.threshold:
                high = mid
            else:
                low = mid
        return high

    def look(self, with_bound: bool = True) -> SequentialVerdict | None:
        """After a wave: the verdict if the sequence has reached one, else None. Updates
        the running bound (``with_bound``; a simulation that needs only verdicts skips it)."""
        if with_bound:
            self.bound = min(self.bound, self.upper_bound_now())
        if self.log_pass_capital >= self.threshold:
            return "passed"
        if self.log_fail_capital >= self.threshold and drop_exceeds(
            self.lost, self.gained, self.n, self.tolerance
        ):
            return "failed"
        return None


@dataclass(frozen=True)
class SequentialDecision:
    """What the sequential gate decided: the verdict, the items asked (case keys, in the
    order asked) of the items it had, the bound at the stop and the looks it took."""

    verdict: SequentialVerdict
    asked: tuple[str, ...]
    total: int
    lost: int
    gained: int
    upper_bound: float
    looks: int
    # Requests the items not asked would have made.
    requests_saved: int = 0

    @property
    def stopped_early(self) -> bool:
        return len(self.asked) < self.total

    def reason(self) -> str:
        """Why an item was not asked: ``not needed: the gate decided after 180 of 450 items``."""
        return f"not needed: the gate decided after {len(self.asked)} of {self.total} items"

    def to_json(self) -> SequentialJson:
        return {
            "verdict": self.verdict,
            "items_asked": len(self.asked),
            "items": self.total,
            "lost": self.lost,
            "gained": self.gained,
            "upper_bound": self.upper_bound,
            "looks": self.looks,
            "requests_saved": self.requests_saved,
        }


def pass_horizon(total: int) -> int:
    """The items the pass bets are sized for: half the suite, and at least a wave."""
    return max(round(total * HORIZON_SHARE), WAVE)


def run_sequence(
    waves: Iterable[Sequence[tuple[str, int | None]]],
    total: int,
    alpha: float,
    tolerance: float,
    with_bound: bool = True,
) -> SequentialDecision:
    """Run the stopping rule over ``waves`` of (case key, d) pairs, d None for an item
    that cannot be compared (no reply, or not in the baseline): it is asked but adds no
    evidence. Stops after the first wave that decides; ``inconclusive`` when the waves
    run out first. ``waves`` may be lazy: a wave is asked only when it is reached."""
    sequence = BettingSequence(alpha, tolerance, horizon=pass_horizon(total))
    asked: list[str] = []
    looks = 0
    verdict: SequentialVerdict | None = None
    for wave in waves:
        for key, d in wave:
            asked.append(key)
            if d is not None:
                sequence.add(d)
        looks += 1
        verdict = sequence.look(with_bound)
        if verdict is not None:
            break
    return SequentialDecision(
        verdict=verdict or "inconclusive",
        asked=tuple(asked),
        total=total,
        lost=sequence.lost,
        gained=sequence.gained,
        upper_bound=sequence.bound,
        looks=looks,
    )


def sequential_gate(fixed: GateResult, decision: SequentialDecision) -> GateResult:
    """The gate of a sequential run: the sequential rule's verdict and bound in place of
    the fixed gate's, whose tests do not hold after a stop chosen by the data (the per-task
    rows go too: the sequence is pooled). A partial run is at best inconclusive, as ever."""
    verdict = decision.verdict
    if verdict == "passed" and fixed.coverage.partial:
        verdict = "inconclusive"
    return dataclasses.replace(
        fixed,
        verdict=verdict,
        upper_bound=decision.upper_bound,
        by_task=(),
        items_to_decide=None,
        sequential=decision,
    )
