"""Multiple-choice records in JSON: one reader per published layout.

- ``rest-jsonl`` (this project's): ``{"id", "question", "options": [...], "answer": "B",
  "subject", "context"}``; ``id``, ``subject`` and ``context`` optional;
- ``arc-jsonl`` (AI2): ``{"id", "question": {"stem", "choices": [{"label", "text"}]},
  "answerKey"}``, labels ``A``-``E`` or ``1``-``5``;
- ``hf-mmlu`` (Hugging Face ``cais/mmlu``): ``{"question", "choices": [...],
  "answer": 0-based index (or a letter), "subject"}``;
- ``hf-arc`` (Hugging Face ``ai2_arc``): ``{"id", "question", "choices": {"text": [...],
  "label": [...]}, "answerKey"}``;
- ``mmlu-pro``: ``{"question_id", "question", "options": [up to 10], "answer_index",
  "category"}`` (its ``answer`` letter, when present, must agree).
"""

from __future__ import annotations

from typing import Any

from rest_checks.items.files.rows import (
    SourceRow,
    Where,
    answer_index,
    answer_letter,
    labelled_options,
    nonempty_stem,
    option_list,
    text_field,
)


def _require(record: dict[str, Any], keys: tuple[str, ...], where: Where) -> None:
    for key in keys:
        if key not in record:
            raise where.error(f"missing key {key!r}")


def _optional_text(record: dict[str, Any], key: str, where: Where) -> str:
    value = record.get(key)
    return "" if value is None else text_field(value, where, repr(key))


def _file_id(record: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        if record.get(key) is not None:
            return str(record[key])
    return None


def read_rest_record(record: dict[str, Any], where: Where) -> SourceRow:
    _require(record, ("question", "options", "answer"), where)
    stem = nonempty_stem(record["question"], where)
    context = _optional_text(record, "context", where)
    options = option_list(record["options"], where, "options")
    return SourceRow(
        line=where.line,
        stem=f"{context.strip()}\n\n{stem}" if context.strip() else stem,
        answer=answer_letter(record["answer"], len(options), where),
        options=options,
        file_id=_file_id(record, "id"),
        subject=_optional_text(record, "subject", where),
    )


def read_arc_record(record: dict[str, Any], where: Where) -> SourceRow:
    _require(record, ("question", "answerKey"), where)
    question = record["question"]
    if not isinstance(question, dict) or "stem" not in question or "choices" not in question:
        raise where.error("ARC 'question' must hold 'stem' and 'choices'")
    choices = question["choices"]
    if not isinstance(choices, list) or not all(
        isinstance(c, dict) and "label" in c and "text" in c for c in choices
    ):
        raise where.error("'choices' must be a list of {'label', 'text'} objects")
    options, answer = labelled_options(
        [c["label"] for c in choices], [c["text"] for c in choices], record["answerKey"], where
    )
    return SourceRow(
        line=where.line,
        stem=nonempty_stem(question["stem"], where, "question stem"),
        answer=answer,
        options=options,
        file_id=_file_id(record, "id"),
    )


def read_hf_mmlu_record(record: dict[str, Any], where: Where) -> SourceRow:
    _require(record, ("question", "choices", "answer"), where)
    options = option_list(record["choices"], where, "choices")
    answer = record["answer"]
    # Exports write the index (cais/mmlu's ClassLabel) or, now and then, its letter.
    letter_given = isinstance(answer, str) and answer.strip().isalpha()
    return SourceRow(
        line=where.line,
        stem=nonempty_stem(record["question"], where),
        answer=(
            answer_letter(answer, len(options), where)
            if letter_given
            else answer_index(answer, len(options), where, "answer")
        ),
        options=options,
        file_id=_file_id(record, "id"),
        subject=_optional_text(record, "subject", where),
    )


def read_hf_arc_record(record: dict[str, Any], where: Where) -> SourceRow:
    _require(record, ("question", "choices", "answerKey"), where)
    choices = record["choices"]
    if not isinstance(choices, dict) or not all(
        isinstance(choices.get(k), list) for k in ("text", "label")
    ):
        raise where.error("'choices' must be an object with lists 'text' and 'label'")
    options, answer = labelled_options(
        choices["label"], choices["text"], record["answerKey"], where
    )
    return SourceRow(
        line=where.line,
        stem=nonempty_stem(record["question"], where),
        answer=answer,
        options=options,
        file_id=_file_id(record, "id"),
    )


def read_mmlu_pro_record(record: dict[str, Any], where: Where) -> SourceRow:
    _require(record, ("question", "options", "answer_index"), where)
    options = option_list(record["options"], where, "options")
    answer = answer_index(record["answer_index"], len(options), where, "answer_index")
    if record.get("answer") is not None:
        letter = answer_letter(record["answer"], len(options), where)
        if letter != answer:
            raise where.error(
                f"'answer' {record['answer']!r} disagrees with 'answer_index' "
                f"{record['answer_index']!r} (option {answer})"
            )
    return SourceRow(
        line=where.line,
        stem=nonempty_stem(record["question"], where),
        answer=answer,
        options=options,
        file_id=_file_id(record, "question_id", "id"),
        subject=_optional_text(record, "category", where),
    )
