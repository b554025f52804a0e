"""The exact reader: answers a question from its text, exactly, or says it cannot.

This is the "reasoning" half of the embedded reference model (``rest_checks.models.
reference``). It is given a text (the prompt's content, or an OCR transcription of a
rendering) and answers as a careful reader who can calculate perfectly but reads only
what is written:

- ``solution`` (SoEBench): the equations are parsed out of the text and solved with exact
  rational arithmetic; an answer is given only when the system read has a unique solution.
- ``number`` (arithmetic word problems): the problem is recovered from the text and
  computed exactly. A published problem no template of ours computes (GSM8K) is answered
  from its answer key once the problem and every number in it are read.
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

from rapidfuzz.distance import Indel, LCSseq, Levenshtein

from rest_checks.dashes import HYPHEN_FOR_DASH
from rest_checks.items.arith import solve_arith_text
from rest_checks.items.base import OPTION_LETTERS, AnswerType, Item
from rest_checks.items.soebench import (
    LinearEquation,
    format_solution,
    parse_system,
    solve_system,
)

#: Changes whenever the reader could answer differently; part of the model identity.
READER_VERSION = "exact-reader/4"

#: Share of the question's characters (spaces ignored) that must be found, in order, in the
#: text before a multiple-choice item counts as recognised.
STEM_COVERAGE_THRESHOLD = 0.9
#: Below that, the question still counts as recognised when at least this share is found
#: as read and ``STEM_COVERAGE_THRESHOLD`` once letter-level noise is undone
#: (:func:`follow_item_words`): a few letters lost or misread inside words, not a garbled
#: question.
NOISY_STEM_COVERAGE_THRESHOLD = 0.8
#: Similarity an option's text must reach to count as found.
OPTION_SIMILARITY_THRESHOLD = 0.8
# A wrapped option continues on the next lines; look this many lines ahead.
_MAX_OPTION_LINES = 3

# Dashes and minus signs as "-" (the package's one table), curly quotes as straight ones.
_DASHES = {
    **HYPHEN_FOR_DASH,
    **str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}),
}
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


def fold_typography(text: str) -> str:
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
    clean = fold_typography(text)
    if kind == "solution":
        return read_solution(clean)
    if kind == "number":
        return read_number(clean, item)
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


# A line read whole as equations: terms with a variable A-E, "=", an integer, and maybe
# more equations after it; nothing else (spaces removed and case ignored by
# is_equation_line, which first refuses digits that only space separates).
_EQUATION_LINE = re.compile(r"(?:[+-]?\d*[A-E](?:[+-]\d*[A-E])*=[+-]?\d+)+")
_MULTIPLICATION = re.compile(r"[*\u00d7\u00b7\u22c5]")
_DIGITS_APART = re.compile(r"\d\s+\d")


def is_equation_line(line: str) -> bool:
    """Whether all of ``line`` is one or more equations (a final ``.``, ``,`` or ``;``
    aside). Two digits with only space between them ("2 2E", "= -1 3") are not one
    number: such a line is not read."""
    body = _MULTIPLICATION.sub("", fold_typography(line)).rstrip(".,;")
    if _DIGITS_APART.search(body):
        return False
    return _EQUATION_LINE.fullmatch(_ALL_SPACE.sub("", body).upper()) is not None


def read_equations(text: str) -> tuple[list[LinearEquation], list[str]]:
    """The equations of ``text``, and the lines that hold an equation only in part.

    A line counts only when all of it is read as equations (:func:`is_equation_line`).
    When the parser finds an equation in just part of a line ("5C + 3D+ 2 2E = 59", where
    OCR read a character twice at the seam of two pieces of the line, holds "2E = 59"),
    the line is not read at all: the reader neither drops the stray "2" nor joins it into
    "22E". A coefficient split by a space, or two terms with no sign between them, is a
    misreading it cannot undo, so the system it belongs to goes unanswered instead of
    answered wrong.
    """
    equations: list[LinearEquation] = []
    partial: list[str] = []
    for line in text.splitlines():
        found = parse_system(line)
        if not found:
            continue
        if not is_equation_line(line):
            partial.append(line.strip())
            continue
        equations.extend(found)
    return equations, partial


def read_solution(text: str) -> Reading:
    """Solve the equation system written in ``text`` exactly (see :func:`read_equations`
    for what counts as read)."""
    equations, partial = read_equations(text)
    unread = "".join(f" Could not read the line {line!r} as equations." for line in partial)
    if not equations:
        return Reading(None, f"Could not read any equation.{unread}")
    solution = solve_system(equations)
    variables = sorted({v for eq in equations for v in eq.variables()})
    if solution is None:
        return Reading(
            None,
            f"Read {len(equations)} equation(s) in {', '.join(variables) or 'no variable'}; "
            f"they have no unique solution, so the system could not be read correctly.{unread}",
        )
    return Reading(
        format_solution(solution),
        f"Read {len(equations)} equation(s) in {', '.join(variables)} and solved them exactly "
        f"by elimination.{unread}",
        "solution",
    )


# A token of digits in which a letter shaped like a digit stands (OCR reads "14" as
# "l4", "200" as "2o0"): a careful reader of a word problem reads it as the number. An
# apostrophe continues a word, so the "o" of "7o'clock" stays a letter.
_DIGIT_LIKE = str.maketrans({"l": "1", "I": "1", "|": "1", "o": "0", "O": "0"})
_NUMBER_TOKEN = re.compile(r"(?<![A-Za-z0-9'])[0-9lIoO|]*[0-9][0-9lIoO|]*(?![A-Za-z0-9'])")
# Such letters between two digits inside a longer token, where OCR dropped the spaces
# around a number ("spends2o0dollars").
_DIGIT_LIKE_BETWEEN_DIGITS = re.compile(r"(?<=[0-9])[lIoO|]+(?=[0-9])")


def read_digits(text: str) -> str:
    """Letters shaped like digits, inside tokens that hold a digit, read as digits.

    Only tokens made of digits and such letters change, and runs of such letters between
    two digits, so words ("lo", "One", "o'clock") and the variables of an equation system
    stay as they are.
    """
    text = _NUMBER_TOKEN.sub(lambda m: m.group(0).translate(_DIGIT_LIKE), text)
    return _DIGIT_LIKE_BETWEEN_DIGITS.sub(lambda m: m.group(0).translate(_DIGIT_LIKE), text)


#: The longest stretch of letters (a substitution, a missing or an extra run) that the
#: reader of a word problem takes from the item's own words when OCR misread it. Longer
#: differences are kept as read, so a lost word or line is never filled in.
MAX_LETTER_FIX = 3

_WORD_TOKEN = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class _ReadChar:
    """One letter or digit of a transcription, as the word-problem reader compares it."""

    #: Lower-case ASCII letter or digit.
    char: str
    #: The character as read (its case tells "I" from "i").
    read: str
    #: A digit alone among at least as many letters ("0ne", "1ong", "0n"): if the item has
    #: a letter there, it is that letter misread.
    in_word: bool


def _read_chars(text: str) -> list[_ReadChar]:
    """The ASCII letters and digits of ``text``, lower-cased, as the arithmetic templates
    compare them (everything else is dropped there too)."""
    chars: list[_ReadChar] = []
    for match in _WORD_TOKEN.finditer(text):
        token = match.group(0)
        letters = sum(ch.isalpha() for ch in token)
        digits = sum(ch.isdigit() for ch in token)
        wordlike = letters >= max(digits, 1)
        for i, ch in enumerate(token):
            low = ch.lower()
            if len(low) != 1 or not low.isascii() or not low.isalnum():
                continue
            lone = (
                ch.isdigit()
                and not (i > 0 and token[i - 1].isdigit())
                and not (i + 1 < len(token) and token[i + 1].isdigit())
            )
            chars.append(_ReadChar(low, ch, wordlike and lone))
    return chars


def _pair(read: _ReadChar, meant: str) -> str:
    """One character as read, against the item's character it is aligned with."""
    if read.char.isdigit():
        # A digit stays a digit, unless it stands alone inside a word where the item has
        # a letter: then it is that letter, misread.
        return meant if meant.isalpha() and read.in_word else read.char
    if meant.isdigit():
        # A letter where the item has a digit: the digit it is shaped like, or the letter
        # as read (which then breaks the number). Never the item's digit.
        return read.read.translate(_DIGIT_LIKE).lower()
    return meant


def follow_item_words(text: str, item_text: str) -> tuple[str, int]:
    """``text``'s letters and digits with letter-level OCR noise outside numbers undone.

    The transcription is aligned, letter by letter (case, spaces and punctuation ignored),
    with the item's own text. Where they differ by at most ``MAX_LETTER_FIX`` letters,
    the item's letters are taken ("Hou" is "How", "Cach" is "Each", "0ne" is "One": a
    digit alone inside a word is a misread letter). Digits are never taken from the item:
    every digit of the result is one that was read, or a letter shaped like it ("l", "I",
    "o", "O") read where the item has a digit; a number that was misread stays misread.
    Returns the corrected text (lower-case letters and digits only, which is all the
    arithmetic templates compare) and how many characters were changed.
    """
    read = _read_chars(text)
    meant = "".join(c.char for c in _read_chars(item_text))
    out: list[str] = []
    changed = 0
    for op in Levenshtein.opcodes("".join(c.char for c in read), meant):
        seen = read[op.src_start : op.src_end]
        wanted = meant[op.dest_start : op.dest_end]
        if op.tag == "equal":
            out.extend(c.char for c in seen)
            continue
        if max(len(seen), len(wanted)) > MAX_LETTER_FIX:
            out.extend(c.char for c in seen)
            continue
        if len(seen) == len(wanted):
            fixed = [_pair(c, m) for c, m in zip(seen, wanted, strict=True)]
        elif any(c.char.isdigit() for c in seen) or any(m.isdigit() for m in wanted):
            # A number gained or lost characters: it is read as it was read.
            fixed = [c.char for c in seen]
        else:
            fixed = list(wanted)
        changed += Levenshtein.distance("".join(c.char for c in seen), "".join(fixed))
        out.extend(fixed)
    return "".join(out), changed


def read_number(text: str, item: Item | None = None) -> Reading:
    """Recover and compute the arithmetic problem written in ``text``.

    With the item, a transcription that does not match as read is read again with its
    letter-level noise undone (:func:`follow_item_words`); its numbers are read either way.
    """
    digits = read_digits(text)
    answer = solve_arith_text(digits)
    if answer is not None:
        return Reading(
            answer, "Recognised the problem and its numbers and computed the result.", "number"
        )
    if item is not None:
        corrected, changed = follow_item_words(digits, item.full_text())
        answer = solve_arith_text(corrected) if changed else None
        if answer is not None:
            return Reading(
                answer,
                f"Recognised the problem (reading {changed} misread letter(s) as the words "
                "they stand for) and its numbers, and computed the result.",
                "number",
            )
    if item is not None and item.task != "arith":
        return read_published_problem(text, item)
    return Reading(None, "Could not read the arithmetic problem.")


_WRITTEN_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def read_published_problem(text: str, item: Item) -> Reading:
    """A published word problem (GSM8K, GSM-Symbolic) that no template of ours computes:
    the reader knows its answer key, as for multiple choice, so what it must read is the
    problem itself and every number in it, in order and exactly as written."""
    coverage = stem_coverage(item.full_text(), text)
    if coverage < STEM_COVERAGE_THRESHOLD:
        return Reading(
            None, f"Could not recognise the problem in the text ({coverage:.0%} of it found)."
        )
    wanted = _WRITTEN_NUMBER.findall(fold_typography(item.full_text()))
    read = _WRITTEN_NUMBER.findall(text)
    position = 0
    for number in wanted:
        try:
            position = read.index(number, position) + 1
        except ValueError:
            return Reading(None, f"Recognised the problem but could not read its number {number}.")
    return Reading(
        item.expected,
        f"Recognised the published problem and read all {len(wanted)} of its numbers.",
        "number",
    )


def _squash(text: str) -> str:
    """For fuzzy matching: case-folded, with no whitespace at all (OCR drops spaces)."""
    return _ALL_SPACE.sub("", fold_typography(text).casefold())


def stem_coverage(stem: str, text: str) -> float:
    """Share of ``stem``'s characters (whitespace and case ignored) found in order in
    ``text``; 1.0 when the stem is present verbatim."""
    a, b = _squash(stem), _squash(text)
    if not a:
        return 1.0
    # The longest common subsequence: rapidfuzz's, linear in memory and fast enough for a
    # question of thousands of characters (difflib took a tenth of a second and more).
    return LCSseq.similarity(a, b) / len(a)


def _similarity(a: str, b: str) -> float:
    """2 x common subsequence / total length, in [0, 1] (difflib's ratio, computed on the
    longest common subsequence)."""
    return float(Indel.normalized_similarity(_squash(a), _squash(b)))


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
    recognised = "Recognised the question"
    if coverage < STEM_COVERAGE_THRESHOLD:
        # Read again with letter-level noise undone (only to recognise the question: the
        # labels and options are read from the text as it is).
        corrected, changed = follow_item_words(text, item.full_text())
        letters = "".join(c.char for c in _read_chars(stem))
        if (
            changed
            and coverage >= NOISY_STEM_COVERAGE_THRESHOLD
            and stem_coverage(letters, corrected) >= STEM_COVERAGE_THRESHOLD
        ):
            recognised += f" (reading {changed} misread letter(s) as the words they stand for)"
        else:
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
        return Reading(None, f"{recognised} but could not find the correct option.")
    _, label, body = best
    letter = label.upper()
    if len(letter) != 1 or letter not in OPTION_LETTERS:
        return Reading(
            None,
            f"{recognised}; the correct option {body!r} has the label {label!r}, "
            "which is not a letter.",
        )
    return Reading(
        letter, f"{recognised}; the correct option {body!r} is labelled {letter}.", "choice"
    )
