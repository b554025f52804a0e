"""MMLU-style CSV: one question per record, ``question, option..., answer letter``.

The original release (hendrycks/test, ``data/test/<subject>_test.csv``) has no header and
four options. Mirrors and exports vary, and all of these are read:

- a header row, its columns found by name: the question (``question``, ``input``,
  ``prompt``, ``stem``), the options (``A``..``J``), the answer (``answer``, ``target``,
  ``label``), and optionally ``id`` and ``subject``; other columns are ignored;
- a pandas index column (an unnamed or ``Unnamed: 0`` first column in the header, or a
  first field of digits without a header);
- a trailing comma on every record;
- tabs instead of commas (``.tsv``, or a first record that splits better by tabs).

Without a header a record is ``question, 2 to 10 options, answer letter``, and every
record has as many columns as the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rest_checks.items.base import OPTION_LETTERS
from rest_checks.items.files.csv_records import csv_records, sniff_delimiter
from rest_checks.items.files.rows import (
    MAX_OPTIONS,
    MIN_OPTIONS,
    SourceRow,
    Where,
    answer_letter,
    nonempty_stem,
)

QUESTION_NAMES = ("question", "input", "prompt", "stem")
ANSWER_NAMES = ("answer", "target", "label", "answerkey", "answer_key")
INDEX_NAMES = ("", "unnamed: 0", "index")


@dataclass(frozen=True)
class _Columns:
    """Where each part of a record is, as 0-based column numbers."""

    question: int
    options: tuple[int, ...]
    answer: int
    id: int | None = None
    subject: int | None = None
    width: int | None = None  # the number of columns every record must have (no header)


def subject_from_name(path: Path) -> str:
    """``high_school_physics_test.csv`` -> ``high_school_physics``."""
    subject = path.stem
    for suffix in ("_test", "_dev", "_val", "_train", "_validation"):
        subject = subject.removesuffix(suffix)
    return subject


def is_header(fields: list[str]) -> bool:
    names = [f.strip().lower() for f in fields]
    return any(n in QUESTION_NAMES for n in names) and any(n in ANSWER_NAMES for n in names)


def _header_columns(fields: list[str], where: Where) -> _Columns:
    names = [f.strip().lower() for f in fields]
    question = next(i for i, n in enumerate(names) if n in QUESTION_NAMES)
    answer = next(i for i, n in enumerate(names) if n in ANSWER_NAMES)
    by_letter = {
        n.upper(): i for i, n in enumerate(names) if len(n) == 1 and n.upper() in OPTION_LETTERS
    }
    letters = "".join(sorted(by_letter))
    if len(letters) < MIN_OPTIONS or letters != OPTION_LETTERS[: len(letters)]:
        raise where.error(
            f"the header names option columns {letters or 'none'}; expected A, B, ... "
            f"({MIN_OPTIONS} to {MAX_OPTIONS} of them, from A without gaps)"
        )
    return _Columns(
        question=question,
        options=tuple(by_letter[letter] for letter in letters),
        answer=answer,
        id=names.index("id") if "id" in names else None,
        subject=names.index("subject") if "subject" in names else None,
    )


def _headerless_columns(fields: list[str], where: Where) -> _Columns:
    width = len(fields)
    trailing = 1 if width > 3 and not fields[-1].strip() else 0
    index = 1 if fields[0].strip().isdigit() and width - trailing >= 4 else 0
    n_options = width - trailing - index - 2
    if not MIN_OPTIONS <= n_options <= MAX_OPTIONS:
        raise where.error(
            f"expected question, {MIN_OPTIONS} to {MAX_OPTIONS} options and an answer "
            f"letter, got {width} column(s)"
        )
    return _Columns(
        question=index,
        options=tuple(range(index + 1, index + 1 + n_options)),
        answer=index + 1 + n_options,
        width=width,
    )


def read_mmlu_csv(path: Path, text: str) -> list[SourceRow]:
    delimiter = sniff_delimiter(path, text)
    file_subject = subject_from_name(path)
    rows: list[SourceRow] = []
    columns: _Columns | None = None
    for line, fields in csv_records(path, text, delimiter):
        where = Where(path, line)
        if columns is None:
            if is_header(fields):
                columns = _header_columns(fields, where)
                continue
            columns = _headerless_columns(fields, where)
        if columns.width is not None and len(fields) != columns.width:
            raise where.error(
                f"expected {columns.width} columns like the first record, got {len(fields)}"
            )
        needed = max(columns.question, columns.answer, *columns.options) + 1
        if len(fields) < needed:
            raise where.error(
                f"expected at least {needed} columns as in the header, got {len(fields)}"
            )
        options = tuple(fields[i] for i in columns.options)
        subject = fields[columns.subject].strip() if columns.subject is not None else ""
        rows.append(
            SourceRow(
                line=line,
                stem=nonempty_stem(fields[columns.question], where),
                answer=answer_letter(fields[columns.answer], len(options), where),
                options=options,
                file_id=fields[columns.id] if columns.id is not None else None,
                subject=subject or file_subject,
            )
        )
    return rows
