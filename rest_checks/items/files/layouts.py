"""The supported file layouts: name, what it looks like, and its reader.

``--rest-format NAME`` picks one by name; otherwise ``detect`` chooses from the file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rest_checks.items.files.csv_arc import read_arc_csv
from rest_checks.items.files.csv_mmlu import read_mmlu_csv
from rest_checks.items.files.json_choice import (
    read_arc_record,
    read_hf_arc_record,
    read_hf_mmlu_record,
    read_mmlu_pro_record,
    read_rest_record,
)
from rest_checks.items.files.json_number import read_gsm_record
from rest_checks.items.files.rows import SourceRow, Where

FileReader = Callable[[Path, str], list[SourceRow]]
RecordReader = Callable[[dict[str, Any], Where], SourceRow]


@dataclass(frozen=True)
class Layout:
    name: str
    family: Literal["csv", "json"]
    what: str
    example: str
    read_file: FileReader | None = None
    read_record: RecordReader | None = None


LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        Layout(
            "mmlu-csv",
            "csv",
            "MMLU CSV/TSV: question, options, answer letter; header optional",
            '"Which gas do plants take in?",Oxygen,Carbon dioxide,Nitrogen,Helium,B',
            read_file=read_mmlu_csv,
        ),
        Layout(
            "arc-csv",
            "csv",
            "AI2's ARC CSV release: options inline in the question",
            "questionID,originalQuestionID,totalPossiblePoint,AnswerKey,...,question,subject,category",
            read_file=read_arc_csv,
        ),
        Layout(
            "rest-jsonl",
            "json",
            "this project's JSONL",
            '{"id": "q1", "question": "...", "options": ["...", "..."], "answer": "B"}',
            read_record=read_rest_record,
        ),
        Layout(
            "arc-jsonl",
            "json",
            "AI2's ARC JSONL",
            '{"id": "...", "question": {"stem": "...", "choices": [{"label": "A", '
            '"text": "..."}]}, "answerKey": "A"}',
            read_record=read_arc_record,
        ),
        Layout(
            "hf-mmlu",
            "json",
            "Hugging Face cais/mmlu rows",
            '{"question": "...", "choices": ["...", "...", "...", "..."], "answer": 2, '
            '"subject": "..."}',
            read_record=read_hf_mmlu_record,
        ),
        Layout(
            "hf-arc",
            "json",
            "Hugging Face ai2_arc rows",
            '{"id": "...", "question": "...", "choices": {"text": ["..."], "label": ["A"]}, '
            '"answerKey": "A"}',
            read_record=read_hf_arc_record,
        ),
        Layout(
            "mmlu-pro",
            "json",
            "MMLU-Pro rows, up to 10 options",
            '{"question_id": 1, "question": "...", "options": ["...", "..."], "answer_index": 3}',
            read_record=read_mmlu_pro_record,
        ),
        Layout(
            "gsm8k",
            "json",
            "GSM8K / GSM-Symbolic free-answer rows",
            '{"question": "...", "answer": "worked solution ... #### 42"}',
            read_record=read_gsm_record,
        ),
    )
}

LAYOUT_NAMES: tuple[str, ...] = tuple(LAYOUTS)


def supported_layouts() -> str:
    """Every layout with an example line, for error messages."""
    return "supported layouts (--rest-format NAME):\n" + "\n".join(
        f"  {layout.name}: {layout.what}, e.g.\n      {layout.example}"
        for layout in LAYOUTS.values()
    )
