"""The exact reader: right on clean text, wrong or silent on text that was misread."""

from __future__ import annotations

import re

import pytest

from rest_checks.items.arith import generate_arith
from rest_checks.items.base import Item
from rest_checks.reader import (
    Reading,
    answer_from_text,
    normalise_text,
    read_digits,
    read_text,
    stem_coverage,
)

SYSTEM = Item(
    id="soe-test",
    task="soebench",
    context="2A + 3B - C = 7\nA - B + 4C = -3\n-A + 2B + C = 5",
    question="Solve the system for A, B and C.",
    expected="",  # not needed: the answer is checked by substitution
    answer_type="solution",
)

CAPITALS = Item(
    id="mcq-test",
    task="mcq",
    context="Which city is the capital of France?",
    question="",
    expected="C",
    answer_type="choice",
    options=("Berlin", "Madrid", "Paris", "Rome"),
)


def _satisfies(answer: str, equations: list[tuple[dict[str, int], int]]) -> bool:
    from fractions import Fraction

    values = {k: Fraction(v) for k, v in (part.split("=") for part in answer.split(", "))}
    return all(sum(c * values[v] for v, c in lhs.items()) == rhs for lhs, rhs in equations)


def test_solution_on_clean_text_is_the_exact_unique_solution() -> None:
    answer = answer_from_text(SYSTEM.full_text(), SYSTEM)
    assert answer is not None
    assert [part.split("=")[0] for part in answer.split(", ")] == ["A", "B", "C"]
    equations = [
        ({"A": 2, "B": 3, "C": -1}, 7),
        ({"A": 1, "B": -1, "C": 4}, -3),
        ({"A": -1, "B": 2, "C": 1}, 5),
    ]
    assert _satisfies(answer, equations)


def test_solution_with_integer_values_is_canonical() -> None:
    text = "A + B = 3\nA - B = -1"
    assert answer_from_text(text, None, answer_type="solution") == "A=1, B=2"


def test_solution_reads_fractions_exactly() -> None:
    assert answer_from_text("2A = 3\nB - A = 0", None, answer_type="solution") == "A=3/2, B=3/2"


def test_solution_tolerates_ocr_spacing_and_unicode_minus() -> None:
    clean = "A + B = 3\nA - B = -1"
    noisy = "A+B=3\nA \u2212 B = \u20141"
    assert answer_from_text(noisy, None, answer_type="solution") == answer_from_text(
        clean, None, answer_type="solution"
    )


def test_solution_tolerates_fullwidth_signs() -> None:
    assert answer_from_text("A＋B＝3\nA－B＝-1", None, answer_type="solution") == "A=1, B=2"


def test_solution_misread_variable_is_not_corrected() -> None:
    # "B" read as "8": a careful reader does not guess, so the answer is wrong or missing.
    clean = "A + B = 3\nA - B = -1"
    misread = "A + 8 = 3\nA - B = -1"
    assert answer_from_text(clean, None, answer_type="solution") == "A=1, B=2"
    assert answer_from_text(misread, None, answer_type="solution") != "A=1, B=2"


def test_solution_with_a_lost_line_has_no_answer() -> None:
    reading = read_text("A + B = 3", None, answer_type="solution")
    assert reading.answer is None
    assert "no unique solution" in reading.note


def test_solution_on_garbage_is_none() -> None:
    assert answer_from_text("~~ ## lorem ipsum ##", SYSTEM) is None


def test_the_answer_type_of_the_item_is_used() -> None:
    reading = read_text("A + B = 3\nA - B = -1", SYSTEM)
    assert reading == Reading("A=1, B=2", reading.note, "solution")


def test_unknown_item_falls_back_to_a_system() -> None:
    reading = read_text("A + B = 3\nA - B = -1", None)
    assert (reading.answer, reading.answer_type) == ("A=1, B=2", "solution")


def test_unknown_item_and_garbage_is_none() -> None:
    assert answer_from_text("nothing to see", None) is None


# -- number ------------------------------------------------------------------------------


def test_number_on_clean_text_is_the_expected_answer() -> None:
    from rest_checks.items.arith import generate_arith

    for item in generate_arith(6, seed=11):
        assert answer_from_text(item.full_text(), item) == item.expected, item.id


def test_number_tolerates_dropped_spaces_and_line_breaks() -> None:
    from rest_checks.items.arith import generate_arith

    item = generate_arith(1, seed=3)[0]
    squeezed = item.full_text().replace(" ", "").replace("\n\n", "\n")
    assert answer_from_text(squeezed, item) == item.expected


def test_number_on_garbage_is_none() -> None:
    from rest_checks.items.arith import generate_arith

    item = generate_arith(1, seed=3)[0]
    assert answer_from_text("#### ~~ illegible ~~", item) is None


# -- choice ------------------------------------------------------------------------------


def test_choice_on_clean_text_is_the_expected_letter() -> None:
    assert answer_from_text(CAPITALS.full_text(), CAPITALS) == "C"


def test_choice_reads_the_label_of_ocr_text_without_spaces() -> None:
    ocr = "Whichcityisthecapital ofFrance?\nA.Berlin\nB.Madrid\nC.Paris\nD.Rome"
    assert answer_from_text(ocr, CAPITALS) == "C"


def test_choice_tolerates_a_small_misreading_of_the_option_text() -> None:
    ocr = "Which city is the capital of France?\nA. Berlin\nB. Madrid\nC. Pari5\nD. Rome"
    assert answer_from_text(ocr, CAPITALS) == "C"


def test_choice_answers_the_mangled_label_as_read() -> None:
    ocr = "Which city is the capital of France?\nA. Berlin\nB. Madrid\nG. Paris\nD. Rome"
    assert answer_from_text(ocr, CAPITALS) == "G"


def test_choice_label_that_is_not_a_letter_gives_no_answer() -> None:
    ocr = "Which city is the capital of France?\nA. Berlin\nB. Madrid\n6. Paris\nD. Rome"
    reading = read_text(ocr, CAPITALS)
    assert reading.answer is None
    assert "'6'" in reading.note


def test_choice_without_a_label_gives_no_answer() -> None:
    ocr = "Which city is the capital of France?\nA. Berlin\nB. Madrid\nParis\nD. Rome"
    assert answer_from_text(ocr, CAPITALS) is None


def test_choice_needs_the_question_to_be_recognisable() -> None:
    ocr = "Wh1ch c~ty ?? the c@p#al 0f Fr@nc3\nA. Berlin\nB. Madrid\nC. Paris\nD. Rome"
    reading = read_text(ocr, CAPITALS)
    assert reading.answer is None
    assert "recognise the question" in reading.note


def test_choice_with_the_options_missing_gives_no_answer() -> None:
    assert answer_from_text("Which city is the capital of France?", CAPITALS) is None


def test_choice_reads_a_wrapped_option() -> None:
    item = Item(
        id="mcq-wrap",
        task="mcq",
        context="What do plants take in from the air for photosynthesis?",
        question="",
        expected="B",
        answer_type="choice",
        options=("Oxygen only", "Carbon dioxide, which they turn into sugars with light"),
    )
    ocr = (
        "What do plants take in from the air for photosynthesis?\nA. Oxygen only\n"
        "B. Carbon dioxide, which they turn into\nsugars with light"
    )
    assert answer_from_text(ocr, item) == "B"


def test_choice_does_not_confuse_similar_options() -> None:
    item = Item(
        id="mcq-similar",
        task="mcq",
        context="What is 5 times 8?",
        question="",
        expected="A",
        answer_type="choice",
        options=("40", "4", "400", "14"),
    )
    assert answer_from_text(item.full_text(), item) == "A"
    swapped = "What is 5 times 8?\nA. 4\nB. 40\nC. 400\nD. 14"
    assert answer_from_text(swapped, item) == "B"


def test_choice_without_the_item_cannot_be_answered() -> None:
    assert answer_from_text(CAPITALS.full_text(), None, answer_type="choice") is None


@pytest.mark.parametrize(
    ("label_line", "expected"),
    [("(C) Paris", "C"), ("C) Paris", "C"), ("c. Paris", "C"), ("C: Paris", "C")],
)
def test_choice_label_styles(label_line: str, expected: str) -> None:
    ocr = f"Which city is the capital of France?\nA. Berlin\nB. Madrid\n{label_line}\nD. Rome"
    assert answer_from_text(ocr, CAPITALS) == expected


# -- helpers -----------------------------------------------------------------------------


def test_normalise_text_is_light() -> None:
    assert normalise_text("A \u2212 B\u3000=  ８") == "A - B = 8"
    # Look-alike characters are kept as they are.
    assert normalise_text("8O0B") == "8O0B"


def test_stem_coverage_ignores_spaces_and_case() -> None:
    assert stem_coverage("What is the capital?", "WHATISTHECAPITAL?\nA. x") == 1.0
    assert stem_coverage("What is the capital?", "entirely different") < 0.5


@pytest.mark.parametrize(
    ("read", "meant"),
    [
        ("pack l4 parcels", "pack 14 parcels"),
        ("costs 2o0 dollars", "costs 200 dollars"),
        ("4l and 1O0", "41 and 100"),
        ("lo apples and 0ne pear", "lo apples and 0ne pear"),  # words stay words
        ("2A + l = B", "2A + l = B"),  # no digit in the token: left alone
    ],
)
def test_digits_read_as_letters_inside_numbers_are_read_as_digits(read: str, meant: str) -> None:
    assert read_digits(read) == meant


def test_an_arithmetic_problem_with_a_misread_digit_is_still_answered() -> None:
    item = next(i for i in generate_arith(20, seed=0) if re.search(r"\b\d*[10]\d*\b", i.context))
    number = re.search(r"\b\d*[10]\d*\b", item.context)
    assert number is not None
    misread_number = number.group(0).replace("1", "l").replace("0", "o")
    misread = item.full_text().replace(number.group(0), misread_number, 1)
    assert misread != item.full_text()
    assert answer_from_text(misread, item) == item.expected
