"""The gate's error rates: a drop of exactly the tolerance passes at most alpha of the time
(exactly computed, and simulated through the real gate), and the bound behind it is what
its documentation says."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rest_checks.baselines import baseline_document, gate, load_baseline, write_baseline
from rest_checks.metrics import paired_bound
from rest_checks.metrics.paired_bound import (
    drop_exceeds,
    drop_upper_bound,
    items_to_decide,
    paired_verdict,
    shows_within,
)
from rest_checks.testing.gate_simulation import SimulatedRates, exact_pass_rate, simulate

SIZES = (150, 450, 1000, 3000)
CHURNS = (0.0, 0.05, 0.10, 0.20)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("churn", CHURNS)
def test_a_drop_of_the_tolerance_passes_at_most_alpha_of_the_time(n: int, churn: float) -> None:
    assert exact_pass_rate(n, churn, 0.02, 0.02, 0.05) <= 0.05


@pytest.mark.parametrize(
    ("tolerance", "alpha"), [(0.01, 0.05), (0.05, 0.05), (0.02, 0.01), (0.1, 0.1)]
)
def test_the_false_pass_rate_holds_for_other_tolerances_and_levels(
    tolerance: float, alpha: float
) -> None:
    for n in (60, 300, 2000):
        for churn in (0.0, 0.01, 0.03, 0.3):
            assert exact_pass_rate(n, churn, tolerance, tolerance, alpha) <= alpha, (n, churn)


def test_without_the_continuity_correction_the_rate_would_exceed_alpha(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What the correction is for: the plain score test passes 5.3% at n = 450, no churn.
    monkeypatch.setattr(paired_bound, "CONTINUITY", 0.0)
    assert exact_pass_rate(450, 0.0, 0.02, 0.02, 0.05) > 0.05


def test_a_larger_true_drop_passes_less_often() -> None:
    for n in (450, 3000):
        at_tolerance = exact_pass_rate(n, 0.1, 0.02, 0.02, 0.05)
        assert exact_pass_rate(n, 0.1, 0.03, 0.02, 0.05) <= at_tolerance
        assert exact_pass_rate(n, 0.1, 0.04, 0.02, 0.05) <= at_tolerance


def test_the_simulation_agrees_with_the_exact_rate() -> None:
    for n, churn in ((450, 0.05), (1000, 0.2)):
        exact = exact_pass_rate(n, churn, 0.0, 0.02, 0.05)
        rates = simulate(n, churn, 0.0, 0.02, 0.05, runs=4000, seed=7)
        error = SimulatedRates.standard_error(exact, rates.runs)
        assert abs(rates.passed - exact) < 4 * error, (n, churn, rates.passed, exact)


def _whole_run_gate(tmp_path: Path, lost: int, gained: int, n: int) -> str:
    cases = {f"i{k:04d}": k >= gained and (k < gained + lost or k % 2 == 0) for k in range(n)}
    now = {key: (k < gained) or (k >= gained + lost and k % 2 == 0) for k, key in enumerate(cases)}
    path = tmp_path / "b.json"
    write_baseline(
        path,
        baseline_document(
            model="m",
            model_identity={},
            suite=(),
            seed=0,
            metrics={},
            cases=cases,
            fingerprints=dict.fromkeys(cases, "f"),
            signature={},
        ),
    )
    baseline = load_baseline(path)
    assert baseline is not None
    return gate(baseline, now, alpha=0.05, tolerance=0.02).verdict


def test_the_real_gate_gives_the_simulated_verdicts(tmp_path: Path) -> None:
    # The simulation counts paired_verdict's verdicts; the gate of a whole run must give
    # the same ones for the same counts.
    rng = np.random.default_rng(3)
    for _ in range(25):
        n = int(rng.integers(50, 600))
        lost, gained = (int(x) for x in rng.multinomial(n, [0.06, 0.04, 0.9])[:2])
        assert _whole_run_gate(tmp_path, lost, gained, n) == paired_verdict(
            lost, gained, n, 0.02, 0.05
        )


# --- the bound itself ----------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 4000), st.data())
def test_the_bound_is_where_the_test_starts_to_pass(n: int, data: st.DataObject) -> None:
    lost = data.draw(st.integers(0, n))
    gained = data.draw(st.integers(0, n - lost))
    alpha = data.draw(st.sampled_from([0.01, 0.05, 0.1]))
    bound = drop_upper_bound(lost, gained, n, alpha)
    assert bound >= (lost - gained) / n
    if bound < 1.0:
        assert shows_within(lost, gained, n, bound + 1e-7, alpha)
    assert not shows_within(lost, gained, n, bound - 1e-7, alpha)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 3000), st.data())
def test_gaining_items_never_raises_the_bound(n: int, data: st.DataObject) -> None:
    lost = data.draw(st.integers(0, n - 1))
    gained = data.draw(st.integers(0, n - lost - 1))
    assert drop_upper_bound(lost, gained + 1, n, 0.05) <= drop_upper_bound(lost, gained, n, 0.05)


def test_the_bound_of_a_run_with_nothing_changed() -> None:
    # Nothing lost or gained: the bound shrinks with n, and only large runs pass at 2 pts.
    assert drop_upper_bound(0, 0, 150, 0.05) > 0.02
    assert drop_upper_bound(0, 0, 450, 0.05) < 0.02
    assert drop_upper_bound(0, 0, 0, 0.05) == 1.0


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5000), st.data(), st.sampled_from(["0.02", "0.05", "0.1", "0.015"]))
def test_the_drop_is_compared_with_the_tolerance_exactly(
    n: int, data: st.DataObject, tolerance: str
) -> None:
    lost = data.draw(st.integers(0, n))
    gained = data.draw(st.integers(0, n - lost))
    exact = Fraction(lost - gained, n) > Fraction(tolerance)
    assert drop_exceeds(lost, gained, n, float(tolerance)) == exact


def test_items_to_decide_is_the_first_size_that_decides() -> None:
    needed = items_to_decide(5, 3, 150, 0.02, 0.05)
    assert needed is not None and needed > 150
    scale = needed / 150
    assert shows_within(5 * scale, 3 * scale, needed, 0.02, 0.05)
    smaller = (needed - 1) / 150
    assert not shows_within(5 * smaller, 3 * smaller, needed - 1, 0.02, 0.05)
    # A drop of exactly the tolerance can be decided by no number of items.
    assert items_to_decide(9, 0, 450, 0.02, 0.05) is None
    # A drop above it is decided as a failure once McNemar would be significant.
    assert items_to_decide(38, 22, 450, 0.02, 0.05) == pytest.approx(460, abs=15)
