"""Replies written in the styles of real model families, each with the answer a careful
reader takes from it (``tests/data/replies.jsonl``).

One JSON object per line: ``reply``, ``answer_type``, ``expected`` (the canonical answer,
or null where the reply must stay unanswered: no final line, a refusal, two different
answers) and ``style`` (the model family whose writing it imitates). Every line is a test;
the counts below keep the corpus from shrinking unnoticed.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rest_checks.answers import canonicalize, extract_answer
from rest_checks.items.base import ANSWER_TYPES

CORPUS = Path(__file__).resolve().parents[1] / "data" / "replies.jsonl"
STYLES = {"qwen-vl", "llava", "internvl", "gpt", "claude", "gemini"}
FIELDS = {"reply", "answer_type", "expected", "style"}


def _load() -> list[tuple[int, dict[str, Any]]]:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [(number, json.loads(line)) for number, line in enumerate(lines, 1) if line.strip()]


ENTRIES = _load()


@pytest.mark.parametrize(
    "entry", [e for _, e in ENTRIES], ids=[f"line-{n}-{e['style']}" for n, e in ENTRIES]
)
def test_the_reply_reads_as_expected(entry: dict[str, Any]) -> None:
    found = extract_answer(entry["reply"], entry["answer_type"])
    assert found.answer == entry["expected"], entry["reply"]
    assert (found.rule is None) == (found.answer is None)


def test_every_line_is_a_well_formed_entry() -> None:
    for number, entry in ENTRIES:
        assert set(entry) == FIELDS, f"line {number}: fields {sorted(entry)}"
        assert entry["answer_type"] in ANSWER_TYPES, f"line {number}"
        assert entry["style"] in STYLES, f"line {number}: unknown style {entry['style']!r}"
        assert isinstance(entry["reply"], str) and entry["reply"], f"line {number}"
        expected = entry["expected"]
        if expected is not None:
            # An expected answer is written in canonical form.
            assert canonicalize(expected, entry["answer_type"]) == expected, f"line {number}"


def test_no_reply_is_there_twice() -> None:
    replies = Counter(entry["reply"] for _, entry in ENTRIES)
    assert [r for r, count in replies.items() if count > 1] == []


def test_the_corpus_keeps_its_size_and_spread() -> None:
    assert len(ENTRIES) >= 150
    per_style = Counter(entry["style"] for _, entry in ENTRIES)
    assert set(per_style) == STYLES
    assert min(per_style.values()) >= 25, per_style
    per_style_and_type = Counter((e["style"], e["answer_type"]) for _, e in ENTRIES)
    for style in STYLES:
        for answer_type in ANSWER_TYPES:
            assert per_style_and_type[style, answer_type] >= 8, (style, answer_type)
    unanswered = Counter(e["answer_type"] for _, e in ENTRIES if e["expected"] is None)
    answered = Counter(e["answer_type"] for _, e in ENTRIES if e["expected"] is not None)
    for answer_type in ANSWER_TYPES:
        assert unanswered[answer_type] >= 10, answer_type
        assert answered[answer_type] >= 40, answer_type
