"""The exact reader: answers a question from its text, exactly, or says it cannot.

This is the "reasoning" half of the embedded reference model (``rest_checks.models.
reference``). It is given a text (the prompt's content, or an OCR transcription of a
rendering) and answers as a careful reader who can calculate perfectly but reads only
what is written:

- ``solution`` (SoEBench): the equations are parsed out of the text and solved with exact
  rational arithmetic; an answer is given only when the system read has a unique solution.
- ``number`` (arithmetic word problems): the problem is recovered from the text and
  computed exactly.
- ``choice`` (multiple choice): the reader recognises the item's question in the text,
  finds the correct option's text and answers with the letter label printed before it.
  It knows the answer key; what it must *read* is the question and the label.

On a clean text it is always right, so every wrong or missing answer it gives comes from
the text itself: misread characters, lost lines, an unreadable rendering. Only light
normalisation is applied (Unicode compatibility forms, dashes and minus signs, spaces);
look-alike characters such as ``8``/``B`` or ``0``/``O`` are never "corrected".

Pure functions, no OCR: this module imports nothing heavy.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

from rest_checks.items.arith import solve_arith_text
from rest_checks.items.base import OPTION_LETTERS, AnswerType, Item
from rest_checks.items.soebench import format_solution, parse_system, solve_system

#: Changes whenever the reader could answer differently; part of the model identity.
READER_VERSION = "exact-reader/2"

#: Share of the question's characters (spaces ignored) that must be found, in order, in the
#: text before a multiple-choice item counts as recognised.
STEM_COVERAGE_THRESHOLD = 0.9
#: Similarity an option's text must reach to count as found.
OPTION_SIMILARITY_THRESHOLD = 0.8
# A wrapped option continues on the next lines; look this many lines ahead.
_MAX_OPTION_LINES = 3

_DASHES = str.maketrans(
    {
        "\u2212": "-",  # minus sign
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\ufe63": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
    }
)
_SPACES = re.compile(r"[^\S\n]+")
_ALL_SPACE = re.compile(r"\s+")
# An option label at the start of a line: "C. Paris", "C.Paris", "(C) Paris", "C) Paris",
# "C: Paris", "C Paris". The label is whatever one or two characters stand there, so a
# misread label ("G. Paris", "8. Paris") is read as it is written.
_LABELLED_LINE = re.compile(
    r"^\s*[(\[]?\s*(?P<label>[^\s.):\]]{1,2}?)\s*(?:[.):\]]+\s*|\s+)(?P<body>\S.*)$"
)


@dataclass(frozen=True)
class Reading:
    """What the reader made of a text: the canonical answer (or ``None``) and why."""

    answer: str | None
    note: str
    #: The kind of answer read (``None`` when nothing was).
    answer_type: AnswerType | None = None


def normalise_text(text: str) -> str:
    """Light normalisation: compatibility forms (full-width signs), dashes and minus signs
    to ``-``, curly quotes to straight ones, runs of spaces to one; lines are kept."""
    text = unicodedata.normalize("NFKC", text).translate(_DASHES)
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.splitlines())


def answer_from_text(
    text: str, item: Item | None, *, answer_type: AnswerType | None = None
) -> str | None:
    """The canonical answer to ``item`` as read from ``text``, or ``None`` if unreadable.

    ``answer_type`` defaults to the item's. Without an item (and type), a unique solution
    of an equation system is tried first, then an arithmetic problem; a multiple-choice
    question cannot be answered without its item.
    """
    return read_text(text, item, answer_type=answer_type).answer


def read_text(text: str, item: Item | None, *, answer_type: AnswerType | None = None) -> Reading:
    """Like :func:`answer_from_text`, with a short note on how the answer was reached."""
    kind = answer_type or (item.answer_type if item is not None else None)
    clean = normalise_text(text)
    if kind == "solution":
        return read_solution(clean)
    if kind == "number":
        return read_number(clean)
    if kind == "choice":
        if item is None:
            return Reading(None, "Cannot answer a multiple-choice question without its item.")
        return read_choice(clean, item)
    solution = read_solution(clean)
    if solution.answer is not None:
        return solution
    number = read_number(clean)
    if number.answer is not None:
        return number
    return Reading(None, "Could not read a question that can be answered.")


def read_solution(text: str) -> Reading:
    """Solve the equation system written in ``text`` exactly."""
    equations = parse_system(text)
    if not equations:
        return Reading(None, "Could not read any equation.")
    solution = solve_system(equations)
    variables = sorted({v for eq in equations for v in eq.variables()})
    if solution is None:
        return Reading(
            None,
            f"Read {len(equations)} equation(s) in {', '.join(variables) or 'no variable'}; "
            "they have no unique solution, so the system could not be read correctly.",
        )
    return Reading(
        format_solution(solution),
        f"Read {len(equations)} equation(s) in {', '.join(variables)} and solved them exactly "
        "by elimination.",
        "solution",
    )


# A token of digits in which a letter shaped like a digit stands (OCR reads "14" as
# "l4", "200" as "2o0"): a careful reader of a word problem reads it as the number.
_DIGIT_LIKE = str.maketrans({"l": "1", "I": "1", "|": "1", "o": "0", "O": "0"})
_NUMBER_TOKEN = re.compile(r"(?<![A-Za-z0-9])[0-9lIoO|]*[0-9][0-9lIoO|]*(?![A-Za-z0-9])")


def read_digits(text: str) -> str:
    """Letters shaped like digits, inside tokens that hold a digit, read as digits.

    Only tokens made of digits and such letters change, so words ("lo", "One") and the
    variables of an equation system stay as they are.
    """
    return _NUMBER_TOKEN.sub(lambda m: m.group(0).translate(_DIGIT_LIKE), text)


def read_number(text: str) -> Reading:
    """Recover and compute the arithmetic problem written in ``text``."""
    answer = solve_arith_text(read_digits(text))
    if answer is None:
        return Reading(None, "Could not read the arithmetic problem.")
    return Reading(
        answer, "Recognised the problem and its numbers and computed the result.", "number"
    )


def _squash(text: str) -> str:
    """For fuzzy matching: case-folded, with no whitespace at all (OCR drops spaces)."""
    return _ALL_SPACE.sub("", normalise_text(text).casefold())


def stem_coverage(stem: str, text: str) -> float:
    """Share of ``stem``'s characters (whitespace and case ignored) found in order in
    ``text``; 1.0 when the stem is present verbatim."""
    a, b = _squash(stem), _squash(text)
    if not a:
        return 1.0
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks())
    return matched / len(a)


def _similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, _squash(a), _squash(b), autojunk=False).ratio()


def _labelled_candidates(lines: list[str]) -> list[tuple[str, str]]:
    """Every (label, body) an option could be read as, including wrapped continuations."""
    candidates: list[tuple[str, str]] = []
    for i, line in enumerate(lines):
        match = _LABELLED_LINE.match(line)
        if match is None:
            continue
        body = match.group("body")
        candidates.append((match.group("label"), body))
        for extra in range(1, _MAX_OPTION_LINES):
            if i + extra >= len(lines):
                break
            body = f"{body} {lines[i + extra]}"
            candidates.append((match.group("label"), body))
    return candidates


def read_choice(text: str, item: Item) -> Reading:
    """Recognise ``item``'s question in ``text`` and read the correct option's label."""
    if not item.options or item.expected not in OPTION_LETTERS[: len(item.options)]:
        return Reading(None, "The item has no option that matches its expected answer.")
    stem = "\n".join(part for part in (item.context, item.question) if part)
    coverage = stem_coverage(stem, text)
    if coverage < STEM_COVERAGE_THRESHOLD:
        return Reading(
            None, f"Could not recognise the question in the text ({coverage:.0%} of it found)."
        )
    correct = OPTION_LETTERS.index(item.expected)
    target = item.options[correct]
    lines = [line for line in text.splitlines() if line.strip()]
    best: tuple[float, str, str] | None = None
    for label, body in _labelled_candidates(lines):
        score = _similarity(body, target)
        # A body that reads more like another option is that option, not this one.
        if any(
            _similarity(body, other) > score
            for j, other in enumerate(item.options)
            if j != correct and other != target
        ):
            continue
        if best is None or score > best[0]:
            best = (score, label, body)
    if best is None or best[0] < OPTION_SIMILARITY_THRESHOLD:
        return Reading(None, "Recognised the question but could not find the correct option.")
    _, label, body = best
    letter = label.upper()
    if len(letter) != 1 or letter not in OPTION_LETTERS:
        return Reading(
            None,
            f"Recognised the question; the correct option {body!r} has the label {label!r}, "
            "which is not a letter.",
        )
    return Reading(
        letter,
        f"Recognised the question; the correct option {body!r} is labelled {letter}.",
        "choice",
    )
