"""CER, Wilson intervals, exact McNemar and the paired run comparison
(rest_checks.metrics)."""

from __future__ import annotations

import math
import time

import pytest

from rest_checks.metrics import (
    Proportion,
    character_error_rate,
    compare_runs,
    levenshtein,
    mcnemar_exact,
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
