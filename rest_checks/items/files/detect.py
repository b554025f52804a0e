"""Which layout a file is in, from its extension, its header or its first record's keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rest_checks.items.files.csv_arc import is_arc_header
from rest_checks.items.files.csv_records import first_record, sniff_delimiter
from rest_checks.items.files.json_number import FINAL_MARK

CSV_SUFFIXES = (".csv", ".tsv")
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")


def file_family(path: Path, text: str) -> str:
    """``"csv"`` or ``"json"``: by extension, else by the first character."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in JSON_SUFFIXES:
        return "json"
    return "json" if text.lstrip()[:1] in ("{", "[") else "csv"


def csv_layout(path: Path, text: str) -> str:
    return (
        "arc-csv" if is_arc_header(first_record(text, sniff_delimiter(path, text))) else "mmlu-csv"
    )


def record_layout(record: dict[str, Any]) -> str | None:
    """The JSON layout a record is in, or ``None`` when it fits none."""
    question = record.get("question")
    choices = record.get("choices")
    if isinstance(question, dict):
        return "arc-jsonl"
    if isinstance(choices, dict):
        return "hf-arc"
    if isinstance(choices, list):
        return "hf-mmlu"
    if "options" in record:
        return "mmlu-pro" if "answer_index" in record else "rest-jsonl"
    answer = record.get("answer")
    if isinstance(question, str) and isinstance(answer, str) and FINAL_MARK in answer:
        return "gsm8k"
    return None
