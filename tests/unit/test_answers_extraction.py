"""Answers as real models write them, which the first parser misread.

Each case here was read wrongly (or not at all) by a parser built against hand-written
answers; a misread in one modality shows up as a false inconsistency.
"""

from __future__ import annotations

import time

import pytest

from rest_checks.answers import canonicalize, extract_final_answer
from rest_checks.items.base import AnswerType


@pytest.mark.parametrize(
    "raw",
    [
        "The system is solved.\n\nANSWER:\nA = 1\nB = -2\nC = 3",
        "ANSWER: A = 1\nB = -2\nC = 3\n\nAll three equations check out.",
        "ANSWER:\n- A = 1\n- B = -2\n- C = 3",
        "**ANSWER:**\n* $A = 1$\n* $B = -2$\n* $C = 3$\n",
        "ANSWER:\n1. A = 1\n2. B = -2\n3. C = 3",
        "ANSWER:\n\\[\n\\begin{aligned}\nA &= 1 \\\\\nB &= -2 \\\\\nC &= 3\n\\end{aligned}\n\\]",
        "ANSWER:\n| Variable | Value |\n|---|---|\n| A | 1 |\n| B | -2 |\n| C | 3 |",
        "ANSWER:\n| A | B | C |\n|:-:|:-:|:-:|\n| 1 | -2 | 3 |",
    ],
)
def test_a_solution_over_several_lines_is_read_whole(raw: str) -> None:
    assert extract_final_answer(raw, "solution") == "A=1, B=-2, C=3"


@pytest.mark.parametrize(
    "written",
    [
        "A = 1 \\quad B = -2 \\quad C = 3",
        "A = 1, \\qquad B = -2, \\qquad C = 3",
        "$A = 1 \\text{,} \\quad B = -2 \\text{,} \\quad C = 3$",
        "A = 1 \\text{, } B = -2 \\text{, and } C = 3",
        "\\begin{aligned} A &= 1 \\\\ B &= -2 \\\\ C &= 3 \\end{aligned}",
        "\\begin{cases} A = 1 \\\\ B = -2 \\\\ C = 3 \\end{cases}",
        "A = 1, B = - 2, C = 3",
        "A = 1, B = − 2, C = + 3",
        "A = 1 \\\\ B = -2 \\\\ C = 3",
        "A = 1, B = -2, C = 3 (check: 2(1) + 3(-2) = -4)",
    ],
)
def test_latex_separators_and_loose_signs_in_a_solution(written: str) -> None:
    assert canonicalize(written, "solution") == "A=1, B=-2, C=3"
    assert extract_final_answer(f"Solving...\nANSWER: {written}", "solution") == ("A=1, B=-2, C=3")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ANSWER: 41 (27 + 14)", "41"),
        ("ANSWER: 100 minutes (1 hour 40 minutes)", "100"),
        ("ANSWER: Kofi will be 41 years old", "41"),
        ("**Final Answer:** In 14 years, Kofi will be **41** years old.", "41"),
        ("ANSWER: $41$ (since $27 + 14 = 41$)", "41"),
        ("ANSWER: x = - 12", "-12"),
        ("ANSWER: 3½ cups", "7/2"),
    ],
)
def test_restated_numbers(raw: str, expected: str) -> None:
    assert extract_final_answer(raw, "number") == expected


@pytest.mark.parametrize(
    "raw",
    [
        "To find the answer: add the two ages.\n27 + 14 = 41\n\n$$\\boxed{41}$$",
        "Let us think about what the answer: should be.\nSo Kofi will be \\boxed{41}.",
        "The answer: we need the sum first.\n27 + 14 = 41.\nTherefore \\boxed{41}.",
    ],
)
def test_a_stray_answer_colon_does_not_hide_the_boxed_answer(raw: str) -> None:
    assert extract_final_answer(raw, "number") == "41"


@pytest.mark.parametrize(
    ("raw", "answer_type"),
    [
        ("ANSWER: 41 (or 42)", "number"),
        ("ANSWER: B (or possibly C)", "choice"),
        ("ANSWER:\n- B\n- C", "choice"),
        ("ANSWER:\n41\n42", "number"),
        ("ANSWER:\nA = 1\nB = -2\nA = 3", "solution"),
    ],
)
def test_two_values_on_one_answer_are_no_answer(raw: str, answer_type: AnswerType) -> None:
    assert extract_final_answer(raw, answer_type) is None


@pytest.mark.parametrize("spaces", [300, 1_000, 100_000])
@pytest.mark.parametrize("answer_type", ["choice", "number", "solution"])
def test_space_runs_before_a_bracket_parse_in_linear_time(
    spaces: int, answer_type: AnswerType
) -> None:
    raw = "ANSWER: A=1" + " " * spaces + "("
    start = time.perf_counter()
    extract_final_answer(raw, answer_type)
    canonicalize(raw[8:1008], answer_type)
    assert time.perf_counter() - start < 0.05
