"""Canonical forms of answers as models write them (rest_checks.answers)."""

from __future__ import annotations

import ast
import dataclasses
import sys
from pathlib import Path

import pytest

from rest_checks import answers
from rest_checks.answers import (
    MAX_ANSWER_CHARS,
    MAX_DIGITS,
    RULES,
    Extraction,
    canonicalize,
    extract_answer,
    extract_final_answer,
    format_answer,
)
from rest_checks.metrics import same_answer


@pytest.mark.parametrize(
    "written",
    [
        "B",
        "b",
        "(B)",
        "[B]",
        "B.",
        "B)",
        "b)",
        "Option B",
        "option (b)",
        "Choice: B",
        "The answer is B",
        "The correct answer is (B).",
        "B. Paris",
        "B) Paris",
        "(B) Paris",
        "B: Paris",
        "B - Paris",
        "B – Paris",
        "B (Paris)",
        "B is correct",
        "**B**",
        "*B*",
        "`B`",
        "\\boxed{B}",
        "$\\text{B}$",
        "Ｂ",  # full-width letter
    ],
)
def test_choice_forms_name_the_option_letter(written: str) -> None:
    assert canonicalize(written, "choice") == "B"


@pytest.mark.parametrize(
    "written",
    [
        "A or B",
        "A, B",
        "A and C",
        "A/B",
        "(A) or (B)",
        "B, C",
        "A & B",
    ],
)
def test_two_option_letters_are_ambiguous(written: str) -> None:
    assert canonicalize(written, "choice") is None


@pytest.mark.parametrize(
    "written",
    [
        "",
        "K",  # outside A-J
        "Z)",
        "Paris",
        "Berlin",  # starts with B, but is a word
        "I think so",  # "I" followed by a word is a pronoun, not option I
        "I am not sure",
        "a city in France",
        "(B",
        "None of the above",
        "42",
    ],
)
def test_not_a_choice(written: str) -> None:
    assert canonicalize(written, "choice") is None


def test_option_letters_run_from_a_to_j() -> None:
    assert canonicalize("J", "choice") == "J"
    assert canonicalize("j)", "choice") == "J"
    assert canonicalize("I.", "choice") == "I"


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("42", "42"),
        ("+42", "42"),
        ("-7", "-7"),
        ("−7", "-7"),  # unicode minus
        ("–7", "-7"),  # en dash used as a minus
        ("-0", "0"),
        ("2.5", "5/2"),
        ("2.50", "5/2"),
        ("5/2", "5/2"),
        ("10/4", "5/2"),  # reduced
        ("5 / 2", "5/2"),
        ("-3/4", "-3/4"),
        ("3/-4", "-3/4"),
        ("0.75", "3/4"),
        (".5", "1/2"),
        ("4/2", "2"),
        ("1 1/2", "3/2"),  # mixed number
        ("-1 1/2", "-3/2"),
        ("½", "1/2"),
        ("1,234", "1234"),
        ("1,234,567", "1234567"),
        ("1 234", "1234"),
        ("1\u202f234", "1234"),  # narrow no-break space as thousands separator
        ("1,234.5", "2469/2"),
        ("$12", "12"),
        ("-$12", "-12"),
        ("$12.50", "25/2"),
        ("12.50 dollars", "25/2"),
        ("€3", "3"),
        ("12 apples", "12"),
        ("45%", "45"),
        ("1.5e3", "1500"),
        ("2E-2", "1/50"),
        ("x = 12", "12"),
        ("x=-12", "-12"),
        ("12 + 3 = 15", "15"),
        ("15 (since 12 + 3 = 15)", "15"),
        ("x ≈ 3.5", "7/2"),
        ("The total is 42.", "42"),
        ("42 (forty-two)", "42"),
        ("42, i.e. 42", "42"),  # the same value twice is one answer
        ("**42**", "42"),
        ("\\boxed{42}", "42"),
        ("$\\frac{3}{4}$", "3/4"),
        ("-\\dfrac{3}{4}", "-3/4"),
        ("\\frac{-3}{4}", "-3/4"),
        ("１２", "12"),  # full-width digits
    ],
)
def test_number_forms(written: str, canonical: str) -> None:
    assert canonicalize(written, "number") == canonical


@pytest.mark.parametrize(
    "written",
    [
        "",
        "twelve",
        "12 or 13",
        "3 hours 20 minutes",
        "5-3",  # two numbers, not a negative
        "2*3",
        "1,5",  # European decimal comma: two numbers
        "x =",
        "3/0",
        "1 1/0",
        "\\frac{1+2}{3}",
        "1" * (MAX_DIGITS + 1),
        "0." + "0" * MAX_DIGITS + "1",
        "1e999",
        "1e-999",
    ],
)
def test_not_a_number(written: str) -> None:
    assert canonicalize(written, "number") is None


def test_equal_values_written_differently_share_one_canonical_form() -> None:
    forms = {canonicalize(w, "number") for w in ("2.5", "2.50", "5/2", "10/4", "2 1/2", "$2.50")}
    assert forms == {"5/2"}


def test_number_at_the_digit_limit_is_kept() -> None:
    assert canonicalize("9" * MAX_DIGITS, "number") == "9" * MAX_DIGITS


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("A = 1, B = -2", "A=1, B=-2"),
        ("A=1,B=-2", "A=1, B=-2"),
        ("B = -2, A = 1", "A=1, B=-2"),
        ("B=-2; A=1", "A=1, B=-2"),
        ("A = 1 and B = -2", "A=1, B=-2"),
        ("A = 1 & B = -2", "A=1, B=-2"),
        ("A = 1\nB = -2", "A=1, B=-2"),
        ("A = 1 B = -2", "A=1, B=-2"),
        ("a = 1, b = -2", "A=1, B=-2"),  # variable names are folded to upper case
        ("A = 0.5, B = 3/2", "A=1/2, B=3/2"),
        ("A = −2", "A=-2"),
        ("A = (-2)", "A=-2"),
        ("A = 1 (from the first equation), B = 2", "A=1, B=2"),
        ("The solution is A = 1, B = 2.", "A=1, B=2"),
        ("Solution: A = 1, B = 2", "A=1, B=2"),
        ("(A, B) = (1, -2)", "A=1, B=-2"),
        ("(A, B, C) = (1, -2, 3/4).", "A=1, B=-2, C=3/4"),
        ("**A = 1**, **B = 2**", "A=1, B=2"),
        ("$A = \\frac{1}{2}$, $B = -3$", "A=1/2, B=-3"),
        ("\\boxed{A = 1, B = 2}", "A=1, B=2"),
        ("A = 1, A = 1", "A=1"),  # a repeated, agreeing value is fine
        ("x1 = 3, x2 = 4", "X1=3, X2=4"),
        ("E = 5, D = 4, C = 3, B = 2, A = 1", "A=1, B=2, C=3, D=4, E=5"),
    ],
)
def test_solution_forms(written: str, canonical: str) -> None:
    assert canonicalize(written, "solution") == canonical


@pytest.mark.parametrize(
    "written",
    [
        "",
        "no idea",
        "A = 1, A = 2",  # one variable, two values
        "2A + B = 7",  # an equation, not a solution
        "x + y = 3",
        "A = 2B + 1",
        "A = B = 1",
        "A = 1, 2",  # a bare number
        "A = one",
        "A = 1/0",
        "(A, B) = (1, 2, 3)",  # counts differ
        "A = " + "9" * (MAX_DIGITS + 1),
    ],
)
def test_not_a_solution(written: str) -> None:
    assert canonicalize(written, "solution") is None


def test_unknown_answer_type_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown answer type 'essay'"):
        canonicalize("B", "essay")  # type: ignore[arg-type]


@pytest.mark.parametrize("answer_type", ["choice", "number", "solution"])
def test_over_long_answers_are_no_answer(answer_type: str) -> None:
    assert canonicalize("A = 1, " * 200, answer_type) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("canonical", "answer_type", "written"),
    [
        ("B", "choice", "B"),
        ("42", "number", "42"),
        ("-3/2", "number", "-3/2"),
        ("A=1, B=-2", "solution", "A = 1, B = -2"),
        ("A=1/2", "solution", "A = 1/2"),
    ],
)
def test_format_answer_writes_as_a_model_would(
    canonical: str, answer_type: str, written: str
) -> None:
    assert format_answer(canonical, answer_type) == written  # type: ignore[arg-type]


def test_format_answer_rejects_what_is_not_an_answer() -> None:
    with pytest.raises(ValueError, match="not a valid number answer: 'twelve'"):
        format_answer("twelve", "number")


def test_same_answer_needs_two_answers() -> None:
    assert same_answer("B", "B")
    assert not same_answer("B", "C")
    assert not same_answer(None, "B")
    assert not same_answer("B", None)
    assert not same_answer(None, None)


@pytest.mark.parametrize(
    ("raw", "answer_type", "expected"),
    [
        ("Let me think.\nANSWER: B", "choice", "B"),
        ("Let me think.\nanswer: b", "choice", "B"),
        ("**Answer:** B", "choice", "B"),
        ("**Answer**: B", "choice", "B"),
        ("### Final Answer: (C)", "choice", "C"),
        ("Final answer: 12 apples", "number", "12"),
        ("Therefore ANSWER: 7", "number", "7"),
        ("ANSWER: 3\nOn second thought...\nANSWER: 5", "number", "5"),
        ("ANSWER:\n\n   42\n", "number", "42"),
        ("**Final Answer:**\n\\boxed{12}", "number", "12"),
        ("ANSWER:\r\n**\r\n7\r\n", "number", "7"),
        ("ANSWER: A = 1, B = 2\n\nI hope this helps!", "solution", "A=1, B=2"),
        ("ANSWER：Ｂ", "choice", "B"),  # full-width colon and letter
        # \boxed{} only when no marker exists at all.
        ("So the result is \\boxed{\\frac{3}{4}}.", "number", "3/4"),
        ("\\boxed{1} then \\boxed{2}", "number", "2"),
        ("ANSWER: 4 and \\boxed{5}", "number", None),  # the marker wins; "4 and 5" is ambiguous
        ("\\boxed{A = 1, B = {2}}", "solution", "A=1, B=2"),
    ],
)
def test_extract_final_answer(raw: str, answer_type: str, expected: str | None) -> None:
    assert extract_final_answer(raw, answer_type) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "I am not sure.",
        "The answer is B",  # no colon: not the required format
        "ANSWER:",
        "ANSWER:   \n   \n",
        "ANSWER: B\nANSWER: <answer>",  # the last marker wins, even when it does not parse
        "ANSWER: A or B",
        "Unanswerable: B",  # "answer" inside a longer word
        "\\boxed{B",  # unbalanced
        "\\boxed B",
    ],
)
def test_no_final_answer(raw: str) -> None:
    assert extract_final_answer(raw, "choice") is None


# -- which rule found the answer -------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "answer_type", "answer", "rule"),
    [
        ("Reasoning.\nANSWER: B", "choice", "B", "answer_line"),
        ("## Final Answer\n\nA = 1, B = -2", "solution", "A=1, B=-2", "answer_line"),
        ("**Final Answer**\n\\[\n\\boxed{41}\n\\]", "number", "41", "answer_line"),
        ("So the result is \\boxed{41}.", "number", "41", "boxed"),
        # An unreadable answer line gives way to a \boxed{} after it...
        ("ANSWER: see the working above\n\nThus \\boxed{41}.", "number", "41", "boxed"),
        # ...but not to one inside it.
        ("ANSWER: 4 and \\boxed{5}", "number", None, None),
        ("ANSWER: 41\n\n\\boxed{42}", "number", "41", "answer_line"),
        ("The answer is B.", "choice", None, None),
        # A reply that is nothing but an answer of the task's shape.
        ("B", "choice", "B", "whole_reply"),
        ("(C) Decrease in human capital.", "choice", "C", "whole_reply"),
        ("0.956", "number", "239/250", "whole_reply"),
        ("A = 4, B = 6", "solution", "A=4, B=6", "whole_reply"),
        ("A man walks in.", "choice", None, None),
        ("I think the answer: D", "choice", None, None),
        ("Two.", "number", None, None),  # number words only in lenient mode
        ("", "number", None, None),
    ],
)
def test_extract_answer_names_the_rule(
    raw: str, answer_type: str, answer: str | None, rule: str | None
) -> None:
    found = extract_answer(raw, answer_type)  # type: ignore[arg-type]
    assert found == Extraction(answer, rule)  # type: ignore[arg-type]
    assert extract_final_answer(raw, answer_type) == answer  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "answer_type", "answer", "rule"),
    [
        ("The answer is B.", "choice", "B", "lenient"),
        (
            "The correct answer is (C) Africa, because the Sahara is there.",
            "choice",
            "C",
            "lenient",
        ),
        ("So the final answer is 41 years, since 27 + 14 = 41.", "number", "41", "lenient"),
        ("I think the answer: D", "choice", "D", "lenient"),
        ("The answer would be A = 1 and B = -2.", "solution", "A=1, B=-2", "lenient"),
        # Lenient reading only adds a rule after the strict ones.
        ("ANSWER: 12\nThe answer is 13.", "number", "12", "answer_line"),
        ("\\boxed{7}, so the answer is 8", "number", "7", "boxed"),
        ("The answer is B or C.", "choice", None, None),
        ("No idea.", "choice", None, None),
    ],
)
def test_lenient_reads_the_answer_is(
    raw: str, answer_type: str, answer: str | None, rule: str | None
) -> None:
    found = extract_answer(raw, answer_type, lenient=True)  # type: ignore[arg-type]
    assert found == Extraction(answer, rule)  # type: ignore[arg-type]
    assert extract_final_answer(raw, answer_type, lenient=True) == answer  # type: ignore[arg-type]


def test_the_rules_are_named_in_order() -> None:
    assert RULES == ("answer_line", "boxed", "whole_reply", "lenient", "final_sentence")


def test_an_extraction_is_a_frozen_value() -> None:
    found = extract_answer("ANSWER: 7", "number")
    assert found == Extraction("7", "answer_line")
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.answer = "8"  # type: ignore[misc]


def test_extract_answer_rejects_an_unknown_answer_type() -> None:
    with pytest.raises(ValueError, match="unknown answer type 'essay'"):
        extract_answer("ANSWER: 7", "essay")  # type: ignore[arg-type]


# -- where a marker is one, and where the answer block ends ----------------------------


@pytest.mark.parametrize(
    ("raw", "answer_type", "expected"),
    [
        # Lower-case "answer:" in running prose is no marker; the real one later is.
        ("To find the answer: add the ages.\nANSWER: 41", "number", "41"),
        ("ANSWER: 41\n\nNote that the answer: depends on nothing else.", "number", "41"),
        # At the start of a line or a sentence, after lead words, it is one.
        ("So the final answer: 41", "number", "41"),
        ("Both check out. Answer: 41", "number", "41"),
        ("> **Answer:** D — Canada", "choice", "D"),
        ("Therefore, the answer:\nC", "choice", "C"),
        # A heading with no colon.
        ("### Answer\nB", "choice", "B"),
        ("The question is about the answer\nB", "choice", None),
        # The block: equations continue it; a blank line or prose ends it.
        ("ANSWER: A = 1\nB = 2\nThese check out.\nC = 3", "solution", "A=1, B=2"),
        ("ANSWER: A = 1\n\nB = 2", "solution", "A=1"),
        ("ANSWER:\n$$\nA = 1,\n$$\n$$\nB = 2\n$$", "solution", "A=1, B=2"),
        ("ANSWER: 41\n42 was my first guess.", "number", "41"),
        ("ANSWER:\n$$\n41\n$$", "number", "41"),
        ("ANSWER:\n- 41", "number", "41"),  # a bullet on a later line, not a sign
        ("ANSWER: - 41", "number", "-41"),  # a sign on the marker's own line
        ("ANSWER: B\nB", "choice", "B"),
        ("ANSWER: B\n\\boxed{C}", "choice", None),
        # The answer must start near its marker.
        ("ANSWER:" + "\n" * (MAX_ANSWER_CHARS + 5) + "41", "number", None),
    ],
)
def test_markers_and_answer_blocks(raw: str, answer_type: str, expected: str | None) -> None:
    assert extract_final_answer(raw, answer_type) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("So $A = \\boxed{1}$ and $B = \\boxed{-2}$.", "A=1, B=-2"),
        ("\\[\n\\boxed{A = 1}, \\quad \\boxed{B = -2}\n\\]", "A=1, B=-2"),
        # Boxes of an earlier paragraph are not part of the answer.
        ("First \\boxed{A = 5}.\n\nThen \\boxed{A = 1, B = -2}", "A=1, B=-2"),
    ],
)
def test_a_solution_split_over_several_boxes(raw: str, expected: str) -> None:
    assert extract_answer(raw, "solution") == Extraction(expected, "boxed")


@pytest.mark.parametrize(
    ("written", "answer_type", "canonical"),
    [
        ("In 14 years, Kofi will be **41** years old.", "number", "41"),
        ("In **14** years, Kofi will be **41**.", "number", None),
        ("**41** or **42**", "number", None),
        ("The capital of France is **B. Paris**", "choice", "B"),
        ("The capital is **B** or **C**", "choice", None),
        ("B, though A is possible", "choice", None),
        ("B, but I am not sure", "choice", "B"),  # "I" is a pronoun here, not option I
        ("B. Vitamin C", "choice", "B"),
        ("41 (or 42)", "number", None),
        ("A = 1 (or 2)", "solution", None),
    ],
)
def test_emphasis_and_hedges(written: str, answer_type: str, canonical: str | None) -> None:
    assert canonicalize(written, answer_type) == canonical  # type: ignore[arg-type]


def test_the_prefix_lives_with_the_modalities_and_prompts_still_export_it() -> None:
    from rest_checks import modalities, prompts

    assert modalities.FINAL_ANSWER_PREFIX == prompts.FINAL_ANSWER_PREFIX == "ANSWER:"


def test_the_answers_module_imports_nothing_heavy() -> None:
    source = Path(answers.__file__).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    allowed = {
        "rest_checks.items.base",
        "rest_checks.modalities",
        "rest_checks.dashes",
        "rest_checks.number_words",
    }
    ours = {name for name in imported if name.startswith("rest_checks")}
    assert ours <= allowed, ours - allowed
    assert all(name.split(".")[0] in sys.stdlib_module_names for name in imported - ours)
