"""How soon the sequential gate stops and what it says, on simulated paired runs, next to
the fixed gate's verdict on all the items of the same runs; for the sequential gate's
tests and ``benchmarks/sequential_gate.py``.

A simulated run is the suite's ``n`` items in asking order, each lost with probability
``churn / 2 + drop``, gained with probability ``churn / 2`` (as in ``gate_simulation``).
The sequential rule (``rest_checks.sequential.run_sequence``, the code a run uses) looks
after every wave; the fixed gate (``paired_verdict``) judges all ``n``.

Needs numpy (a dependency of the ``dev`` extra), imported here and nowhere in a run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from rest_checks.metrics.paired_bound import PairedVerdict, paired_verdict
from rest_checks.sequential import WAVE, run_sequence


@dataclass(frozen=True)
class SequentialRates:
    """Over ``runs`` simulated runs: shares of the sequential verdicts, the median and
    90th percentile of items asked, and the shares of the fixed gate's verdicts."""

    runs: int
    passed: float
    failed: float
    inconclusive: float
    median_asked: float
    p90_asked: float
    fixed_passed: float
    fixed_failed: float


def simulate_sequential(
    n: int,
    churn: float,
    drop: float,
    tolerance: float,
    alpha: float,
    runs: int,
    seed: int = 0,
    wave: int = WAVE,
) -> SequentialRates:
    rng = np.random.default_rng(seed)
    p_lost, p_gained = churn / 2 + drop, churn / 2
    # 0: unchanged, 1: lost, 2: gained; d = 0, 1, -1.
    draws = rng.choice(3, size=(runs, n), p=[1.0 - p_lost - p_gained, p_lost, p_gained])
    to_d = (0, 1, -1)
    verdicts: Counter[str] = Counter()
    fixed: Counter[PairedVerdict] = Counter()
    asked = []
    for row in draws:
        ds = [to_d[v] for v in row.tolist()]
        waves = (
            [(str(i), d) for i, d in enumerate(ds[start : start + wave], start)]
            for start in range(0, n, wave)
        )
        decision = run_sequence(waves, n, alpha, tolerance, with_bound=False)
        verdicts[decision.verdict] += 1
        asked.append(len(decision.asked))
        lost, gained = ds.count(1), ds.count(-1)
        fixed[paired_verdict(lost, gained, n, tolerance, alpha)] += 1
    return SequentialRates(
        runs=runs,
        passed=verdicts["passed"] / runs,
        failed=verdicts["failed"] / runs,
        inconclusive=verdicts["inconclusive"] / runs,
        median_asked=float(np.median(asked)),
        p90_asked=float(np.percentile(asked, 90)),
        fixed_passed=fixed["passed"] / runs,
        fixed_failed=fixed["failed"] / runs,
    )
