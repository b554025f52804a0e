"""One item file (or a directory of MMLU CSVs) in, filtered ``Item`` records out.

The layout is detected (``detect``) unless named; each record is read by its layout's
reader, its texts normalised once (``normalise``), and the paper's filters applied
(``filters``). Item ids are the file's own ids (characters outside ``[A-Za-z0-9_.-]``
become ``_``) or, without one, ``<file stem>-<row number>``: the row number counts every
row, dropped ones included, so ids stay the same when the filters change.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rest_checks.items.base import Item
from rest_checks.items.files.detect import csv_layout, file_family, record_layout
from rest_checks.items.files.errors import ItemFileError
from rest_checks.items.files.filters import drop_reason
from rest_checks.items.files.json_records import json_records
from rest_checks.items.files.layouts import LAYOUTS, Layout, supported_layouts
from rest_checks.items.files.normalise import ControlCount, clean_item_text
from rest_checks.items.files.rows import SourceRow, Where

if TYPE_CHECKING:
    from rest_checks.results_document import Source

ID_CHARS = re.compile(r"[^A-Za-z0-9_.-]")
TASK_BY_TYPE = {"choice": "mcq", "number": "gsm"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


@dataclass
class LoadResult:
    """The items kept from a file and how many were dropped, by reason."""

    items: list[Item]
    dropped: dict[str, int] = field(default_factory=dict)
    path: str = ""
    # Item id -> subject, where the file says (a subject field, or the MMLU file name).
    subjects: dict[str, str] = field(default_factory=dict)
    layout: str = ""
    detected: bool = True
    control_chars: int = 0
    files: int = 1
    # How many of the kept items the run takes (``--rest-n``); ``None``: all of them.
    used: int | None = None

    @property
    def n_dropped(self) -> int:
        return sum(self.dropped.values())

    @property
    def message(self) -> str:
        """One line for people, e.g. ``"arc.csv (arc-csv, detected): kept 30 item(s),
        dropped 2 (too_long: 2); removed 1 control character(s)"``."""
        name = Path(self.path).name if self.path else "items"
        how = "detected" if self.detected else "--rest-format"
        files = f", {self.files} files" if self.files != 1 else ""
        text = f"{name} ({self.layout}, {how}{files}): kept {len(self.items)} item(s)"
        if self.dropped:
            reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.dropped.items()))
            text += f", dropped {self.n_dropped} ({reasons})"
        else:
            text += ", dropped 0"
        if self.control_chars:
            text += f"; removed {self.control_chars} control character(s)"
        if self.used is not None and self.used < len(self.items):
            text += f"; using {self.used}"
        return text

    def to_json(self) -> Source:
        return {
            "path": self.path,
            "layout": self.layout,
            "detected": self.detected,
            "files": self.files,
            "kept": len(self.items),
            "used": len(self.items) if self.used is None else self.used,
            "dropped": dict(sorted(self.dropped.items())),
            "control_chars_removed": self.control_chars,
        }


def read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ItemFileError(path, line, "not valid UTF-8 text") from None


def choose_layout(path: Path, text: str, layout: str | None) -> tuple[Layout, bool]:
    """The named layout, or the detected one; and whether it was detected."""
    if layout:
        if layout not in LAYOUTS:
            raise ItemFileError(path, None, f"unknown layout {layout!r}; {supported_layouts()}")
        return LAYOUTS[layout], False
    if file_family(path, text) == "csv":
        return LAYOUTS[csv_layout(path, text)], True
    return LAYOUTS["rest-jsonl"], True  # refined per record in _json_rows


def _json_rows(path: Path, text: str, named: Layout | None) -> tuple[list[SourceRow], Layout]:
    rows: list[SourceRow] = []
    layout = named
    for line, record in json_records(path, text):
        found = record_layout(record)
        if layout is None:
            if found is None:
                keys = ", ".join(sorted(record)) or "none"
                raise ItemFileError(
                    path, line, f"unknown layout (keys: {keys}); {supported_layouts()}"
                )
            layout = LAYOUTS[found]
        elif named is None and found != layout.name:
            raise ItemFileError(
                path,
                line,
                f"record in {found or 'an unknown'} layout in a file of {layout.name} layout "
                f"(detected from line {rows[0].line if rows else line})",
            )
        assert layout.read_record is not None
        rows.append(layout.read_record(record, Where(path, line)))
    return rows, layout or LAYOUTS["rest-jsonl"]


def read_rows(path: Path, layout: str | None = None) -> tuple[list[SourceRow], Layout, bool]:
    """A file's rows as its layout's reader gives them, unnormalised and unfiltered."""
    text = read_text(path)
    chosen, detected = choose_layout(path, text, layout)
    if chosen.family == "json":
        rows, chosen = _json_rows(path, text, None if detected else chosen)
        return rows, chosen, detected
    assert chosen.read_file is not None
    try:
        return chosen.read_file(path, text), chosen, detected
    except ItemFileError as error:
        # A detected CSV that fails on its first record is most likely another layout.
        if not detected or error.line != _first_record_line(text):
            raise
        raise ItemFileError(
            path, error.line, f"{error.reason} (read as {chosen.name}); {supported_layouts()}"
        ) from None


def _first_record_line(text: str) -> int:
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            return number
    return 1


def split_question(text: str) -> tuple[str, str]:
    """A word problem as (story, last sentence): the mixed modality draws the story."""
    boundaries = list(_SENTENCE_END.finditer(text))
    if not boundaries:
        return text, ""
    cut = boundaries[-1]
    return text[: cut.start()], text[cut.end() :]


def item_of(row: SourceRow, item_id: str, path: Path, count: ControlCount) -> Item:
    stem = clean_item_text(row.stem, count)
    if not stem:
        raise ItemFileError(path, row.line, "empty question")
    options = tuple(clean_item_text(o, count) for o in row.options)
    if any(not o for o in options):
        raise ItemFileError(path, row.line, "empty option")
    context, question = (stem, "") if row.answer_type == "choice" else split_question(stem)
    return Item(
        id=item_id,
        task=TASK_BY_TYPE[row.answer_type],
        context=context,
        question=question,
        expected=row.answer,
        answer_type=row.answer_type,
        options=options,
        source=f"{path}:{row.line}",
        subject=clean_item_text(row.subject),
    )


def _item_id(row: SourceRow, index: int, stem: str) -> str:
    if row.file_id is not None and row.file_id.strip():
        return ID_CHARS.sub("_", row.file_id.strip())
    return f"{ID_CHARS.sub('_', stem)}-{index:04d}"


def load_item_file(path: str | os.PathLike[str], layout: str | None = None) -> LoadResult:
    """Items of one file in any supported layout (``layout`` names one; else detected).

    Multiple-choice items have task ``"mcq"``, the stem as ``context``, an empty
    ``question``, the option texts and the answer letter. Free-answer items have task
    ``"gsm"``, the story as ``context``, its last sentence as ``question`` and a number.
    """
    file = Path(path)
    if not file.is_file():
        raise ItemFileError(file, None, "no such item file")
    rows, chosen, detected = read_rows(file, layout)
    count = ControlCount()
    result = LoadResult([], {}, str(file), {}, chosen.name, detected)
    first_line: dict[str, int] = {}
    for index, row in enumerate(rows, start=1):
        item_id = _item_id(row, index, file.stem)
        if item_id in first_line:
            raise ItemFileError(
                file,
                row.line,
                f"duplicate item id {item_id!r} (first on line {first_line[item_id]})",
            )
        first_line[item_id] = row.line
        item = item_of(row, item_id, file, count)
        reason = drop_reason(item)
        if reason is not None:
            result.dropped[reason] = result.dropped.get(reason, 0) + 1
            continue
        result.items.append(item)
        if item.subject:
            result.subjects[item_id] = item.subject
    result.control_chars = count.removed
    return result
