"""Replies written in the styles of real model families, each with the answer a careful
reader takes from it (``tests/data/replies.jsonl``).

One JSON object per line: ``reply``, ``answer_type``, ``expected`` (the canonical answer,
or null where the reply must stay unanswered: no final line, a refusal, two different
answers) and ``style`` (the model family whose writing it imitates); optionally ``mode``
(``"lenient"``: read with ``--rest-extract lenient``; strict otherwise), ``options`` (a
multiple-choice item's option texts, given to the reader) and ``ambiguous`` (true: a letter
that contradicts the option it quotes). Every line is a test; the counts below keep the
corpus from shrinking unnoticed.
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
OPTIONAL_FIELDS = {"mode", "options", "ambiguous"}


def _load() -> list[tuple[int, dict[str, Any]]]:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [(number, json.loads(line)) for number, line in enumerate(lines, 1) if line.strip()]


ENTRIES = _load()


@pytest.mark.parametrize(
    "entry", [e for _, e in ENTRIES], ids=[f"line-{n}-{e['style']}" for n, e in ENTRIES]
)
def test_the_reply_reads_as_expected(entry: dict[str, Any]) -> None:
    found = extract_answer(
        entry["reply"],
        entry["answer_type"],
        lenient=entry.get("mode") == "lenient",
        options=entry.get("options", ()),
    )
    assert found.answer == entry["expected"], entry["reply"]
    assert (found.rule is None) == (found.answer is None)
    assert found.ambiguous == entry.get("ambiguous", False)


@pytest.mark.parametrize(
    "entry",
    [e for _, e in ENTRIES if e.get("mode") != "lenient" and e["expected"] is not None],
    ids=[f"line-{n}" for n, e in ENTRIES if e.get("mode") != "lenient" and e["expected"]],
)
def test_lenient_mode_reads_what_strict_mode_reads(entry: dict[str, Any]) -> None:
    found = extract_answer(
        entry["reply"], entry["answer_type"], lenient=True, options=entry.get("options", ())
    )
    assert found.answer == entry["expected"], entry["reply"]


def test_every_line_is_a_well_formed_entry() -> None:
    for number, entry in ENTRIES:
        assert FIELDS <= set(entry) <= FIELDS | OPTIONAL_FIELDS, f"line {number}: {sorted(entry)}"
        assert entry.get("mode", "strict") in ("strict", "lenient"), f"line {number}"
        if "options" in entry:
            assert entry["answer_type"] == "choice", f"line {number}"
            assert all(isinstance(o, str) and o for o in entry["options"]), f"line {number}"
        if entry.get("ambiguous"):
            assert entry["expected"] is None, f"line {number}"
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
    assert len(ENTRIES) >= 230
    assert sum(e.get("mode") == "lenient" for _, e in ENTRIES) >= 10
    assert sum("options" in e for _, e in ENTRIES) >= 7
    assert sum(bool(e.get("ambiguous")) for _, e in ENTRIES) >= 2
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
