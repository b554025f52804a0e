"""Metrics over small hand-made result tables (rest_checks.metrics); arithmetic in comments."""

from __future__ import annotations

import json
import math

import pytest

from rest_checks.metrics import (
    ItemOutcome,
    accuracies,
    accuracy,
    accuracy_counts,
    agreement_matrix,
    cfr,
    cfr_counts,
    consistent,
    correct,
    mean_ocr_cer,
    mmc,
    mmc_counts,
    ocr_perfect,
    pairwise_agreement,
    pairwise_agreement_counts,
    rer,
    rer_counts,
    summarize,
    summary_by,
)


def row(
    id: str,
    expected: str,
    text: str | None,
    image: str | None,
    mixed: str | None,
    *,
    task: str = "t",
    cer: float | None = None,
) -> ItemOutcome:
    return ItemOutcome(id, task, expected, {"text": text, "image": image, "mixed": mixed}, cer)


# Six items covering every case. Columns: expected, text, image, mixed.
TABLE = [
    row("s1", "B", "B", "B", "B", task="soe", cer=0.0),  # right everywhere: consistent
    row("s2", "B", "C", "C", "C", task="soe", cer=0.0),  # wrong everywhere, same: consistent
    row("s3", "B", "B", "C", "B", task="soe", cer=0.5),  # right in 2 of 3
    row("s4", "B", "B", None, None, task="mcq"),  # right in text only; two non-answers
    row("s5", "B", None, None, None, task="mcq", cer=0.0),  # no answer anywhere
    row("s6", "A", "A", "D", "E", task="mcq"),  # right in text only; three answers
]


def test_correct_and_consistent_per_row() -> None:
    assert TABLE[0].correct == {"text": True, "image": True, "mixed": True}
    assert TABLE[1].correct == {"text": False, "image": False, "mixed": False}
    assert TABLE[1].consistent  # consistently wrong is consistent
    assert TABLE[2].n_correct == 2
    assert not TABLE[2].consistent
    assert TABLE[3].correct == {"text": True, "image": False, "mixed": False}
    assert not TABLE[3].consistent  # None differs from every answer
    assert not TABLE[4].consistent  # ... None included


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"text": "B", "image": "B", "mixed": "B"}, True),
        ({"text": "C", "image": "C", "mixed": "C"}, True),  # wrong but the same
        ({"text": "B", "image": "B", "mixed": "C"}, False),
        ({"text": "B", "image": "B", "mixed": None}, False),  # None differs from "B"
        ({"text": None, "image": None, "mixed": None}, False),  # ... and from None
        ({"text": "B", "image": "B"}, False),  # a modality missing
        ({"text": "B", "image": "B", "mixed": "B", "ocr": "2A+3B=7"}, True),  # ocr ignored
        ({}, False),
    ],
)
def test_consistent_is_all_three_present_and_identical(
    answers: dict[str, str | None], expected: bool
) -> None:
    assert consistent(answers) is expected


def test_correct_compares_canonical_strings_and_none_is_wrong() -> None:
    assert correct("B", "B") is True
    assert correct("C", "B") is False
    assert correct("b", "B") is False  # canonical strings: no case folding here
    assert correct(None, "B") is False
    assert correct(None, "") is False  # not even against an empty expected answer


def test_rows_use_consistent_and_correct() -> None:
    for r in TABLE:
        assert r.consistent == consistent(r.answers)
        assert r.correct == {m: correct(a, r.expected) for m, a in r.answers.items()}


def test_accuracy_per_modality() -> None:
    # text right in s1, s3, s4, s6 = 4/6; image in s1 = 1/6; mixed in s1, s3 = 2/6.
    assert accuracy_counts(TABLE, "text") == (4, 6)
    assert accuracy(TABLE, "image") == pytest.approx(1 / 6)
    assert accuracies(TABLE) == pytest.approx({"text": 4 / 6, "image": 1 / 6, "mixed": 2 / 6})


def test_rer_counts_sameness_not_correctness() -> None:
    # Consistent: s1 (all B) and s2 (all C, wrong) = 2/6.
    assert rer_counts(TABLE) == (2, 6)
    assert rer(TABLE) == pytest.approx(1 / 3)


def test_mmc_is_correct_in_at_least_one_modality() -> None:
    # s1, s3, s4, s6 are right somewhere = 4/6.
    assert mmc_counts(TABLE) == (4, 6)
    assert mmc(TABLE) == pytest.approx(2 / 3)


def test_cfr_is_some_but_not_all_among_covered_items() -> None:
    # Covered: s1 (3 right), s3 (2), s4 (1), s6 (1); some-but-not-all: s3, s4, s6 = 3/4.
    assert cfr_counts(TABLE) == (3, 4)
    assert cfr(TABLE) == pytest.approx(0.75)


def test_pairwise_agreement_needs_an_answer_on_both_sides() -> None:
    # text-image: s1 (B,B), s2 (C,C) = 2/6; s5 (None,None) does not agree.
    assert pairwise_agreement_counts(TABLE, "text", "image") == (2, 6)
    # text-mixed: s1, s2, s3 (B,B) = 3/6.
    assert pairwise_agreement(TABLE, "text", "mixed") == pytest.approx(0.5)
    # image-mixed: s1, s2 = 2/6; s4 (None,None) does not agree.
    assert pairwise_agreement(TABLE, "image", "mixed") == pytest.approx(1 / 3)


def test_agreement_matrix_is_symmetric_with_answer_rates_on_the_diagonal() -> None:
    matrix = agreement_matrix(TABLE)
    assert matrix["text"]["image"] == matrix["image"]["text"] == pytest.approx(2 / 6)
    assert matrix["mixed"]["text"] == pytest.approx(3 / 6)
    # Any answer at all: text in 5 rows (all but s5); image and mixed in 4 (not s4, s5).
    assert matrix["text"]["text"] == pytest.approx(5 / 6)
    assert matrix["image"]["image"] == pytest.approx(4 / 6)


def test_ocr_perfect_subset_and_mean_cer() -> None:
    assert [r.id for r in ocr_perfect(TABLE)] == ["s1", "s2", "s5"]
    # CERs 0, 0, 0.5, 0 on the four rows that have one: 0.5 / 4.
    assert mean_ocr_cer(TABLE) == pytest.approx(0.125)
    assert math.isnan(mean_ocr_cer([r for r in TABLE if r.ocr_cer is None]))


def test_empty_table_gives_nan_rates_and_zero_counts() -> None:
    assert rer_counts([]) == (0, 0)
    for value in (rer([]), cfr([]), mmc([]), accuracy([], "text")):
        assert math.isnan(value)
    assert all(math.isnan(v) for v in accuracies([]).values())
    assert math.isnan(pairwise_agreement([], "text", "image"))


def test_cfr_is_nan_when_nothing_is_correct_anywhere() -> None:
    wrong = [row("w1", "A", "B", "B", "B"), row("w2", "A", None, "C", "B")]
    assert cfr_counts(wrong) == (0, 0)
    assert math.isnan(cfr(wrong))
    assert rer(wrong) == 0.5  # w1 is consistently wrong


def test_rates_accept_any_iterable() -> None:
    assert rer(iter(TABLE)) == rer(TABLE)
    assert accuracies(r for r in TABLE) == accuracies(TABLE)


def test_unknown_modality_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown modality 'ocr'"):
        accuracy(TABLE, "ocr")
    with pytest.raises(ValueError, match="unknown modality 'audio'"):
        pairwise_agreement(TABLE, "text", "audio")


def test_item_outcome_needs_exactly_the_three_modalities() -> None:
    with pytest.raises(ValueError, match=r"item 'x'.*missing: \['mixed'\]"):
        ItemOutcome("x", "t", "B", {"text": "B", "image": "B"})
    with pytest.raises(ValueError, match=r"unknown: \['ocr'\]"):
        ItemOutcome("x", "t", "B", {"text": "B", "image": "B", "mixed": "B", "ocr": "B"})


@pytest.mark.parametrize("cer", [-0.1, float("nan")])
def test_item_outcome_rejects_impossible_cer(cer: float) -> None:
    with pytest.raises(ValueError, match="ocr_cer must be >= 0"):
        row("x", "B", "B", "B", "B", cer=cer)


def test_item_outcome_keeps_its_own_copy_of_the_answers() -> None:
    answers: dict[str, str | None] = {"text": "B", "image": "B", "mixed": "B"}
    outcome = ItemOutcome("x", "t", "B", answers)
    answers["image"] = "C"
    assert outcome.consistent
    assert hash(outcome) == hash(ItemOutcome("x", "t", "B", dict(outcome.answers)))


def test_item_outcome_to_json() -> None:
    assert TABLE[3].to_json() == {
        "id": "s4",
        "task": "mcq",
        "expected": "B",
        "answers": {"text": "B", "image": None, "mixed": None},
        "correct": {"text": True, "image": False, "mixed": False},
        "consistent": False,
        "ocr_cer": None,
    }


def test_summary_holds_every_rate_with_counts() -> None:
    summary = summarize(TABLE)
    assert summary.n_items == 6
    assert (summary.rer.successes, summary.rer.n) == (2, 6)
    assert (summary.cfr.successes, summary.cfr.n) == (3, 4)
    assert (summary.mmc.successes, summary.mmc.n) == (4, 6)
    assert {m: (p.successes, p.n) for m, p in summary.accuracy.items()} == {
        "text": (4, 6),
        "image": (1, 6),
        "mixed": (2, 6),
    }
    assert {k: p.successes for k, p in summary.agreement.items()} == {
        "text-image": 2,
        "text-mixed": 3,
        "image-mixed": 2,
    }
    assert summary.ocr_cer == pytest.approx(0.125)
    assert (summary.n_ocr, summary.n_ocr_perfect) == (4, 3)
    # OCR-perfect rows s1, s2, s5: s1 and s2 consistent = 2/3.
    assert (summary.rer_ocr_perfect.successes, summary.rer_ocr_perfect.n) == (2, 3)
    low, high = summary.rer.interval
    assert low < 2 / 6 < high


def test_summary_json_is_plain_and_strict() -> None:
    data = summarize(TABLE).to_json()
    text = json.dumps(data, allow_nan=False)  # raises on any NaN left in
    assert json.loads(text) == data
    assert data["rer"] == pytest.approx(1 / 3)
    assert data["accuracy"]["image"] == pytest.approx(1 / 6)
    assert data["counts"]["cfr"] == [3, 4]
    assert data["counts"]["agreement"]["text-mixed"] == [3, 6]
    assert data["n_ocr_perfect"] == 3
    low, high = data["intervals"]["rer"]
    assert 0 < low < 1 / 3 < high < 1


def test_summary_of_an_empty_table_writes_nan_as_null() -> None:
    data = summarize([]).to_json()
    json.dumps(data, allow_nan=False)
    assert data["n_items"] == 0
    assert data["rer"] is None
    assert data["cfr"] is None
    assert data["accuracy"] == {"text": None, "image": None, "mixed": None}
    assert data["ocr_cer"] is None
    assert data["intervals"]["rer"] == [0.0, 1.0]


def test_summary_by_task() -> None:
    by_task = summary_by(TABLE)
    assert list(by_task) == ["mcq", "soe"]  # sorted
    # soe = s1, s2, s3: consistent s1, s2 = 2/3.
    assert (by_task["soe"].rer.successes, by_task["soe"].rer.n) == (2, 3)
    # mcq = s4, s5, s6: none consistent; covered s4, s6, both partly = 2/2.
    assert by_task["mcq"].rer.successes == 0
    assert (by_task["mcq"].cfr.successes, by_task["mcq"].cfr.n) == (2, 2)


def test_summary_by_a_function_and_a_bad_field() -> None:
    groups = summary_by(TABLE, key=lambda r: "perfect" if r.ocr_cer == 0 else "other")
    assert {k: s.n_items for k, s in groups.items()} == {"other": 3, "perfect": 3}
    with pytest.raises(ValueError, match="no field 'colour'"):
        summary_by(TABLE, key="colour")
