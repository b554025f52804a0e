"""How often the gate says what: exact probabilities and a Monte-Carlo simulation of the
verdict on paired runs, for the gate's tests and ``benchmarks/gate_error_rates.py``.

A simulated comparison has ``n`` items. Each item is lost (consistent in the baseline,
not now) with probability ``churn / 2 + drop``, gained with probability ``churn / 2``, and
otherwise keeps its state: ``churn`` is the share of items that change state between two
runs of the same model by chance (half each way), ``drop`` the true paired RER drop.

Needs numpy (a dependency of the ``dev`` extra), imported here and nowhere in a run.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass

import numpy as np

from rest_checks.metrics.paired_bound import PairedVerdict, paired_verdict, shows_within

# Binomial probabilities below this are left out of exact sums (their total is far below
# any Monte-Carlo error the tables show).
NEGLIGIBLE = 1e-13


def _log_factorials(n: int) -> np.ndarray:
    return np.concatenate(([0.0], np.cumsum(np.log(np.arange(1, n + 1, dtype=float)))))


def _binomial_pmf(m: int, p: float, log_fact: np.ndarray) -> np.ndarray:
    """P(X = k) for k = 0..m, X ~ Binomial(m, p)."""
    k = np.arange(m + 1)
    if p <= 0.0:
        return (k == 0).astype(float)
    if p >= 1.0:
        return (k == m).astype(float)
    log_pmf = (
        log_fact[m] - log_fact[k] - log_fact[m - k] + k * np.log(p) + (m - k) * np.log1p(-p)
    )
    return np.exp(log_pmf)


def exact_pass_rate(n: int, churn: float, drop: float, tolerance: float, alpha: float) -> float:
    """P(the counts show the drop within ``tolerance``), summed exactly over the
    trinomial distribution of (lost, gained). For each number lost, passing needs at
    least some number gained (the bound falls as more items are gained), found by
    bisection."""
    p_lost, p_gained = churn / 2 + drop, churn / 2
    log_fact = _log_factorials(n)
    lost_pmf = _binomial_pmf(n, p_lost, log_fact)
    total = 0.0
    for index in np.nonzero(lost_pmf > NEGLIGIBLE)[0]:
        lost = int(index)
        rest = n - lost
        if not shows_within(lost, rest, n, tolerance, alpha):
            continue
        low, high = -1, rest  # high passes; find the fewest gained that pass
        while high - low > 1:
            mid = (low + high) // 2
            if shows_within(lost, mid, n, tolerance, alpha):
                high = mid
            else:
                low = mid
        q = p_gained / (1.0 - p_lost) if p_lost < 1.0 else 0.0
        gained_pmf = _binomial_pmf(rest, q, log_fact)
        total += float(lost_pmf[lost] * gained_pmf[high:].sum())
    return total


@dataclass(frozen=True)
class SimulatedRates:
    """Shares of simulated comparisons with each verdict, over ``runs`` runs."""

    runs: int
    passed: float
    failed: float
    inconclusive: float

    @staticmethod
    def standard_error(share: float, runs: int) -> float:
        return float(np.sqrt(max(share * (1.0 - share), 1.0 / runs) / runs))


def share_cell(share: float, runs: int) -> str:
    """A table cell: the share with one standard error, ``  4.6% ± 0.3``."""
    return f"{100 * share:5.1f}% ± {100 * SimulatedRates.standard_error(share, runs):.1f}"


def simulation_arguments(description: str, runs: int) -> argparse.Namespace:
    """The command line of a simulation benchmark: --runs, --tolerance, --alpha, --seed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--runs", type=int, default=runs, help="simulated runs per cell")
    parser.add_argument("--tolerance", type=float, default=0.02)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def simulate(
    n: int,
    churn: float,
    drop: float,
    tolerance: float,
    alpha: float,
    runs: int,
    seed: int = 0,
) -> SimulatedRates:
    """Draw ``runs`` comparisons and count the gate's verdicts on them (the verdict on
    counts that ``rest_checks.baselines.gate`` gives a whole run)."""
    rng = np.random.default_rng(seed)
    p_lost, p_gained = churn / 2 + drop, churn / 2
    draws = rng.multinomial(n, [p_lost, p_gained, 1.0 - p_lost - p_gained], size=runs)
    verdicts: Counter[PairedVerdict] = Counter(
        paired_verdict(int(lost), int(gained), n, tolerance, alpha) for lost, gained, _ in draws
    )
    return SimulatedRates(
        runs=runs,
        passed=verdicts["passed"] / runs,
        failed=verdicts["failed"] / runs,
        inconclusive=verdicts["inconclusive"] / runs,
    )
