"""Replies a careful person reads one way, which a cruder reader misread or left unread:
reasoning blocks, quoted instructions, hedges after the marker, trailing explanations,
mixed numbers, units with powers, chained ``=`` and ``name: value`` pairs.

A wrong reading is worse than none, so every form that is read has its neighbours that must
stay unread.
"""

from __future__ import annotations

import pytest

from rest_checks.answers import Extraction, canonicalize, extract_answer, extract_final_answer
from rest_checks.dashes import DASHES, HYPHEN_FOR_DASH
from rest_checks.items.base import AnswerType

# -- reasoning blocks -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "answer_type", "expected"),
    [
        (
            "<think> 6*7... So ANSWER: 40. Wait, 6*7 is 42. </think>\nThe product is \\boxed{42}",
            "number",
            "42",
        ),
        ("<think>ANSWER: B is my first guess</think>\n\nANSWER: C", "choice", "C"),
        (
            "<thinking>A = 5, B = 1\nANSWER: A = 5, B = 1</thinking>\nANSWER: A = 4, B = 2",
            "solution",
            "A=4, B=2",
        ),
        ("<reasoning>ANSWER: 7</reasoning> I could not finish.", "number", None),
        ("◁think▷ANSWER: 3◁/think▷ANSWER: 4", "number", "4"),
        # Nothing after the block: the block is all there is, and it is read.
        ("<think>the sum is 12\nANSWER: 12</think>\n\n", "number", "12"),
        # An unclosed block (a reply cut inside it) is read as it stands.
        ("<think>so far ANSWER: 12", "number", "12"),
    ],
)
def test_only_what_follows_a_reasoning_block_counts(
    raw: str, answer_type: AnswerType, expected: str | None
) -> None:
    assert extract_final_answer(raw, answer_type) == expected


# -- quoted instructions ----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "I will finish with exactly one final line of the form 'ANSWER: <answer>', where "
        "<answer> is a single number, e.g. 'ANSWER: 42'.",
        "The answer should be given as a line such as ANSWER: 42.",
        "The format is e.g. ANSWER: 7 on the last line. The picture is blurry.",
        'You asked me to end with "ANSWER: <answer>" (for example "ANSWER: 3").',
        "For example: ANSWER: 12",
    ],
)
def test_a_quoted_instruction_is_no_answer(raw: str) -> None:
    assert extract_answer(raw, "number").answer is None
    assert extract_answer(raw, "number", lenient=True).answer is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ANSWER: 17\n\n(as asked, a final line of the form 'ANSWER: <answer>')", "17"),
        ("Format: e.g. 'ANSWER: 42'. The sum is 5 + 4.\nANSWER: 9", "9"),
        # A quote of the answer itself is not an example of the format.
        ("So I write 'ANSWER: 9'", "9"),
        ("My final line: 'ANSWER: 9'", "9"),
        ("Therefore ANSWER: 9", "9"),
    ],
)
def test_the_real_answer_beside_a_quoted_instruction_is_read(raw: str, expected: str) -> None:
    assert extract_final_answer(raw, "number") == expected


# -- hedges and refusals after the marker ----------------------------------------------


@pytest.mark.parametrize(
    ("written", "answer_type"),
    [
        ("cannot be determined — only 2 of the prices are legible", "number"),
        ("cannot be determined", "number"),
        ("It can't be computed from 3 values", "number"),
        ("either 12 or 13", "number"),
        ("not enough information (only 2 prices given)", "number"),
        ("Unable to read the image; 4 lines are blurred", "number"),
        ("N/A", "number"),
        ("12, but I am not sure", "number"),
        ("41 — or maybe 42", "number"),
        ("41; perhaps 43", "number"),
        ("6 — wait, it is 7 actually", "number"),
        ("6 — no, sorry, the total is 7", "number"),
        ("x = 2 or x = 3", "number"),
        ("(B) Paris — no wait, (D) Rome", "choice"),
        ("B, not (C)... actually (C)", "choice"),
        ("A = 1, B cannot be determined", "solution"),
        ("no unique solution (A = 1 - B)", "solution"),
        ("Cannot be determined from the picture", "choice"),
        ("either B or C", "choice"),
    ],
)
def test_a_hedge_or_refusal_after_the_marker_is_no_answer(
    written: str, answer_type: AnswerType
) -> None:
    assert extract_final_answer(f"Working...\nANSWER: {written}", answer_type) is None


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("The unknown is 5", "5"),  # "unknown" is a word of algebra, not a refusal
        ("5, either way", "5"),
        ("3/4 (cannot be simplified further)", "3/4"),
        ("A = 5, B = 2 (the two unknowns)", "A=5, B=2"),
    ],
)
def test_words_that_only_look_like_refusals(written: str, expected: str) -> None:
    answer_type: AnswerType = "solution" if "=" in written else "number"
    assert extract_final_answer(f"ANSWER: {written}", answer_type) == expected


def test_an_option_whose_text_says_cannot_is_still_that_option() -> None:
    assert extract_final_answer("ANSWER: D. Cannot be determined", "choice") == "D"


# -- trailing explanations --------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "answer_type", "expected"),
    [
        ("72 — 180 km over 2.5 h", "number", "72"),
        ("72 – 180 km over 2.5 h is the speed", "number", "72"),
        ("72 -- that is 180 / 2.5", "number", "72"),
        ("72; the car covers 180 km in 2.5 hours", "number", "72"),
        ("72 because 180 / 2.5 = 72", "number", "72"),
        ("15 since 3 boxes hold 5 each", "number", "15"),
        ("C because plants need light to make 2 kinds of sugar", "choice", "C"),
        ("B; the others are 3 km too short", "choice", "B"),
        ("A = 3, B = −2 — both check out in 2 equations", "solution", "A=3, B=-2"),
        ("A = 3; B = -2", "solution", "A=3, B=-2"),
        ("A = 3, B = -2; checked in all 3 equations", "solution", "A=3, B=-2"),
    ],
)
def test_a_trailing_explanation_is_set_aside(
    written: str, answer_type: AnswerType, expected: str
) -> None:
    assert canonicalize(written, answer_type) == expected
    assert extract_final_answer(f"ANSWER: {written}", answer_type) == expected


@pytest.mark.parametrize(
    "written",
    [
        "12 — 13",  # no prose after the dash: two numbers
        "12; 13",
        "5 - 3",  # a hyphen with spaces is still an operator
        "12 — but 13 if tax is added",
        "5 — 7 apples",  # a range
        "5 – 7 kg",
        "1/2 cup; 3 tablespoons",  # two amounts
    ],
)
def test_what_follows_a_dash_without_prose_is_still_read(written: str) -> None:
    assert canonicalize(written, "number") is None


# -- numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("\\(2\\frac{1}{2}\\) cups", "5/2"),
        ("2\\tfrac12", "5/2"),
        ("$2\\dfrac{1}{2}$", "5/2"),
        ("-3\\frac{3}{4}", "-15/4"),
        ("2 1/2", "5/2"),
        ("\\frac{7}{2}", "7/2"),
        ("\\frac12", "1/2"),
        ("$96\\ \\text{cm}^2$", "96"),
        ("5 m^3", "5"),
        ("9.8 m/s^2", "49/5"),
        ("12 \\text{ cm}^{2}", "12"),
        ("40 km²", "40"),
        ("—3", "-3"),
        ("―3", "-3"),
        ("x = −3", "-3"),
        ("x = 12/4 = 3", "3"),
    ],
)
def test_number_forms_models_write(written: str, expected: str) -> None:
    assert canonicalize(written, "number") == expected


@pytest.mark.parametrize("written", ["2^3", "2 \\frac{1}{2} or 3", "12 m^2 or 13 m^2"])
def test_powers_and_fractions_that_stay_unread(written: str) -> None:
    assert canonicalize(written, "number") is None


@pytest.mark.parametrize("dash", list(DASHES))
def test_every_dash_of_the_shared_table_is_a_minus_before_a_digit(dash: str) -> None:
    assert canonicalize(f"{dash}7", "number") == "-7"
    assert canonicalize(f"A = {dash}7, B = 1", "solution") == "A=-7, B=1"
    assert f"{dash}7".translate(HYPHEN_FOR_DASH) == "-7"


def test_the_package_keeps_one_table_of_dashes() -> None:
    from rest_checks import reader
    from rest_checks.items import soebench

    for dash in DASHES:
        assert reader.fold_typography(f"A {dash} B") == "A - B"
        assert soebench.parse_system(f"A {dash} B = 1")[0].coeffs == {"A": 1, "B": -1}


# -- solutions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("A = 12/4 = 3, B = −2", "A=3, B=-2"),
        ("A = 6 - 3 = 3, B = -4/2 = -2", "A=3, B=-2"),
        ("A: 2, B: −1, C: 5", "A=2, B=-1, C=5"),
        ("x: 1; y: -2", "X=1, Y=-2"),
        ("A : 2 and B : 3", "A=2, B=3"),
    ],
)
def test_chains_and_name_value_pairs(written: str, expected: str) -> None:
    assert canonicalize(written, "solution") == expected
    assert extract_final_answer(f"Solved.\nANSWER: {written}", "solution") == expected


@pytest.mark.parametrize(
    "written",
    [
        "A = B = 1",  # two variables named in one chain
        "A: 2",  # one pair alone could be a label; a system has two unknowns at least
        "Step 1: 3, Step 2: 4",  # names too long to be variables
        "A = 3 = B",
    ],
)
def test_chains_and_pairs_that_stay_unread(written: str) -> None:
    assert canonicalize(written, "solution") is None


# -- choices ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Jane Austen (B)", "B"),
        ("The Pacific Ocean [a]", "A"),
        ("I think the answer is C.", "C"),
        ("I believe it is (D)", "D"),
        ("It's B", "B"),
    ],
)
def test_choice_forms_models_write(written: str, expected: str) -> None:
    assert canonicalize(written, "choice") == expected


@pytest.mark.parametrize(
    "written",
    [
        "Jane Austen (B) or Brontë (C)",
        "Austen or Brontë (C)",
        "B (C)",
        "I think so",
        "Not (B)",
        "Anything except (C)",
    ],
)
def test_choice_forms_that_stay_unread(written: str) -> None:
    assert canonicalize(written, "choice") is None


# -- a reply that is nothing but its answer (both modes) --------------------------------


@pytest.mark.parametrize("lenient", [False, True])
@pytest.mark.parametrize(
    ("raw", "answer_type", "expected"),
    [
        ("B", "choice", "B"),
        ("(b)", "choice", "B"),
        ("(C) Decrease in human capital.", "choice", "C"),
        ("D. Canada\n", "choice", "D"),
        ("0.956", "number", "239/250"),
        ("$18", "number", "18"),
        ("-7.", "number", "-7"),
        ("12 apples", "number", "12"),
        ("A = 4, B = 6", "solution", "A=4, B=6"),
        ("A = 4\nB = -6", "solution", "A=4, B=-6"),
        ("x: 1, y: 2", "solution", "X=1, Y=2"),
    ],
)
def test_a_reply_that_is_only_an_answer_reads_in_both_modes(
    raw: str, answer_type: AnswerType, expected: str, lenient: bool
) -> None:
    assert extract_answer(raw, answer_type, lenient=lenient).answer == expected
    assert extract_answer(raw, answer_type, lenient=lenient).rule == "whole_reply"


@pytest.mark.parametrize(
    ("raw", "answer_type"),
    [
        ("A man walks into a shop.", "choice"),
        ("I think it is B", "choice"),  # words around the letter: lenient at most
        ("B or C", "choice"),
        ("34,29", "number"),  # a decimal comma or two numbers: not read
        ("12 or 13", "number"),
        ("About 12 apples in 3 boxes", "number"),
        ("The values are A = 4, B = 6", "solution"),
        ("A = 4", "number"),
    ],
)
def test_a_short_reply_with_more_than_an_answer_is_not_read_strictly(
    raw: str, answer_type: AnswerType
) -> None:
    assert extract_answer(raw, answer_type).rule != "whole_reply"
    assert extract_answer(raw, answer_type).answer is None


def test_my_final_answer_is_with_a_colon_is_a_marker() -> None:
    assert extract_answer("Work.\nMy final answer is: -2", "number") == extract_answer(
        "Work.\nANSWER: -2", "number"
    )
    assert extract_final_answer("So the answer is: **C**", "choice") == "C"
    # In running prose it is not a marker.
    assert extract_final_answer("Then we see how the answer is: unclear, 4", "number") is None


# -- lenient mode -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "answer_type", "expected", "rule"),
    [
        ("Two.", "number", "2", "whole_reply"),
        ("twelve apples", "number", "12", "whole_reply"),
        ("Twenty", "number", "20", "whole_reply"),
        ("So the answer is seven.", "number", "7", "lenient"),
        ("Reasoning...\nSo the correct option is **B**.", "choice", "B", "lenient"),
        ("Thus the correct option is (D), the moon.", "choice", "D", "lenient"),
        ("The best choice would be C.", "choice", "C", "lenient"),
        ("He buys 3 packs of 6.\nChase will spend $18.", "number", "18", "final_sentence"),
        (
            "First, 2 + 3 = 5. Then 5 * 4 = 20. So she has 20 apples.",
            "number",
            "20",
            "final_sentence",
        ),
        ("Options A and C are wrong.\nOption B is correct.", "choice", "B", "final_sentence"),
        (
            "Solving gives the values. So A = 1 and B = -2.",
            "solution",
            "A=1, B=-2",
            "final_sentence",
        ),
    ],
)
def test_lenient_reads_final_sentences_phrases_and_number_words(
    raw: str, answer_type: AnswerType, expected: str, rule: str
) -> None:
    assert extract_answer(raw, answer_type, lenient=True) == Extraction(expected, rule)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "answer_type"),
    [
        ("It is one of them.", "number"),
        ("Two or three.", "number"),
        ("Twenty-one", "number"),  # number words go up to twenty
        ("Each of the 3 boxes holds 5 apples.", "number"),
        ("How many are left, 5?", "number"),
        ("It could be 12, or maybe 13.", "number"),
        ("Option A is wrong.", "choice"),
        ("B is not correct.", "choice"),
        ("I am not sure.", "choice"),
        ("The correct option is B or C.", "choice"),
        ("Thus we cannot say; 4 values are missing.", "number"),
    ],
)
def test_lenient_leaves_unread_what_is_not_one_answer(raw: str, answer_type: AnswerType) -> None:
    assert extract_answer(raw, answer_type, lenient=True).answer is None


# -- the item's options -----------------------------------------------------------------

CAPITALS = ("Berlin", "Paris", "Madrid", "Rome")
VALUES = ("0.512", "0.333", "0.9", "0.786")
SIZES = ("The kitten is much larger than the bed.", "The bed is much larger than the kitten.")


@pytest.mark.parametrize(
    ("raw", "options", "expected"),
    [
        ("ANSWER: Paris", CAPITALS, "B"),
        ("ANSWER: **paris**.", CAPITALS, "B"),
        ("ANSWER: Rome, the capital of Italy", CAPITALS, "D"),
        ("ANSWER: 0.786", VALUES, "D"),
        ("ANSWER: .9", VALUES, "C"),  # the same value written otherwise
        ("The bed is much larger than the kitten.", SIZES, "B"),
        ("ANSWER: B. Paris", CAPITALS, "B"),
        ("ANSWER: (D) 0.786", VALUES, "D"),
        ("ANSWER: Paris (B)", CAPITALS, "B"),
        ("ANSWER: B — Paris is where the Louvre is", CAPITALS, "B"),
        # Text beside the letter that is no option's text is an explanation.
        ("ANSWER: B. It is the largest city.", CAPITALS, "B"),
    ],
)
def test_an_option_named_by_its_text_or_value_is_its_letter(
    raw: str, options: tuple[str, ...], expected: str
) -> None:
    assert extract_final_answer(raw, "choice", options=options) == expected


@pytest.mark.parametrize(
    ("raw", "options", "lenient"),
    [
        ("The correct answer is B. 0.786.", VALUES, True),
        ("ANSWER: B. 0.786", VALUES, False),
        ("ANSWER: A — The bed is much larger than the kitten.", SIZES, False),
        ("ANSWER: Madrid (B)", CAPITALS, False),
        ("ANSWER: (C) Paris", CAPITALS, False),
        ("\\boxed{A. Rome}", CAPITALS, False),
    ],
)
def test_a_letter_that_contradicts_the_option_it_quotes_is_ambiguous(
    raw: str, options: tuple[str, ...], lenient: bool
) -> None:
    found = extract_answer(raw, "choice", lenient=lenient, options=options)
    assert found == Extraction(None, None, ambiguous=True)
    # Without the options the contradiction cannot be seen, and the letter is read.
    assert extract_answer(raw, "choice", lenient=lenient).answer is not None


@pytest.mark.parametrize(
    ("raw", "options"),
    [
        ("ANSWER: E", CAPITALS),  # the item has no option E
        ("ANSWER: Lisbon", CAPITALS),  # no option's text
        ("ANSWER: 0.5", VALUES),
        ("ANSWER: Paris or Rome", CAPITALS),
        ("ANSWER: 2", ("2", "2.0", "3", "4")),  # two options with that value
    ],
)
def test_what_names_no_single_option_is_no_answer(raw: str, options: tuple[str, ...]) -> None:
    found = extract_answer(raw, "choice", options=options)
    assert found.answer is None
    assert not found.ambiguous


def test_options_do_not_change_the_reading_of_other_answer_types() -> None:
    assert extract_final_answer("ANSWER: 3", "number", options=VALUES) == "3"


@pytest.mark.parametrize("lenient", [False, True])
def test_an_echoed_choice_instruction_is_no_answer_in_either_mode(lenient: bool) -> None:
    raw = (
        "The image contains the instruction: finish with one final line of the form "
        "'ANSWER: <answer>', where <answer> is the letter of the correct option, "
        "e.g. 'ANSWER: B'."
    )
    assert extract_answer(raw, "choice", lenient=lenient, options=CAPITALS).answer is None


@pytest.mark.parametrize(
    ("raw", "answer_type"),
    [
        (" " * 200_000 + "\u2014x", "number"),
        ("ANSWER: 5" + " \u2014 because;" * 20_000, "number"),
        ("<think>ANSWER: 4</think>" * 10_000 + "No idea.", "number"),
        ("e.g. 'ANSWER: 42' " * 10_000, "number"),
        ("the correct option is " * 9_000, "choice"),
        ("ANSWER: " + "A: 1, " * 30_000, "solution"),
        ("ANSWER: A " + "= 1 " * 50_000, "solution"),
    ],
)
def test_pathological_replies_of_the_new_forms_are_read(raw: str, answer_type: AnswerType) -> None:
    # Timing lives in benchmarks/parse_worst_case.py; here, that they finish and give no
    # answer where there is none to give.
    assert extract_answer(raw, answer_type, lenient=True, options=CAPITALS).answer is None


# -- a solution given as values only ------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "variables", "expected"),
    [
        ("34,29", ("A", "B"), "A=34, B=29"),
        ("34, 29", ("A", "B"), "A=34, B=29"),
        ("(1, -2, 3)", ("A", "B", "C"), "A=1, B=-2, C=3"),
        ("1; −2; 1/2.", ("A", "B", "C"), "A=1, B=-2, C=1/2"),
    ],
)
def test_a_reply_of_values_only_gives_the_unknowns_in_order(
    raw: str, variables: tuple[str, ...], expected: str
) -> None:
    assert extract_answer(raw, "solution", variables=variables) == Extraction(
        expected, "whole_reply"
    )


@pytest.mark.parametrize(
    ("raw", "variables"),
    [
        ("34,29", ()),  # the unknowns are not known
        ("34,29", ("A", "B", "C")),  # too few values
        ("1, 2, 3", ("A", "B")),  # too many
        ("34,29", ("A",)),
        ("The values are 34, 29", ("A", "B")),
        ("34 or 29", ("A", "B")),
    ],
)
def test_values_that_do_not_match_the_unknowns_are_no_answer(
    raw: str, variables: tuple[str, ...]
) -> None:
    assert extract_answer(raw, "solution", variables=variables).answer is None


def test_the_unknowns_of_a_solution_item_are_named_by_its_expected_answer() -> None:
    from rest_checks.answers import solution_variables

    assert solution_variables("A=1, B=-2, C=3/4") == ("A", "B", "C")
    assert solution_variables("X1=3") == ("X1",)
