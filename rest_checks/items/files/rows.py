"""What a layout reader gives back for each record, and the checks every reader shares.

A reader turns one record of a file into a ``SourceRow``: the question as text, the
options (empty for a free-answer item), the expected answer in canonical form (an option
letter, or a number such as ``"42"`` or ``"-3/2"``) and, where the file says, an id and a
subject. Texts are raw here; the loader normalises them once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from rest_checks.dashes import HYPHEN_FOR_DASH
from rest_checks.items.base import OPTION_LETTERS, AnswerType
from rest_checks.items.files.errors import ItemFileError

MIN_OPTIONS = 2
MAX_OPTIONS = len(OPTION_LETTERS)


@dataclass
class SourceRow:
    """One record of a file, read but not yet normalised or filtered."""

    line: int
    stem: str
    answer: str
    answer_type: AnswerType = "choice"
    options: tuple[str, ...] = ()
    file_id: str | None = None
    subject: str = ""


@dataclass(frozen=True)
class Where:
    """A record's place, for error messages."""

    path: Path
    line: int

    def error(self, reason: str) -> ItemFileError:
        return ItemFileError(self.path, self.line, reason)


def text_field(value: Any, where: Where, what: str) -> str:
    if not isinstance(value, str):
        raise where.error(f"{what} must be a string, got {type(value).__name__}")
    return value


def nonempty_stem(value: Any, where: Where, what: str = "question") -> str:
    stem = text_field(value, where, what)
    if not stem.strip():
        raise where.error(f"empty {what}")
    return stem


def option_list(values: Any, where: Where, what: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not MIN_OPTIONS <= len(values) <= MAX_OPTIONS:
        raise where.error(f"{what!r} must be a list of {MIN_OPTIONS} to {MAX_OPTIONS} strings")
    return tuple(text_field(v, where, f"each of {what!r}") for v in values)


def answer_letter(value: Any, n_options: int, where: Where, what: str = "answer") -> str:
    """An option letter, from a letter ``"B"``/``"b"`` (any of A-J)."""
    letter = value.strip().upper() if isinstance(value, str) else None
    return _checked_letter(letter, value, n_options, where, what)


def answer_index(value: Any, n_options: int, where: Where, what: str) -> str:
    """An option letter from a 0-based index (an int, or digits in a string)."""
    index = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str) and value.strip().isdigit():
        index = int(value.strip())
    if index is None:
        raise where.error(f"bad {what} {value!r}: expected a 0-based option index")
    if not 0 <= index < n_options:
        raise where.error(
            f"{what} {index} is not among the {n_options} options (0-{n_options - 1})"
        )
    return OPTION_LETTERS[index]


def label_letter(value: Any, where: Where, what: str) -> str:
    """A choice label as a letter: ``A``-``J``, or ``1``-``10`` counted from 1 (ARC)."""
    label = str(value).strip().upper() if isinstance(value, (str, int)) else ""
    if label.isdigit() and 1 <= int(label) <= MAX_OPTIONS:
        return OPTION_LETTERS[int(label) - 1]
    if len(label) == 1 and label in OPTION_LETTERS:
        return label
    raise where.error(f"bad {what} {value!r}: expected A-J or 1-10")


def _checked_letter(letter: str | None, value: Any, n_options: int, where: Where, what: str) -> str:
    valid = OPTION_LETTERS[:n_options]
    if not letter or len(letter) != 1 or letter not in OPTION_LETTERS:
        raise where.error(f"bad {what} {value!r}: expected one letter of {valid}")
    if letter not in valid:
        raise where.error(f"{what} {letter!r} is not among the {n_options} options ({valid})")
    return letter


def labelled_options(
    labels: list[Any], texts: list[Any], key: Any, where: Where
) -> tuple[tuple[str, ...], str]:
    """Options ordered by label, and the answer key as a letter: for ARC, whose labels
    run ``A``-``E`` or ``1``-``5`` and whose key uses the same labels."""
    if not MIN_OPTIONS <= len(labels) <= MAX_OPTIONS:
        raise where.error(f"expected {MIN_OPTIONS} to {MAX_OPTIONS} choices, got {len(labels)}")
    if len(labels) != len(texts):
        raise where.error(f"{len(labels)} choice labels but {len(texts)} choice texts")
    by_letter: dict[str, str] = {}
    for label, text in zip(labels, texts, strict=True):
        letter = label_letter(label, where, "choice label")
        if letter in by_letter:
            raise where.error(f"choice label {label!r} appears twice")
        by_letter[letter] = text_field(text, where, "choice text")
    letters = "".join(sorted(by_letter))
    if letters != OPTION_LETTERS[: len(letters)]:
        raise where.error(f"choice labels must run from A (or 1) without gaps: {letters}")
    answer = label_letter(key, where, "answerKey")
    if answer not in by_letter:
        raise where.error(f"answerKey {key!r} is not among the choice labels")
    return tuple(by_letter[letter] for letter in letters), answer


_THOUSANDS = re.compile(r"(?<=\d)[,\u2009\u202f _](?=\d{3}(?!\d))")
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d+)?|\.\d+)(?:/\d+)?")


def canonical_number(text: str, where: Where, what: str) -> str:
    """A final numeric answer (``"1,234"``, ``"-7"``, ``"2.50"``, ``"3/4"``) in the
    canonical form of ``rest_checks.answers``: an integer or a reduced fraction."""
    raw = text.strip().removeprefix("$").rstrip(".").strip()
    squeezed = _THOUSANDS.sub("", raw).translate(HYPHEN_FOR_DASH)
    if not _NUMBER.fullmatch(squeezed):
        raise where.error(f"bad {what} {text!r}: expected a number such as 42, -3 or 1,234")
    value = Fraction(squeezed)
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )
