"""CER, Wilson intervals, exact McNemar, paired run comparison and the minimum detectable
drop (rest_checks.metrics)."""

from __future__ import annotations

import math
import time
from fractions import Fraction

import pytest

from rest_checks.metrics import (
    Proportion,
    character_error_rate,
    compare_runs,
    levenshtein,
    mcnemar_exact,
    minimum_detectable_drop,
    normalize_transcription,
    wilson_interval,
)

# --- Levenshtein and CER ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("kitten", "sitting", 3),  # k->s, e->i, +g
        ("", "", 0),
        ("abc", "", 3),
        ("", "abc", 3),
        ("flaw", "lawn", 2),  # -f, +n
        ("abc", "abc", 0),
        ("abc", "acb", 2),  # no transpositions: two substitutions
        ("2A + 3B = 7", "2A + 38 = 7", 1),
    ],
)
def test_levenshtein_known_values(a: str, b: str, distance: int) -> None:
    assert levenshtein(a, b) == distance
    assert levenshtein(b, a) == distance


def test_levenshtein_of_long_different_strings_is_exact() -> None:
    # No size limit: 20,000 x 20,000 characters, every one substituted.
    assert levenshtein("a" * 20_000, "b" * 20_000) == 20_000


def test_levenshtein_long_but_similar_strings_are_cheap() -> None:
    # The shared prefix and suffix are stripped before the table is built.
    base = "x" * 100_000
    assert levenshtein(base + "a" + base, base + "b" + base) == 1


@pytest.mark.parametrize(
    ("reference", "hypothesis", "cer"),
    [
        ("kitten", "sitting", 3 / 6),
        ("abc", "abc", 0.0),
        ("abc", "", 1.0),  # three deletions over three characters
        ("ab", "abcdef", 2.0),  # four insertions over two: CER can exceed 1
        ("A", "a", 1.0),  # case counts
        ("a  b\n\nc", " a b c ", 0.0),  # whitespace is layout, not content
        ("2A + 3B = 7", "2A+3B=7", 0.0),  # an OCR engine dropping spaces reads perfectly
        ("2A + 3B = 7", "2A+38=7", 1 / 7),  # a misread character counts
        ("line one\nline two", "line one line two", 0.0),
        ("caf\u00e9", "cafe\u0301", 0.0),  # NFC: composed and decomposed é are equal
        ("", "", 0.0),
        ("", "x", 1.0),
        ("   ", "", 0.0),  # an all-blank reference is empty after normalisation
    ],
)
def test_character_error_rate(reference: str, hypothesis: str, cer: float) -> None:
    assert character_error_rate(reference, hypothesis) == pytest.approx(cer)


def test_a_long_transcription_gets_its_true_cer_quickly() -> None:
    # 20,000 characters (a whole page and more); every tenth one misread, and a garbled
    # tail of 500 extra characters. Substitutions: 2,000; insertions: 500.
    reference = "".join("0123456789ABCDEFGHIJ"[i % 20] for i in range(20_000))
    misread = "".join("#" if i % 10 == 0 else c for i, c in enumerate(reference))
    start = time.perf_counter()
    cer = character_error_rate(reference, misread + "~" * 500)
    elapsed = time.perf_counter() - start
    assert cer == pytest.approx(2_500 / 20_000)
    assert math.isfinite(cer)
    assert elapsed < 5.0, f"CER of 20,000 characters took {elapsed:.1f} s"
    # Nothing in common at all: every character substituted.
    assert character_error_rate("a" * 20_000, "b" * 20_000) == 1.0


def test_normalize_transcription() -> None:
    assert normalize_transcription("  2A +\t3B\n= 7 \n") == "2A+3B=7"


# --- Wilson ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (8, 10, 0.4902, 0.9433),
        (50, 100, 0.4038, 0.5962),
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (1, 1, 0.2065, 1.0),
    ],
)
def test_wilson_known_values(successes: int, n: int, low: float, high: float) -> None:
    assert wilson_interval(successes, n) == pytest.approx((low, high), abs=5e-5)


def test_wilson_of_nothing_is_the_whole_range() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_bounds_are_exact_at_the_extremes() -> None:
    assert wilson_interval(0, 7)[0] == 0.0
    assert wilson_interval(7, 7)[1] == 1.0


def test_wilson_is_wider_at_higher_confidence() -> None:
    low95, high95 = wilson_interval(8, 10, 0.95)
    low99, high99 = wilson_interval(8, 10, 0.99)
    assert low99 < low95 and high95 < high99


@pytest.mark.parametrize(
    ("successes", "n", "confidence", "message"),
    [
        (11, 10, 0.95, "0 <= successes <= n"),
        (-1, 10, 0.95, "0 <= successes <= n"),
        (0, -1, 0.95, "0 <= successes <= n"),
        (5, 10, 1.0, "strictly between 0 and 1"),
        (5, 10, 0.0, "strictly between 0 and 1"),
    ],
)
def test_wilson_rejects_bad_input(successes: int, n: int, confidence: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        wilson_interval(successes, n, confidence)


def test_proportion_value_and_interval() -> None:
    p = Proportion(8, 10)
    assert p.value == 0.8
    assert p.interval == wilson_interval(8, 10)
    assert math.isnan(Proportion(0, 0).value)
    assert Proportion.of((3, 4), 0.9) == Proportion(3, 4, 0.9)


# --- McNemar ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        (0, 5, 0.0625),  # 2 * (1/2)^5
        (5, 0, 0.0625),
        (1, 9, 0.021484375),  # 2 * (C(10,0) + C(10,1)) / 2^10 = 22/1024
        (2, 8, 0.109375),  # 2 * (1 + 10 + 45) / 1024 = 112/1024
        (3, 3, 1.0),  # capped at 1
        (0, 1, 1.0),  # 2 * 1/2
        (0, 0, 1.0),  # no discordant pairs: no evidence
    ],
)
def test_mcnemar_exact_known_values(b: int, c: int, p: float) -> None:
    assert mcnemar_exact(b, c) == p


def test_mcnemar_one_sided() -> None:
    # P(X >= 5) for X ~ Bin(5, 1/2) = 1/32; the other direction is certain.
    assert mcnemar_exact(5, 0, alternative="greater") == 1 / 32
    assert mcnemar_exact(5, 0, alternative="less") == 1.0
    # P(X >= 9) for X ~ Bin(10, 1/2) = 11/1024.
    assert mcnemar_exact(9, 1, alternative="greater") == 11 / 1024


def test_mcnemar_is_exact_for_large_counts() -> None:
    # 2 * 2^-60: far below what a normal approximation would resolve, yet exact.
    assert mcnemar_exact(0, 60) == 2.0**-59


def test_mcnemar_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        mcnemar_exact(-1, 3)
    with pytest.raises(ValueError, match="alternative"):
        mcnemar_exact(1, 3, alternative="sideways")  # type: ignore[arg-type]


# --- compare_runs ----------------------------------------------------------------------


def test_compare_runs_counts_each_cell() -> None:
    baseline = {"e": True, "b": True, "a": True, "c": False, "d": False}
    current = {"f": True, "c": True, "b": False, "a": True, "d": False}
    result = compare_runs(baseline, current)
    # Common items a, b, c, d: a stays, b is lost, c is gained, d stays inconsistent.
    assert (result.n_common, result.both_consistent, result.lost, result.gained) == (4, 1, 1, 1)
    assert result.both_inconsistent == 1
    assert result.rer_baseline == 0.5  # a, b of 4
    assert result.rer_current == 0.5  # a, c of 4
    assert result.rer_drop == 0.0
    assert result.p_value == 1.0
    assert (result.lost_ids, result.gained_ids) == (("b",), ("c",))
    assert (result.only_in_baseline, result.only_in_current) == (("e",), ("f",))


def test_compare_runs_significant_drop() -> None:
    ids = [f"item-{i}" for i in range(9, -1, -1)]  # unsorted on purpose
    baseline = dict.fromkeys(ids, True)
    current = {i: n % 2 == 1 for n, i in enumerate(ids)}  # five of ten lost
    result = compare_runs(baseline, current)
    assert (result.lost, result.gained) == (5, 0)
    assert result.rer_baseline == 1.0
    assert result.rer_current == 0.5
    assert result.rer_drop == 0.5
    assert result.p_value == 0.0625  # two-sided, 2 * 2^-5
    assert result.p_value_drop == 0.03125  # one-sided, 2^-5
    assert list(result.lost_ids) == sorted(result.lost_ids)
    assert len(result.lost_ids) == 5


def test_compare_runs_with_nothing_in_common() -> None:
    result = compare_runs({"a": True}, {"b": False})
    assert result.n_common == 0
    assert math.isnan(result.rer_baseline)
    assert math.isnan(result.rer_drop)
    assert result.p_value == 1.0
    data = result.to_json()
    assert data["rer_baseline"] is None
    assert data["only_in_baseline"] == ["a"]
    assert data["lost_ids"] == []


# --- minimum detectable drop -----------------------------------------------------------


def _p_drop(lost: int, gained: int) -> Fraction:
    """One-sided exact McNemar p-value P(X >= lost), X ~ Bin(lost + gained, 1/2), from
    binomial coefficients, independently of ``mcnemar_exact``."""
    trials = lost + gained
    return Fraction(sum(math.comb(trials, i) for i in range(lost, trials + 1)), 2**trials)


def _brute_force_mdd(n: int, alpha: float, gained: int) -> float:
    """Try every net drop k = 1, 2, ... with lost = gained + k and lost + gained <= n."""
    for k in range(1, n + 1):
        if 2 * gained + k > n:
            break
        if _p_drop(gained + k, gained) < Fraction(alpha):
            return k / n
    return math.inf


def test_mdd_worked_example() -> None:
    # n=30, alpha=0.05: losing 4 gives p = 1/16 = 0.0625, losing 5 gives 1/32 = 0.03125.
    assert mcnemar_exact(4, 0, alternative="greater") == 0.0625
    assert mcnemar_exact(5, 0, alternative="greater") == 0.03125
    assert minimum_detectable_drop(30, 0.05) == 5 / 30


@pytest.mark.parametrize(
    ("n", "alpha", "expected"),
    [
        (30, 0.025, 6 / 30),  # 1/32 is not below 0.025, 1/64 is
        (30, 0.01, 7 / 30),  # 1/128 = 0.0078125 < 0.01 (1/64 = 0.0156 is not)
        (100, 0.05, 5 / 100),
        (5, 0.05, 1.0),  # losing all five: p = 1/32, just enough
        (4, 0.05, math.inf),  # losing all four: p = 1/16, never enough
        (0, 0.05, math.inf),  # no items, no evidence
        (1, 0.6, 1.0),  # p = 1/2 < 0.6
    ],
)
def test_mdd_known_values(n: int, alpha: float, expected: float) -> None:
    assert minimum_detectable_drop(n, alpha) == expected


def test_mdd_with_discordance_counts_the_expected_gained_items() -> None:
    # n=30, discordant_share=0.2: 6 items churn by chance, 3 of them gained. A net drop of
    # k items is then lost = 3 + k against gained = 3. p(lost=10, gained=3) = 189/4096 =
    # 0.046 < 0.05, p(lost=9, gained=3) = 299/4096 = 0.073 is not: k = 7.
    assert _p_drop(10, 3) == Fraction(189, 4096)
    assert _p_drop(9, 3) == Fraction(299, 4096)
    assert minimum_detectable_drop(30, 0.05, discordant_share=0.2) == 7 / 30
    # No churn is the same as no discordance given.
    assert minimum_detectable_drop(30, 0.05, discordant_share=0.0) == 5 / 30
    # Half-items round up: 0.1 * 30 / 2 = 1.5 gained items count as 2.
    assert minimum_detectable_drop(30, 0.05, discordant_share=0.1) == _brute_force_mdd(30, 0.05, 2)
    # Float noise does not add an item: 0.14 * 100 / 2 is 7.000000000000001, i.e. 7 items.
    assert 0.14 * 100 / 2 > 7
    assert minimum_detectable_drop(100, 0.05, 0.14) == _brute_force_mdd(100, 0.05, 7)
    assert _brute_force_mdd(100, 0.05, 7) != _brute_force_mdd(100, 0.05, 8)
    # All items churning leaves no room for a net drop.
    assert minimum_detectable_drop(30, 0.05, discordant_share=1.0) == math.inf


@pytest.mark.parametrize("alpha", [0.001, 0.01, 0.025, 0.05, 0.1, 0.3])
def test_mdd_matches_brute_force_without_gained_items(alpha: float) -> None:
    for n in range(0, 41):
        expected = _brute_force_mdd(n, alpha, 0) if n else math.inf
        assert minimum_detectable_drop(n, alpha) == expected, (n, alpha)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1])
def test_mdd_matches_brute_force_with_discordance(alpha: float) -> None:
    for n in (1, 2, 7, 10, 25, 40, 61):
        for share in (0.0, 0.05, 0.1, 0.25, 0.5, 0.8):
            gained = math.ceil(share * n / 2 - 1e-9)
            expected = _brute_force_mdd(n, alpha, gained)
            assert minimum_detectable_drop(n, alpha, share) == expected, (n, alpha, share)


def test_mdd_is_detected_exactly_at_its_value() -> None:
    # At the MDD the test rejects; one item less it does not.
    for n, alpha in ((30, 0.05), (200, 0.01), (1000, 0.001)):
        k = round(minimum_detectable_drop(n, alpha) * n)
        assert mcnemar_exact(k, 0, alternative="greater") < alpha
        assert mcnemar_exact(k - 1, 0, alternative="greater") >= alpha


def test_mdd_of_a_large_suite_is_quick() -> None:
    start = time.perf_counter()
    mdd = minimum_detectable_drop(20_000, 0.05, discordant_share=0.1)
    assert time.perf_counter() - start < 5.0
    gained = 1_000
    k = round(mdd * 20_000)
    assert mcnemar_exact(gained + k, gained, alternative="greater") < 0.05
    assert mcnemar_exact(gained + k - 1, gained, alternative="greater") >= 0.05


@pytest.mark.parametrize(
    ("n", "alpha", "share", "message"),
    [
        (-1, 0.05, None, "n must be >= 0"),
        (10, 0.0, None, "alpha"),
        (10, 1.0, None, "alpha"),
        (10, 0.05, -0.1, "discordant_share"),
        (10, 0.05, 1.5, "discordant_share"),
    ],
)
def test_mdd_rejects_bad_input(n: int, alpha: float, share: float | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        minimum_detectable_drop(n, alpha, share)
