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


# -- number forms read as a careful person reads them -----------------------------------

from rest_checks.answers import Extraction, extract_answer  # noqa: E402
from rest_checks.dashes import DASHES  # noqa: E402
from rest_checks.number_words import NUMBER_WORDS  # noqa: E402

proper_fractions = st.tuples(
    st.integers(min_value=1, max_value=10**4), st.integers(min_value=2, max_value=10**4)
).filter(lambda nd: nd[0] < nd[1])
minus_signs = st.sampled_from(["-", *DASHES])


@SETTINGS
@given(
    st.integers(min_value=1, max_value=10**6),
    proper_fractions,
    st.booleans(),
    st.sampled_from(
        [
            "{w} {n}/{d}",
            "{w}\\frac{{{n}}}{{{d}}}",
            "${w}\\tfrac{{{n}}}{{{d}}}$",
            "\\({w}\\dfrac{{{n}}}{{{d}}}\\) cups",
        ]
    ),
    minus_signs,
)
def test_mixed_numbers_are_whole_plus_fraction(
    whole: int, nd: tuple[int, int], negative: bool, form: str, minus: str
) -> None:
    n, d = nd
    written = form.format(w=whole, n=n, d=d)
    value = whole + Fraction(n, d)
    if negative:
        written, value = minus + written.lstrip("$\\("), -value
    assert canonicalize(written, "number") == str(value)


@SETTINGS
@given(
    fractions,
    st.sampled_from(["cm", "m", "km", "in", "ft", "mm"]),
    st.integers(min_value=2, max_value=3),
    st.sampled_from(["{v} {u}^{k}", "{v}\\ \\text{{{u}}}^{k}", "{v} \\text{{ {u}}}^{{{k}}}"]),
)
def test_a_unit_with_a_power_is_not_a_second_number(
    value: Fraction, unit: str, power: int, form: str
) -> None:
    written = form.format(v=format_answer(str(value), "number"), u=unit, k=power)
    assert canonicalize(written, "number") == str(value)


@SETTINGS
@given(fractions, minus_signs)
def test_every_dash_before_a_number_is_a_minus(value: Fraction, minus: str) -> None:
    magnitude = format_answer(str(abs(value)), "number")
    assert canonicalize(f"{minus}{magnitude}", "number") == str(-abs(value))


@SETTINGS
@given(
    st.lists(
        st.tuples(st.sampled_from("ABCDE"), fractions, st.integers(1, 9)),
        min_size=1,
        max_size=5,
        unique_by=lambda t: t[0],
    ),
    st.sampled_from([" = ", "="]),
)
def test_a_chain_of_equals_takes_its_last_value(
    assignments: list[tuple[str, Fraction, int]], eq: str
) -> None:
    written = ", ".join(
        f"{name}{eq}{format_answer(str(value * k), 'number')}/{k}{eq}"
        f"{format_answer(str(value), 'number')}"
        for name, value, k in assignments
    )
    expected = ", ".join(f"{n}={v}" for n, v, _ in sorted(assignments))
    assert canonicalize(written, "solution") == expected


@SETTINGS
@given(
    fractions,
    st.sampled_from([" \u2014 ", " \u2013 ", " -- ", "; ", " because "]),
    st.lists(
        st.sampled_from(
            ["the", "car", "covers", "180", "km", "in", "2.5", "hours", "total", "cost", "is", "12"]
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_an_explanation_after_the_answer_is_set_aside(
    value: Fraction, separator: str, words: list[str]
) -> None:
    explanation = " ".join(["that", "is", *words])  # prose, whatever numbers it holds
    written = f"{format_answer(str(value), 'number')}{separator}{explanation}"
    assert canonicalize(written, "number") == str(value)


@SETTINGS
@given(
    st.sampled_from(sorted(NUMBER_WORDS)),
    st.sampled_from(["{}", "{}.", "{} apples.", "There are {}."]),
)
def test_number_words_up_to_twenty_are_read_leniently_only(word: str, form: str) -> None:
    reply = form.format(word.capitalize() if form.startswith("{") else word)
    assert extract_answer(reply, "number", lenient=True).answer == str(NUMBER_WORDS[word])
    assert extract_answer(reply, "number").answer is None


# Option texts of words; not ones that start like an answer phrase ("the answer is", "it
# is", "or"), which no item's option does.
_PHRASE_WORDS = {"the", "my", "final", "correct", "right", "best", "answer", "option",
                 "choice", "letter", "is", "it", "or", "and", "cannot", "either", "because",
                 "since", "would", "will", "be", "i"}  # fmt: skip
option_texts = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=3, max_size=20)
    .map(lambda t: " ".join(t.split()))
    .filter(
        lambda t: (
            len(t) >= 3
            and "answer" not in t
            and len(t.split()[0]) > 1
            and not _PHRASE_WORDS & set(t.split()[:2])
        )
    ),
    min_size=2,
    max_size=6,
    unique_by=lambda t: t,
)


@SETTINGS
@given(option_texts, st.data())
def test_an_option_named_by_its_text_is_its_letter_and_a_contradiction_is_ambiguous(
    options: list[str], data: st.DataObject
) -> None:
    i = data.draw(st.integers(0, len(options) - 1))
    j = data.draw(st.integers(0, len(options) - 1).filter(lambda k: k != i))
    letter_i, letter_j = OPTION_LETTERS[i], OPTION_LETTERS[j]
    read = extract_answer(f"ANSWER: {options[i]}", "choice", options=options)
    assert read == Extraction(letter_i, "answer_line")
    same = extract_answer(f"ANSWER: {letter_i}. {options[i]}", "choice", options=options)
    assert same == Extraction(letter_i, "answer_line")
    other = extract_answer(f"ANSWER: {letter_j}. {options[i]}", "choice", options=options)
    assert other == Extraction(None, None, ambiguous=True)
