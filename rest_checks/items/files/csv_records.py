"""CSV and TSV records with the line each starts on (quoted fields may span lines)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from rest_checks.items.files.errors import ItemFileError

# Some published questions (whole law cases) are longer than the csv module's default.
csv.field_size_limit(1 << 24)


def csv_records(path: Path, text: str, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """``(line, fields)`` for every record that is not blank; ``line`` is 1-based."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next_line = 1
    while True:
        line = next_line
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ItemFileError(path, line, f"bad CSV: {error}") from None
        next_line = reader.line_num + 1
        if fields and any(f.strip() for f in fields):
            yield line, fields


def first_record(text: str, delimiter: str) -> list[str]:
    """The first non-blank record, or ``[]``; never raises (used to detect layouts)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for fields in reader:
            if fields and any(f.strip() for f in fields):
                return fields
    except csv.Error:
        return []
    return []


def sniff_delimiter(path: Path, text: str) -> str:
    """Tab for ``.tsv`` files and for files whose first record splits into more fields
    by tabs than by commas; comma otherwise."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    first_line = text.split("\n", 1)[0]
    if "\t" in first_line and len(first_record(text, "\t")) > len(first_record(text, ",")):
        return "\t"
    return ","
