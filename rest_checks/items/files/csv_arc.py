"""AI2's CSV release of ARC (``ARC-Challenge-Dev.csv``).

A header names the columns (``questionID``, ``AnswerKey``, ``question``, ``subject`` and
others, which are ignored). The options are inside the question text, each after a
label: ``... ramp? (A) Put the objects in groups. (B) Change the height ...``; labels are
``(A)``-``(E)`` or ``(1)``-``(4)``, and the answer key uses the same kind (``C``, ``E``
or ``2``).
"""

from __future__ import annotations

import re
from pathlib import Path

from rest_checks.items.base import OPTION_LETTERS
from rest_checks.items.files.csv_records import csv_records
from rest_checks.items.files.rows import MIN_OPTIONS, SourceRow, Where, label_letter

REQUIRED = ("questionid", "answerkey", "question")

_LABEL = re.compile(r"\((?P<label>[A-J]|10|[1-9])\)")


def is_arc_header(fields: list[str]) -> bool:
    names = {f.strip().lower() for f in fields}
    return all(name in names for name in REQUIRED)


def _chain(text: str, labels: list[str]) -> list[re.Match[str]] | None:
    """The markers ``(first) ... (second) ...`` in order, from the first ``(first)``."""
    found: list[re.Match[str]] = []
    position = 0
    for label in labels:
        match = next((m for m in _LABEL.finditer(text, position) if m["label"] == label), None)
        if match is None:
            break
        found.append(match)
        position = match.end()
    return found if len(found) >= MIN_OPTIONS else None


def split_inline_options(text: str, where: Where) -> tuple[str, tuple[str, ...], str]:
    """The stem, the options and the label kind (``"letter"`` or ``"number"``) of a
    question whose options follow it inline."""
    letters = _chain(text, list(OPTION_LETTERS))
    numbers = _chain(text, [str(i) for i in range(1, len(OPTION_LETTERS) + 1)])
    candidates = [(c, kind) for c, kind in ((letters, "letter"), (numbers, "number")) if c]
    if not candidates:
        raise where.error(
            "no inline options in the question: expected '(A) ... (B) ...' or '(1) ... (2) ...'"
        )
    # The options are the last part of the text: the chain that starts latest wins.
    markers, kind = max(candidates, key=lambda c: c[0][0].start())
    stem = text[: markers[0].start()]
    ends = [m.start() for m in markers[1:]] + [len(text)]
    options = tuple(text[m.end() : end] for m, end in zip(markers, ends, strict=True))
    if any(not option.strip() for option in options):
        raise where.error("an inline option is empty")
    return stem, options, kind


def read_arc_csv(path: Path, text: str) -> list[SourceRow]:
    rows: list[SourceRow] = []
    names: dict[str, int] | None = None
    for line, fields in csv_records(path, text):
        where = Where(path, line)
        if names is None:
            if not is_arc_header(fields):
                raise where.error(
                    "expected the ARC CSV header (questionID, ..., AnswerKey, ..., question, ...)"
                )
            names = {f.strip().lower(): i for i, f in enumerate(fields)}
            continue
        if len(fields) != len(names):
            raise where.error(f"expected {len(names)} columns like the header, got {len(fields)}")
        stem, options, kind = split_inline_options(fields[names["question"]], where)
        key = fields[names["answerkey"]].strip()
        if (kind == "number") != key.isdigit():
            raise where.error(f"answer key {key!r} does not match the {kind} labels of the options")
        answer = label_letter(key, where, "answer key")
        if answer not in OPTION_LETTERS[: len(options)]:
            raise where.error(f"answer key {key!r} is not among the {len(options)} options")
        subject = fields[names["subject"]].strip() if "subject" in names else ""
        rows.append(
            SourceRow(
                line=line,
                stem=stem,
                answer=answer,
                options=options,
                file_id=fields[names["questionid"]],
                subject=subject,
            )
        )
    return rows
