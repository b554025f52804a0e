"""JSON objects with the line each starts on: JSON Lines, or one JSON array of objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rest_checks.items.files.errors import ItemFileError

_DECODER = json.JSONDecoder()
_SPACE = " \t\r\n"


def json_records(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    """``(line, object)`` for every record; a file starting with ``[`` is one array."""
    if text.lstrip(_SPACE).startswith("["):
        return _array_records(path, text)
    return _line_records(path, text)


def _line_records(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    records = []
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ItemFileError(path, number, f"invalid JSON: {error.msg}") from None
        if not isinstance(record, dict):
            raise ItemFileError(path, number, "each line must be a JSON object")
        records.append((number, record))
    return records


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _array_records(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    # Walk the array element by element, so each object keeps the line it starts on.
    records = []
    position = text.index("[") + 1
    while True:
        position = _skip_space(text, position)
        if position < len(text) and text[position] == "]":
            break
        try:
            record, end = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise ItemFileError(
                path, _line_of(text, error.pos), f"invalid JSON: {error.msg}"
            ) from None
        if not isinstance(record, dict):
            raise ItemFileError(
                path, _line_of(text, position), "each array element must be a JSON object"
            )
        records.append((_line_of(text, position), record))
        position = _skip_space(text, end)
        if position < len(text) and text[position] == ",":
            position += 1
        elif position < len(text) and text[position] == "]":
            break
        else:
            raise ItemFileError(path, _line_of(text, position), "invalid JSON: expected ',' or ']'")
    if text[position + 1 :].strip(_SPACE):
        raise ItemFileError(
            path, _line_of(text, position + 1), "invalid JSON: text after the array"
        )
    return records


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in _SPACE:
        position += 1
    return position
