"""Multiple-choice items from local files, filtered like the paper's MMLU and ARC subsets.

Three layouts are read, chosen by extension and content:

- **MMLU CSV** (``.csv``): no header, one question per row:
  ``question, option A, option B, option C, option D, answer letter``. A header row whose
  last column is ``answer`` is skipped. Quoted fields may span lines.
- **ARC JSONL**: ``{"id", "question": {"stem", "choices": [{"label", "text"}]},
  "answerKey"}``; labels ``1``-``n`` or ``A``-``E`` become letters.
- **Our JSONL** (``.jsonl``, one object per line)::

      {"id": "geo-1", "question": "Which river ...?", "options": ["...", "..."],
       "answer": "B", "subject": "geography", "context": "optional passage"}

  ``id``, ``subject`` and ``context`` are optional; ``answer`` is an option letter.

Items whose ``full_text()`` is longer than 800 characters or that hold LaTeX are dropped
(LaTeX first, then length) and counted in ``LoadResult.dropped``. A malformed row raises
``ItemFileError`` naming the file and the 1-based line where the row starts.

Item ids are the file's own ids (characters outside ``[A-Za-z0-9_.-]`` become ``_``) or,
without one, ``<file stem>-<row number>`` (``mmlu_test-0007``): the row number counts
every row, dropped ones included, so ids stay the same when the filters change.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rest_checks.items.base import OPTION_LETTERS, Item

MAX_CHARS = 800
ID_CHARS = re.compile(r"[^A-Za-z0-9_.-]")

# Commands and delimiters that mark LaTeX maths. A bare dollar sign is money ("$5 and
# $10"), so ``$...$`` counts only when it reads like maths (see _looks_like_inline_math).
_TEX_COMMAND = re.compile(
    r"\\(?:frac|dfrac|tfrac|sqrt|begin|end|left|right|times|cdot|cdots|ldots|dots|div|pm|mp"
    r"|le|ge|leq|geq|neq|ne|approx|equiv|sim|infty|sum|prod|int|lim|log|ln|sin|cos|tan"
    r"|alpha|beta|gamma|delta|epsilon|varepsilon|theta|lambda|mu|nu|pi|rho|sigma|tau|phi"
    r"|varphi|chi|psi|omega|Gamma|Delta|Theta|Lambda|Pi|Sigma|Phi|Psi|Omega|mathbf|mathrm"
    r"|mathbb|mathcal|text|textbf|textit|operatorname|overline|underline|hat|bar|vec|dot"
    r"|binom|choose|rightarrow|leftarrow|Rightarrow|Leftarrow|leftrightarrow|to|in|notin"
    r"|subset|subseteq|cup|cap|forall|exists|neg|wedge|vee|oplus|otimes|partial|nabla"
    r"|quad|qquad|displaystyle|mid|circ|angle|perp|parallel|triangle)(?![A-Za-z])"
)
_TEX_DELIMITER = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$")
_INLINE_MATH = re.compile(r"\$(?=\S)([^$\n]{1,200}?)(?<=\S)\$")


class ItemFileError(ValueError):
    """A malformed item file: says which file, which line (1-based) and what was wrong."""

    def __init__(self, path: str | os.PathLike[str], line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {reason}")


@dataclass
class LoadResult:
    """The items kept from a file and how many were dropped, by reason."""

    items: list[Item]
    dropped: dict[str, int] = field(default_factory=dict)
    path: str = ""
    # Item id -> subject, where the file says (our JSONL "subject", or the MMLU file stem).
    subjects: dict[str, str] = field(default_factory=dict)

    @property
    def n_dropped(self) -> int:
        return sum(self.dropped.values())

    @property
    def message(self) -> str:
        """One line for people: ``"mmlu.csv: kept 40 items, dropped 3 (latex: 1, ...)"``."""
        name = Path(self.path).name if self.path else "items"
        text = f"{name}: kept {len(self.items)} item(s)"
        if self.dropped:
            reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.dropped.items()))
            text += f", dropped {self.n_dropped} ({reasons})"
        return text


def _looks_like_inline_math(body: str) -> bool:
    if re.search(r"[\\^_{}]", body):
        return True
    # "$x$", "$x + 1$", "$f(x)$": starts with a letter or bracket, unlike an amount "$5 ...".
    return not re.match(r"[\d.,]", body)


def has_latex(text: str) -> bool:
    """Whether ``text`` holds LaTeX maths: ``$...$``, ``\\(``, ``\\[``, ``\\frac``..."""
    if _TEX_DELIMITER.search(text) or _TEX_COMMAND.search(text):
        return True
    return any(_looks_like_inline_math(m.group(1)) for m in _INLINE_MATH.finditer(text))


def drop_reason(item: Item) -> str | None:
    """Why the paper's filter drops ``item`` (``"latex"`` or ``"too_long"``), or ``None``."""
    text = item.full_text()
    if has_latex(text):
        return "latex"
    if len(text) > MAX_CHARS:
        return "too_long"
    return None


def _letter(value: Any, n_options: int, path: Path, line: int, what: str = "answer") -> str:
    letter = value.strip().upper() if isinstance(value, str) else None
    valid = OPTION_LETTERS[:n_options]
    if not letter or len(letter) != 1 or letter not in OPTION_LETTERS:
        raise ItemFileError(path, line, f"bad {what} {value!r}: expected one letter of {valid}")
    if letter not in valid:
        raise ItemFileError(
            path, line, f"{what} {letter!r} is not among the {n_options} options ({valid})"
        )
    return letter


def _text(value: Any, path: Path, line: int, what: str) -> str:
    if not isinstance(value, str):
        raise ItemFileError(path, line, f"{what} must be a string, got {type(value).__name__}")
    return value.strip()


@dataclass
class _Row:
    line: int
    file_id: str | None
    stem: str
    options: list[str]
    answer: str
    subject: str = ""


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ItemFileError(path, line, "not valid UTF-8 text") from None


def _csv_rows(path: Path, text: str) -> list[_Row]:
    rows: list[_Row] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    subject = path.stem
    for suffix in ("_test", "_dev", "_val", "_train"):
        subject = subject.removesuffix(suffix)
    next_line = 1
    while True:
        line = next_line
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise ItemFileError(path, line, f"bad CSV: {error}") from None
        next_line = reader.line_num + 1
        if not fields or all(not f.strip() for f in fields):
            continue
        if not rows and len(fields) == 6 and fields[5].strip().lower() == "answer":
            continue  # a header row
        if len(fields) != 6:
            raise ItemFileError(
                path,
                line,
                f"expected 6 columns (question, A, B, C, D, answer letter), got {len(fields)}",
            )
        stem = fields[0].strip()
        if not stem:
            raise ItemFileError(path, line, "empty question")
        options = [f.strip() for f in fields[1:5]]
        rows.append(_Row(line, None, stem, options, _letter(fields[5], 4, path, line), subject))
    return rows


def _arc_row(record: dict[str, Any], path: Path, line: int) -> _Row:
    question = record["question"]
    if not isinstance(question, dict) or "stem" not in question or "choices" not in question:
        raise ItemFileError(path, line, "ARC 'question' must hold 'stem' and 'choices'")
    choices = question["choices"]
    if not isinstance(choices, list) or not 2 <= len(choices) <= len(OPTION_LETTERS):
        raise ItemFileError(
            path, line, f"'choices' must be a list of 2 to {len(OPTION_LETTERS)} options"
        )
    labelled: dict[str, str] = {}
    for choice in choices:
        if not isinstance(choice, dict) or "label" not in choice or "text" not in choice:
            raise ItemFileError(path, line, "each choice needs a 'label' and a 'text'")
        label = _arc_label(choice["label"], path, line)
        if label in labelled:
            raise ItemFileError(path, line, f"choice label {choice['label']!r} appears twice")
        labelled[label] = _text(choice["text"], path, line, "choice text")
    letters = "".join(sorted(labelled))
    if letters != OPTION_LETTERS[: len(letters)]:
        raise ItemFileError(path, line, f"choice labels must run from A without gaps: {letters}")
    if "answerKey" not in record:
        raise ItemFileError(path, line, "missing key 'answerKey'")
    key = record["answerKey"]
    answer = _arc_label(key, path, line, "answerKey")
    if answer not in labelled:
        raise ItemFileError(path, line, f"answerKey {key!r} is not among the choice labels")
    stem = _text(question["stem"], path, line, "question stem")
    if not stem:
        raise ItemFileError(path, line, "empty question stem")
    file_id = record.get("id")
    ordered = [labelled[letter] for letter in letters]
    return _Row(line, _file_id(file_id), stem, ordered, answer)


def _file_id(value: Any) -> str | None:
    return None if value is None else str(value)


def _arc_label(value: Any, path: Path, line: int, what: str = "choice label") -> str:
    label = str(value).strip().upper() if isinstance(value, (str, int)) else ""
    if label.isdigit() and 1 <= int(label) <= len(OPTION_LETTERS):
        return OPTION_LETTERS[int(label) - 1]
    if len(label) == 1 and label in OPTION_LETTERS:
        return label
    raise ItemFileError(path, line, f"bad {what} {value!r}: expected A-J or 1-10")


def _own_row(record: dict[str, Any], path: Path, line: int) -> _Row:
    for key in ("question", "options", "answer"):
        if key not in record:
            raise ItemFileError(path, line, f"missing key {key!r}")
    stem = _text(record["question"], path, line, "'question'")
    context = _text(record.get("context", ""), path, line, "'context'")
    if not stem:
        raise ItemFileError(path, line, "empty question")
    raw_options = record["options"]
    if not isinstance(raw_options, list) or not 2 <= len(raw_options) <= len(OPTION_LETTERS):
        raise ItemFileError(
            path, line, f"'options' must be a list of 2 to {len(OPTION_LETTERS)} strings"
        )
    options = [_text(o, path, line, "each option") for o in raw_options]
    answer = _letter(record["answer"], len(options), path, line)
    subject = _text(record.get("subject", ""), path, line, "'subject'")
    file_id = record.get("id")
    full_stem = f"{context}\n\n{stem}" if context else stem
    return _Row(line, _file_id(file_id), full_stem, options, answer, subject)


def _jsonl_rows(path: Path, text: str) -> list[_Row]:
    rows: list[_Row] = []
    layout: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ItemFileError(path, number, f"invalid JSON: {error.msg}") from None
        if not isinstance(record, dict):
            raise ItemFileError(path, number, "each line must be a JSON object")
        row_layout = "arc" if isinstance(record.get("question"), dict) else "own"
        if layout is None:
            layout = row_layout
        elif row_layout != layout:
            raise ItemFileError(
                path, number, f"row in {row_layout} layout in a file of {layout} layout"
            )
        if "question" not in record:
            raise ItemFileError(path, number, "missing key 'question'")
        reader = _arc_row if layout == "arc" else _own_row
        rows.append(reader(record, path, number))
    return rows


def detect_layout(path: str | os.PathLike[str]) -> str:
    """``"csv"`` (MMLU) or ``"jsonl"`` (ARC or ours), by extension, else by content."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    head = _read_text(Path(path)).lstrip()
    return "jsonl" if head.startswith("{") else "csv"


def _item_id(row: _Row, index: int, stem: str) -> str:
    if row.file_id is not None and row.file_id.strip():
        return ID_CHARS.sub("_", row.file_id.strip())
    return f"{ID_CHARS.sub('_', stem)}-{index:04d}"


def load_mcq_file(path: str | os.PathLike[str]) -> LoadResult:
    """Multiple-choice items from an MMLU CSV, ARC JSONL or our JSONL file.

    Items have task ``"mcq"``, the stem as ``context``, an empty ``question``, the option
    texts in ``options`` and the answer letter as ``expected``.
    """
    file = Path(path)
    if not file.is_file():
        raise ItemFileError(file, None, "no such item file")
    text = _read_text(file)
    rows = _csv_rows(file, text) if detect_layout(file) == "csv" else _jsonl_rows(file, text)
    items: list[Item] = []
    dropped: dict[str, int] = {}
    subjects: dict[str, str] = {}
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
        item = Item(
            id=item_id,
            task="mcq",
            context=row.stem,
            question="",
            expected=row.answer,
            answer_type="choice",
            options=tuple(row.options),
            source=f"{file}:{row.line}",
        )
        reason = drop_reason(item)
        if reason is not None:
            dropped[reason] = dropped.get(reason, 0) + 1
            continue
        items.append(item)
        if row.subject:
            subjects[item_id] = row.subject
    return LoadResult(items, dropped, str(file), subjects)
