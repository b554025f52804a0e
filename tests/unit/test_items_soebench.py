"""SoEBench: generated systems have exactly one integer solution, and the parser is tolerant."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rest_checks.items.soebench import (
    LinearEquation,
    format_equation,
    format_solution,
    generate_soebench,
    parse_system,
    solve_soebench_text,
    solve_system,
)

ALLOWED_EQUATION_CHARS = set("0123456789ABCDE+-= ")


# --- an independent check: integer determinants and Cramer's rule --------------------


def _determinant(matrix: list[list[int]]) -> int:
    """Leibniz formula over permutations: slow but obviously right for n <= 5."""
    n = len(matrix)
    total = 0
    for perm in itertools.permutations(range(n)):
        inversions = sum(1 for i in range(n) for j in range(i + 1, n) if perm[i] > perm[j])
        product = 1
        for row, col in enumerate(perm):
            product *= matrix[row][col]
        total += -product if inversions % 2 else product
    return total


def _read_equation(line: str, variables: str) -> tuple[list[int], int]:
    """A strict reader of the generator's own format, separate from parse_system."""
    left, right = line.split(" = ")
    coefficients = dict.fromkeys(variables, 0)
    for sign, digits, letter in re.findall(r"(-|\+|)\s*(\d*)([A-E])", left):
        coefficients[letter] = (-1 if sign == "-" else 1) * (int(digits) if digits else 1)
    return [coefficients[v] for v in variables], int(right)


def _cramer(context: str) -> dict[str, int] | None:
    lines = context.splitlines()
    variables = "ABCDE"[: len(lines)]
    rows = [_read_equation(line, variables) for line in lines]
    matrix = [coefficients for coefficients, _ in rows]
    rhs = [value for _, value in rows]
    det = _determinant(matrix)
    if det == 0:
        return None
    solution = {}
    for k, variable in enumerate(variables):
        replaced = [[*row[:k], rhs[i], *row[k + 1 :]] for i, row in enumerate(matrix)]
        numerator = _determinant(replaced)
        if numerator % det:
            return None
        solution[variable] = numerator // det
    return solution


def _expected_values(expected: str) -> dict[str, int]:
    return {k: int(v) for k, v in (part.split("=") for part in expected.split(", "))}


# --- generation ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def items_200():
    return generate_soebench(200, seed=0)


def test_every_generated_system_has_exactly_one_integer_solution(items_200):
    for item in items_200:
        solution = _cramer(item.context)
        assert solution is not None, item.id
        assert solution == _expected_values(item.expected), item.id


def test_the_system_has_as_many_equations_as_variables_and_uses_them_all(items_200):
    for item in items_200:
        lines = item.context.splitlines()
        letters = set(re.findall(r"[A-E]", item.context))
        assert letters == set("ABCDE"[: len(lines)])
        assert 2 <= len(lines) <= 5


def test_every_equation_has_at_least_two_variables(items_200):
    for item in items_200:
        for line in item.context.splitlines():
            assert len(re.findall(r"[A-E]", line.split("=")[0])) >= 2, line


def test_equations_use_only_the_allowed_characters(items_200):
    for item in items_200:
        for line in item.context.splitlines():
            assert set(line) <= ALLOWED_EQUATION_CHARS, line


def test_sizes_two_to_five_are_mixed_evenly(items_200):
    sizes = Counter(len(item.context.splitlines()) for item in items_200)
    assert set(sizes) == {2, 3, 4, 5}
    assert all(count == 50 for count in sizes.values())


def test_items_carry_ids_task_question_and_canonical_answer(items_200):
    assert [item.id for item in items_200[:3]] == [
        "soebench-0001",
        "soebench-0002",
        "soebench-0003",
    ]
    assert len({item.id for item in items_200}) == 200
    for item in items_200:
        variables = "ABCDE"[: len(item.context.splitlines())]
        assert item.task == "soebench"
        assert item.answer_type == "solution"
        assert item.options == ()
        assert item.question.startswith("Solve the system of equations for ")
        assert all(v in item.question for v in variables)
        assert [part.split("=")[0] for part in item.expected.split(", ")] == list(variables)
        assert re.fullmatch(r"[A-E]=-?\d+(, [A-E]=-?\d+)*", item.expected)


def test_coefficient_one_and_negative_leading_terms_are_written_plainly(items_200):
    lines = [line for item in items_200 for line in item.context.splitlines()]
    assert not any(re.search(r"(?<!\d)1[A-E]", line) for line in lines)
    assert not any(re.search(r"(?<![\d ])0[A-E]|\s0[A-E]", line) for line in lines)
    assert any(line.startswith("-") for line in lines)
    assert not any("+ -" in line or "- -" in line for line in lines)


def test_same_seed_gives_the_same_items():
    assert generate_soebench(20, seed=7) == generate_soebench(20, seed=7)


def test_different_seeds_give_different_items():
    first = [item.context for item in generate_soebench(20, seed=1)]
    second = [item.context for item in generate_soebench(20, seed=2)]
    assert first != second
    assert len(set(first) & set(second)) < 3


def test_a_longer_run_starts_with_the_items_of_a_shorter_one():
    assert generate_soebench(12, seed=3)[:5] == generate_soebench(5, seed=3)


def test_negative_count_is_refused():
    with pytest.raises(ValueError, match=">= 0"):
        generate_soebench(-1, seed=0)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(min_value=-(2**40), max_value=2**40))
def test_any_seed_gives_valid_systems(seed):
    for item in generate_soebench(8, seed):
        assert _cramer(item.context) == _expected_values(item.expected)
        assert all(set(line) <= ALLOWED_EQUATION_CHARS for line in item.context.splitlines())


# --- formatting, parsing and solving -------------------------------------------------------


def test_format_equation_writes_signs_and_unit_coefficients():
    assert format_equation(LinearEquation({"A": 2, "B": 3, "C": -1}, 7)) == "2A + 3B - C = 7"
    assert format_equation(LinearEquation({"A": -2, "B": 1}, 3)) == "-2A + B = 3"
    assert format_equation(LinearEquation({"B": -1, "A": 1, "C": 0}, -4)) == "A - B = -4"


def test_parse_round_trips_every_generated_equation(items_200):
    for item in items_200:
        for line in item.context.splitlines():
            (equation,) = parse_system(line)
            assert format_equation(equation) == line


@pytest.mark.parametrize(
    "text",
    [
        "2A+3B-C=7",
        "2 A + 3 B - C = 7",
        "2A + 3B \u2212 C = 7",
        "2A + 3B \u2013 C = 7",
        "2*A + 3 \u00d7 B - C = 7",
        "2a + 3b - c = 7",
        "  2A   +3B-   C =7  ",
        "1. 2A + 3B - C = 7",
        "Equation 1: 2A + 3B - C = 7.",
    ],
)
def test_parse_tolerates_ocr_spacing_signs_and_numbering(text):
    assert parse_system(text) == [LinearEquation({"A": 2, "B": 3, "C": -1}, 7)]


def test_parse_skips_prose_and_reads_several_equations_per_line():
    text = "Solve the system of equations for A and B.\nA - B = 1  2A + B = 5\nThanks!"
    assert parse_system(text) == [
        LinearEquation({"A": 1, "B": -1}, 1),
        LinearEquation({"A": 2, "B": 1}, 5),
    ]


def test_parse_reads_a_negative_right_side_and_a_leading_minus():
    assert parse_system("-A - 12C = -40") == [LinearEquation({"A": -1, "C": -12}, -40)]


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=200))
def test_parse_never_raises_on_garbage(text):
    for equation in parse_system(text):
        assert isinstance(equation.rhs, int)
        assert set(equation.coeffs) <= set("ABCDE")


@st.composite
def equations(draw: st.DrawFn) -> LinearEquation:
    variables = draw(st.lists(st.sampled_from("ABCDE"), min_size=1, max_size=5, unique=True))
    coeffs = {v: draw(st.integers(-50, 50).filter(bool)) for v in variables}
    return LinearEquation(coeffs, draw(st.integers(-1000, 1000)))


@settings(max_examples=60, deadline=None)
@given(equation=equations())
def test_parse_inverts_format_for_any_equation(equation):
    text = format_equation(equation)
    assert parse_system(text) == [equation]
    assert parse_system(text.replace(" ", "")) == [equation]


def test_solve_system_returns_exact_fractions():
    solution = solve_system(parse_system("2A + 2B = 3\nA - B = 0"))
    assert solution == {"A": Fraction(3, 4), "B": Fraction(3, 4)}
    assert solution is not None and format_solution(solution) == "A=3/4, B=3/4"


@pytest.mark.parametrize(
    "text",
    [
        "A + B = 2\n2A + 2B = 4",  # dependent: infinitely many solutions
        "A + B = 2\nA + B = 3",  # contradictory
        "A + B + C = 3\nA - B = 0",  # too few equations
        "no equations here",
    ],
)
def test_solve_system_returns_none_without_a_unique_solution(text):
    assert solve_system(parse_system(text)) is None


def test_solve_system_accepts_a_repeated_consistent_equation():
    text = "A + B = 3\nA - B = 1\nA + B = 3"
    assert solve_system(parse_system(text)) == {"A": 2, "B": 1}


def test_solving_the_full_text_gives_the_expected_answer(items_200):
    for item in items_200[:40]:
        assert solve_soebench_text(item.full_text()) == item.expected
        squashed = re.sub(r"[ \t]+", "", item.full_text())
        assert solve_soebench_text(squashed) == item.expected
