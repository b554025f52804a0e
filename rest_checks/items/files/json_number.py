"""Free-answer records: GSM8K and GSM-Symbolic, ``{"question", "answer": "... #### 42"}``.

The final answer is what follows the last ``####``, thousands separators removed; the
worked solution before it is dropped and never reaches a model. GSM-Symbolic's extra
fields (``id``, ``instance``, ``original_id``...) are kept only as the item id.
"""

from __future__ import annotations

from typing import Any

from rest_checks.items.files.rows import (
    SourceRow,
    Where,
    canonical_number,
    nonempty_stem,
    text_field,
)

FINAL_MARK = "####"


def read_gsm_record(record: dict[str, Any], where: Where) -> SourceRow:
    for key in ("question", "answer"):
        if key not in record:
            raise where.error(f"missing key {key!r}")
    solution = text_field(record["answer"], where, "'answer'")
    if FINAL_MARK not in solution:
        raise where.error(f"'answer' has no final answer after {FINAL_MARK!r}")
    final = solution.rsplit(FINAL_MARK, 1)[1]
    file_id = None
    if record.get("id") is not None:
        file_id = str(record["id"])
        if record.get("instance") is not None:
            file_id += f"-{record['instance']}"
    return SourceRow(
        line=where.line,
        stem=nonempty_stem(record["question"], where),
        answer=canonical_number(final, where, "final answer"),
        answer_type="number",
        file_id=file_id,
    )
