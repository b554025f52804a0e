"""Properties of the metrics on random tables (rest_checks.metrics)."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from rest_checks.metrics import (
    MODALITIES,
    ItemOutcome,
    accuracies,
    agreement_matrix,
    cfr,
    cfr_counts,
    character_error_rate,
    compare_runs,
    consistent,
    correct,
    levenshtein,
    mcnemar_exact,
    mmc,
    mmc_counts,
    pairwise_agreement,
    rer,
    summarize,
    wilson_interval,
)

SETTINGS = settings(max_examples=150, deadline=None)

# A small answer alphabet so that agreements and disagreements both happen often.
answers = st.one_of(st.none(), st.sampled_from("ABC"))


row_parts = st.tuples(
    st.sampled_from(["soe", "mcq"]),
    st.sampled_from("ABC"),
    st.tuples(answers, answers, answers),
    st.one_of(st.none(), st.just(0.0), st.floats(0, 3)),
)
tables = st.lists(row_parts, max_size=20).map(
    lambda parts: [
        ItemOutcome(f"item-{i}", task, expected, dict(zip(MODALITIES, given, strict=True)), cer)
        for i, (task, expected, given, cer) in enumerate(parts)
    ]
)
TABLE_SETTINGS = settings(max_examples=100, deadline=None)


def in_unit_interval(x: float) -> bool:
    return 0.0 <= x <= 1.0


@TABLE_SETTINGS
@given(tables)
def test_rates_lie_in_the_unit_interval_or_are_nan_for_no_items(table: list[ItemOutcome]) -> None:
    rates = [rer(table), mmc(table), *accuracies(table).values()]
    if table:
        assert all(in_unit_interval(x) for x in rates)
    else:
        assert all(math.isnan(x) for x in rates)
    value = cfr(table)
    assert math.isnan(value) if cfr_counts(table)[1] == 0 else in_unit_interval(value)
    # CFR is taken over exactly the items MMC counts as covered.
    assert cfr_counts(table)[1] == mmc_counts(table)[0]


@TABLE_SETTINGS
@given(tables)
def test_rows_use_the_one_definition_of_consistency_and_correctness(
    table: list[ItemOutcome],
) -> None:
    for row in table:
        assert row.consistent == consistent(row.answers)
        assert row.correct == {m: correct(row.answers[m], row.expected) for m in MODALITIES}
        # Consistent exactly when every pair of modalities agrees on an answer.
        values = [row.answers[m] for m in MODALITIES]
        assert row.consistent == (None not in values and len(set(values)) == 1)


@TABLE_SETTINGS
@given(tables)
def test_rates_bound_each_other(table: list[ItemOutcome]) -> None:
    if not table:
        return
    # RER needs all three answers equal, so every pair agrees at least as often.
    for a in MODALITIES:
        for b in MODALITIES:
            assert rer(table) <= pairwise_agreement(table, a, b)
    # MMC is at least each accuracy (an oracle picks the best) and at most their sum.
    acc = accuracies(table)
    assert all(x <= mmc(table) for x in acc.values())
    assert mmc(table) <= sum(acc.values()) + 1e-12


@TABLE_SETTINGS
@given(tables)
def test_consistency_and_agreement_match_brute_force(table: list[ItemOutcome]) -> None:
    for r in table:
        values = [r.answers[m] for m in MODALITIES]
        assert r.consistent == (None not in values and len(set(values)) == 1)
    matrix = agreement_matrix(table)
    for a in MODALITIES:
        for b in MODALITIES:
            x, y = matrix[a][b], matrix[b][a]
            assert x == y or (math.isnan(x) and math.isnan(y))


@TABLE_SETTINGS
@given(tables)
def test_summary_json_is_strict_json_and_intervals_hold_the_rate(table: list[ItemOutcome]) -> None:
    data = summarize(table).to_json()
    json.dumps(data, allow_nan=False)
    for key in ("rer", "cfr", "mmc", "rer_ocr_perfect"):
        low, high = data["intervals"][key]
        assert 0.0 <= low <= high <= 1.0
        if data[key] is not None:
            assert low - 1e-12 <= data[key] <= high + 1e-12


@SETTINGS
@given(st.integers(0, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_holds_the_observed_rate(counts: tuple[int, int]) -> None:
    successes, n = counts
    low, high = wilson_interval(successes, n)
    assert 0.0 <= low <= high <= 1.0
    if n:
        assert low - 1e-12 <= successes / n <= high + 1e-12
        # Symmetry: the interval for failures mirrors the one for successes.
        mirror_low, mirror_high = wilson_interval(n - successes, n)
        assert math.isclose(low, 1 - mirror_high, abs_tol=1e-12)
        assert math.isclose(high, 1 - mirror_low, abs_tol=1e-12)


@SETTINGS
@given(st.integers(0, 300), st.integers(0, 300))
def test_mcnemar_is_a_symmetric_probability(b: int, c: int) -> None:
    p = mcnemar_exact(b, c)
    assert 0.0 <= p <= 1.0
    assert p == mcnemar_exact(c, b)
    one_sided = mcnemar_exact(b, c, alternative="greater")
    assert one_sided <= 1.0
    if b > c:
        assert p == min(1.0, 2 * one_sided)


@SETTINGS
@given(
    st.dictionaries(st.sampled_from("abcdefgh"), st.booleans()),
    st.dictionaries(st.sampled_from("abcdefgh"), st.booleans()),
)
def test_compare_runs_cells_partition_the_common_items(
    baseline: dict[str, bool], current: dict[str, bool]
) -> None:
    result = compare_runs(baseline, current)
    cells = result.both_consistent + result.lost + result.gained + result.both_inconsistent
    assert cells == result.n_common == len(baseline.keys() & current.keys())
    assert set(result.lost_ids).isdisjoint(result.gained_ids)
    if result.n_common:
        assert math.isclose(result.rer_drop, (result.lost - result.gained) / result.n_common)


def naive_levenshtein(a: str, b: str) -> int:
    """The textbook full table, as an independent reference."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        table[i][0] = i
    for j in range(len(b) + 1):
        table[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = min(
                table[i - 1][j] + 1,
                table[i][j - 1] + 1,
                table[i - 1][j - 1] + (a[i - 1] != b[j - 1]),
            )
    return table[len(a)][len(b)]


short_texts = st.text(alphabet="ab1 =\n", max_size=12)


@settings(max_examples=300, deadline=None)
@given(short_texts, short_texts)
def test_levenshtein_matches_the_textbook_table(a: str, b: str) -> None:
    assert levenshtein(a, b) == naive_levenshtein(a, b)


@SETTINGS
@given(short_texts, short_texts, short_texts)
def test_levenshtein_is_a_metric(a: str, b: str, c: str) -> None:
    assert levenshtein(a, b) == levenshtein(b, a)
    assert levenshtein(a, c) <= levenshtein(a, b) + levenshtein(b, c)
    assert (levenshtein(a, b) == 0) == (a == b)


@SETTINGS
@given(st.text(max_size=40), st.text(max_size=40))
def test_cer_is_non_negative_and_zero_on_itself(reference: str, hypothesis: str) -> None:
    assert character_error_rate(reference, hypothesis) >= 0.0
    assert character_error_rate(reference, reference) == 0.0
