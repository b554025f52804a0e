"""The sequential gate's procedure: the order items are asked in, the betting confidence
sequence, and its stopping rule on simulated runs (false passes at most alpha at any
stop; the sizes at which it decides)."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from rest_checks import sequential
from rest_checks.items.base import Item
from rest_checks.metrics.paired_bound import shows_within
from rest_checks.sequential import (
    PASS_BET_CAP,
    THETA_FLOOR,
    VARIANCE_PRIOR,
    BettingSequence,
    interleaved_order,
    pass_horizon,
    run_sequence,
)
from rest_checks.testing.gate_simulation import SimulatedRates
from rest_checks.testing.sequential_simulation import simulate_sequential


def _tasks(sizes: dict[str, int]) -> dict[str, str]:
    return {f"{task}-{i:04d}": task for task, size in sizes.items() for i in range(size)}


def test_the_order_is_every_key_once_and_the_same_for_a_seed() -> None:
    tasks = _tasks({"soebench": 30, "arith": 20, "mcq": 10})
    order = interleaved_order(tasks, seed=7)
    assert sorted(order) == sorted(tasks)
    assert order == interleaved_order(dict(reversed(list(tasks.items()))), seed=7)
    assert order != interleaved_order(tasks, seed=8)


def test_every_prefix_holds_each_source_at_about_its_share() -> None:
    sizes = {"soebench": 300, "arith": 120, "mcq": 30}
    order = interleaved_order(_tasks(sizes), seed=1)
    total = sum(sizes.values())
    for length in (10, 50, 100, 225, 449):
        seen = Counter(key.split("-")[0] for key in order[:length])
        for task, size in sizes.items():
            assert abs(seen[task] - length * size / total) <= 1.5, (length, task, seen)


def test_within_a_source_the_order_is_shuffled() -> None:
    order = [k for k in interleaved_order(_tasks({"arith": 100}), seed=3)]
    assert order != sorted(order)


def test_the_capitals_are_the_products_of_the_bets() -> None:
    seq = BettingSequence(alpha=0.05, tolerance=0.02, horizon=100)
    ds = [0, 1, 0, -1, 0, 0]
    for d in ds:
        seq.add(d)
    # The first bet sees only the prior: min(cap, sqrt(2 log 20 / (prior * horizon))).
    first = min(PASS_BET_CAP, math.sqrt(2 * math.log(20) / (VARIANCE_PRIOR * 100)))
    assert seq.bets[0] == pytest.approx(first)
    m = 0.51
    expected = sum(
        math.log(1 - bet * ((d + 1) / 2 - m)) for bet, d in zip(seq.bets, ds, strict=True)
    )
    assert seq.log_pass_capital == pytest.approx(expected)
    assert seq.log_capital_at(0.02) == pytest.approx(expected)
    assert (seq.lost, seq.gained, seq.n) == (1, 1, 6)


def test_a_bet_uses_only_the_items_before_it() -> None:
    a, b = BettingSequence(0.05, 0.02), BettingSequence(0.05, 0.02)
    for d in (0, 0, 1):
        a.add(d)
    for d in (0, 0, -1):
        b.add(d)
    assert a.bets == b.bets  # the third item's own value did not size its bet


def test_the_bound_is_where_the_capital_reaches_one_over_alpha() -> None:
    seq = BettingSequence(0.05, 0.02, horizon=200)
    for i in range(400):
        seq.add(1 if i % 25 == 0 else -1 if i % 25 == 12 else 0)
    bound = seq.upper_bound_now()
    assert -1 < bound < 1
    assert seq.log_capital_at(bound) >= seq.threshold
    assert seq.log_capital_at(bound - 1e-4) < seq.threshold


def test_no_items_no_bound() -> None:
    assert BettingSequence(0.05, 0.02).upper_bound_now() == 1.0


def test_below_the_floor_the_pass_capital_counts_nothing() -> None:
    seq = BettingSequence(0.05, 0.02, horizon=50)
    for _ in range(300):
        seq.add(-1)  # every item gained: the bound falls to the floor, and no lower
    assert seq.upper_bound_now() == pytest.approx(THETA_FLOOR, abs=1e-6)
    # A lost item bet on at the cap: its factor 1 - 1.5 (1 - m) is not positive there.
    seq.xs.append(1.0)
    seq.bets.append(PASS_BET_CAP)
    assert seq.log_capital_at(THETA_FLOOR - 0.1) == -math.inf
    assert seq.log_capital_at(THETA_FLOOR + 0.1) > -math.inf


@pytest.mark.parametrize("bad", [2, 0.5, -2])
def test_d_must_be_a_change_of_state(bad: float) -> None:
    with pytest.raises(ValueError, match="d must be -1, 0 or 1"):
        BettingSequence(0.05, 0.02).add(bad)  # type: ignore[arg-type]


def _waves(ds: list[int], wave: int = 50) -> list[list[tuple[str, int | None]]]:
    pairs: list[tuple[str, int | None]] = [(f"k{i}", d) for i, d in enumerate(ds)]
    return [pairs[i : i + wave] for i in range(0, len(pairs), wave)]


def test_an_unchanged_model_without_churn_passes_early() -> None:
    decision = run_sequence(_waves([0] * 1500), 1500, 0.05, 0.02)
    assert decision.verdict == "passed"
    assert decision.stopped_early and len(decision.asked) <= 250
    assert decision.upper_bound <= 0.02


def test_a_large_regression_fails_early_and_the_bound_is_above_the_tolerance() -> None:
    ds = [1 if i % 5 == 0 else 0 for i in range(1500)]  # a 20-point drop
    decision = run_sequence(_waves(ds), 1500, 0.05, 0.02)
    assert decision.verdict == "failed"
    assert len(decision.asked) <= 150
    assert decision.upper_bound > 0.02


def test_items_that_cannot_be_compared_are_asked_but_add_nothing() -> None:
    waves = [[("a", None), ("b", None)], [("c", None)]]
    decision = run_sequence(waves, 3, 0.05, 0.02)
    assert decision.verdict == "inconclusive"
    assert decision.asked == ("a", "b", "c") and decision.upper_bound == 1.0


def test_waves_are_asked_only_until_the_verdict() -> None:
    reached = []

    def waves():  # lazy: a wave is produced (asked) only when the rule gets to it
        for start in range(0, 1500, 50):
            reached.append(start)
            yield [(f"k{i}", 0) for i in range(start, start + 50)]

    decision = run_sequence(waves(), 1500, 0.05, 0.02)
    assert len(reached) == decision.looks == len(decision.asked) // 50


def test_the_horizon_is_half_the_suite_and_at_least_a_wave() -> None:
    assert pass_horizon(1500) == 750
    assert pass_horizon(20) == sequential.WAVE


@pytest.mark.parametrize("n", [450, 1500])
@pytest.mark.parametrize("churn", [0.0, 0.05, 0.10, 0.20])
def test_a_drop_of_the_tolerance_passes_at_most_alpha_of_the_time(n: int, churn: float) -> None:
    # Ville's inequality gives at most alpha exactly; the simulation checks the code, within
    # two of its standard errors (a wrong boundary or a peek passes far more often).
    runs = 300
    rates = simulate_sequential(n, churn, 0.02, 0.02, 0.05, runs=runs, seed=n + int(churn * 100))
    assert rates.passed <= 0.05 + 2 * SimulatedRates.standard_error(0.05, runs)


def test_peeking_at_the_fixed_gate_after_every_wave_would_pass_too_often(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the confidence sequence is for: the fixed gate's bound, looked at after every
    wave and stopped at the first pass, passes a drop of the tolerance well above alpha."""

    def peek(self: BettingSequence, with_bound: bool = True) -> str | None:
        return "passed" if shows_within(self.lost, self.gained, self.n, 0.02, 0.05) else None

    monkeypatch.setattr(BettingSequence, "look", peek)
    assert simulate_sequential(1500, 0.10, 0.02, 0.02, 0.05, runs=150, seed=5).passed > 0.08


def test_on_a_suite_of_1500_it_decides_within_the_sizes_promised() -> None:
    regression = simulate_sequential(1500, 0.05, 0.10, 0.02, 0.05, runs=100, seed=11)
    assert regression.failed == 1.0 and regression.median_asked <= 500
    unchanged = simulate_sequential(1500, 0.05, 0.0, 0.02, 0.05, runs=100, seed=12)
    assert unchanged.median_asked <= 750 and unchanged.passed >= 0.7
    quiet = simulate_sequential(1500, 0.0, 0.0, 0.02, 0.05, runs=20, seed=13)
    assert quiet.passed == 1.0 and quiet.median_asked <= 250


class _StoredRun:
    """What ``asking_order`` asks of a run: whether a case's replies are stored."""

    def __init__(self, stored: set[str]) -> None:
        self._stored = stored

    def stored(self, item: Item, rendering: str | None) -> bool:
        return item.id in self._stored


def test_cases_with_stored_replies_are_asked_first_in_the_same_order() -> None:
    from rest_checks.items.suites import load_suite
    from rest_checks.sequential_run import asking_order

    items = load_suite(("arith", "mcq"), 20, 0)
    cases = [(item, "default") for item in items]
    plain = asking_order(_StoredRun(set()), cases, seed=0)  # type: ignore[arg-type]
    stored = {item.id for item in items if item.task == "mcq"}
    ordered = asking_order(_StoredRun(stored), cases, seed=0)  # type: ignore[arg-type]
    assert [c[0].id for c in ordered[:20]] == [c[0].id for c in plain if c[0].id in stored]
    assert [c[0].id for c in ordered[20:]] == [c[0].id for c in plain if c[0].id not in stored]
    assert {c[0].task for c in plain[:6]} == {"arith", "mcq"}  # interleaved


def test_the_summary_line_says_what_was_asked_and_saved() -> None:
    from rest_checks.verdict_text import sequential_line

    decided = {"verdict": "failed", "items_asked": 150, "items": 450, "looks": 3}
    line = sequential_line({**decided, "requests_saved": 1200})
    assert line.startswith("sequential gate: decided after 150 of 450 items")
    assert "3 look(s)" in line and "300 items not asked, 1200 requests saved" in line
    undecided = {**decided, "verdict": "inconclusive", "items_asked": 450, "requests_saved": 0}
    assert sequential_line(undecided).startswith("sequential gate: undecided after all 450")
