"""Every case of a run as one CSV row (``--rest-csv``), for a spreadsheet or a dataframe.

Answers are the parsed, canonical ones (a letter, a number, a solution); ``rule_*`` says
which reading rule found each, or why there is none (``ambiguous``, ``truncated``); the raw
replies stay in the results JSON.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from rest_checks.atomic import write_atomic
from rest_checks.case_rows import case_rows
from rest_checks.modalities import ANSWER_MODALITIES
from rest_checks.results_document import ResultsDocument

COLUMNS = (
    ["case", "item", "task", "rendering", "verdict", "expected"]
    + [f"answer_{m}" for m in ANSWER_MODALITIES]
    + [f"correct_{m}" for m in ANSWER_MODALITIES]
    + [f"rule_{m}" for m in ANSWER_MODALITIES]
    + ["ocr_cer", "error"]
)


def csv_text(results: ResultsDocument) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in case_rows(results):
        writer.writerow(
            [row.key, row.item_id, row.task, row.rendering, row.verdict, row.expected]
            + [row.answers.get(m) or "" for m in ANSWER_MODALITIES]
            + [
                "" if row.error else str(bool(row.correct.get(m))).lower()
                for m in ANSWER_MODALITIES
            ]
            + [row.rules.get(m) or "" for m in ANSWER_MODALITIES]
            + ["" if row.ocr_cer is None else f"{row.ocr_cer:.4f}", row.error or ""]
        )
    return out.getvalue()


def write_csv(path: Path, results: ResultsDocument) -> None:
    write_atomic(path, csv_text(results))
