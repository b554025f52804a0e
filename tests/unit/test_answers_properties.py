"""Properties of answer parsing: round trips, idempotence, the last answer line, and speed."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rest_checks.answers import (
    MAX_DIGITS,
    canonicalize,
    extract_final_answer,
    format_answer,
)
from rest_checks.items.base import OPTION_LETTERS, AnswerType

SETTINGS = settings(max_examples=150, deadline=None)

fractions = st.fractions(
    min_value=Fraction(-(10**12)), max_value=Fraction(10**12), max_denominator=10**6
)


@st.composite
def canonical_answers(draw: st.DrawFn) -> tuple[AnswerType, str]:
    """A canonical answer of any type, built independently of the parser."""
    kind = draw(st.sampled_from(["choice", "number", "solution"]))
    if kind == "choice":
        return "choice", draw(st.sampled_from(OPTION_LETTERS))
    if kind == "number":
        return "number", str(draw(fractions))
    names = draw(st.lists(st.sampled_from("ABCDE"), min_size=1, max_size=5, unique=True))
    values = {name: draw(fractions) for name in names}
    return "solution", ", ".join(f"{n}={values[n]}" for n in sorted(values))


@SETTINGS
@given(canonical_answers())
def test_parse_of_format_is_the_answer(answer: tuple[AnswerType, str]) -> None:
    answer_type, canonical = answer
    assert canonicalize(format_answer(canonical, answer_type), answer_type) == canonical


@SETTINGS
@given(canonical_answers())
def test_canonical_answers_are_fixed_points(answer: tuple[AnswerType, str]) -> None:
    answer_type, canonical = answer
    assert canonicalize(canonical, answer_type) == canonical


@SETTINGS
@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_integers_with_thousands_separators(n: int) -> None:
    assert canonicalize(f"{n:,}", "number") == str(n)
    assert canonicalize(f"{n:_}".replace("_", " "), "number") == str(n)


@SETTINGS
@given(st.decimals(min_value=-(10**6), max_value=10**6, places=4, allow_nan=False))
def test_decimals_become_exact_fractions(d: object) -> None:
    written = f"{d:f}"
    assert canonicalize(written, "number") == str(Fraction(written))


@SETTINGS
@given(
    st.dictionaries(st.sampled_from("ABCDE"), fractions, min_size=1, max_size=5),
    st.sampled_from([", ", ",", "; ", " and ", "\n", " "]),
    st.sampled_from(["=", " = "]),
    st.randoms(use_true_random=False),
)
def test_solutions_in_any_order_and_spacing(
    values: dict[str, Fraction], sep: str, eq: str, rnd: object
) -> None:
    names = list(values)
    rnd.shuffle(names)  # type: ignore[attr-defined]
    written = sep.join(f"{n}{eq}{values[n]}" for n in names)
    expected = ", ".join(f"{n}={values[n]}" for n in sorted(values))
    assert canonicalize(written, "solution") == expected


# Text that reaches deep into the parsers: digits, option and variable letters, operators.
answerish = st.text(alphabet="ABCDEabcxy0123456789 =,;./-+()[]*$%\n", max_size=40)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(answerish, st.text(max_size=40)), st.sampled_from(["choice", "number", "solution"])
)
def test_canonicalize_is_idempotent(text: str, answer_type: AnswerType) -> None:
    once = canonicalize(text, answer_type)
    if once is not None:
        assert canonicalize(once, answer_type) == once


@SETTINGS
@given(st.text(max_size=300), st.sampled_from(["choice", "number", "solution"]))
def test_extraction_never_fails_and_returns_a_canonical_answer(
    raw: str, answer_type: AnswerType
) -> None:
    found = extract_final_answer(raw, answer_type)
    if found is not None:
        assert canonicalize(found, answer_type) == found


@st.composite
def reasoning_lines(draw: st.DrawFn) -> str:
    """Free text, sometimes holding earlier (superseded) answer lines."""
    lines = draw(
        st.lists(
            st.one_of(
                st.text(max_size=60),
                canonical_answers().map(lambda a: f"ANSWER: {format_answer(a[1], a[0])}"),
                st.just("**Answer:** maybe"),
                st.just("\\boxed{7}"),
            ),
            max_size=6,
        )
    )
    return "\n".join(lines)


trailing = st.text(alphabet=st.characters(exclude_characters="\r\n"), max_size=40).filter(
    lambda s: "answer" not in s.casefold()
)


@SETTINGS
@given(canonical_answers(), reasoning_lines(), trailing)
def test_the_last_answer_line_wins(
    answer: tuple[AnswerType, str], reasoning: str, after: str
) -> None:
    answer_type, canonical = answer
    raw = f"{reasoning}\nANSWER: {format_answer(canonical, answer_type)}\n\n{after}"
    assert extract_final_answer(raw, answer_type) == canonical


@SETTINGS
@given(canonical_answers(), reasoning_lines())
def test_markdown_answer_lines_are_read(answer: tuple[AnswerType, str], reasoning: str) -> None:
    answer_type, canonical = answer
    raw = f"{reasoning}\n**Final Answer:** {format_answer(canonical, answer_type)}\n"
    assert extract_final_answer(raw, answer_type) == canonical


HOSTILE = {
    "thousands": "ANSWER: " + "1," * 50_000,
    "assignments": "ANSWER: " + "A=" * 30_000,
    "parens": "ANSWER: " + "(" * 50_000 + ")" * 50_000,
    "markers": "ANSWER:" * 20_000,
    "marker-words": "answer " * 20_000,
    "spaces": "ANSWER:" + " " * 100_000 + "5",
    "blank-lines": "ANSWER:" + "\n" * 100_000,
    "boxes": "\\boxed{" * 20_000,
    "nested-braces": "\\boxed{" + "{" * 50_000 + "}" * 50_000,
    "digits": "ANSWER: " + "9" * 100_000,
    "fractions": "ANSWER: " + "1/" * 50_000,
    "mixed": "ANSWER: " + "1 " * 50_000 + "1/2",
    "long-line-then-answer": "x" * 100_000 + "\nANSWER: 5",
}


@pytest.mark.parametrize("answer_type", ["choice", "number", "solution"])
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_output_parses_quickly(name: str, answer_type: AnswerType) -> None:
    # A guard against super-linear regular expressions, not a benchmark.
    start = time.perf_counter()
    extract_final_answer(HOSTILE[name], answer_type)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("answer_type", ["choice", "number", "solution"])
@pytest.mark.parametrize(
    "value",
    [
        "1," * 499,
        "A=" * 499,
        "A = " + "1 " * 490,
        "1 " * 499 + "/2",
        "(" * 999,
        "\\frac{" * 160,
        "A = 1, " * 142,
        "9" * 999,
        "-" * 999,
    ],
)
def test_hostile_values_canonicalise_quickly(value: str, answer_type: AnswerType) -> None:
    start = time.perf_counter()
    canonicalize(value, answer_type)
    assert time.perf_counter() - start < 1.0


def test_hostile_digits_are_no_answer() -> None:
    assert extract_final_answer("ANSWER: " + "9" * (MAX_DIGITS + 1), "number") is None
    assert extract_final_answer(HOSTILE["thousands"], "number") is None
