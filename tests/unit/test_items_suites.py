"""Suites: task sources by name or path, counts, seeds and unique ids."""

from __future__ import annotations

import json
import re

import pytest

from rest_checks.items import SUITE_NAMES, builtin_mcq, load_suite
from rest_checks.items.suites import DEFAULT_GENERATED_N


def _own_file(path, count):
    lines = [
        json.dumps({"question": f"File question {i}?", "options": ["x", "y"], "answer": "A"})
        for i in range(count)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_suite_names():
    assert SUITE_NAMES == ("soebench", "arith", "mcq")


def test_named_sources_give_n_items_each_in_order():
    items = load_suite(["soebench", "arith", "mcq"], 4, 0)
    assert [item.task for item in items] == ["soebench"] * 4 + ["arith"] * 4 + ["mcq"] * 4
    assert [item.id for item in items[:4]] == [f"soebench-{i:04d}" for i in range(1, 5)]


def test_builtin_sample_is_seeded_sorted_and_nested():
    five = [item.id for item in load_suite(["mcq"], 5, 3)]
    assert five == sorted(five)
    assert five == [item.id for item in load_suite(["mcq"], 5, 3)]
    assert set(five) <= {item.id for item in load_suite(["mcq"], 9, 3)}
    other_seeds = {tuple(i.id for i in load_suite(["mcq"], 5, s)) for s in range(1, 6)}
    assert len(other_seeds) > 1


def test_all_items_when_n_is_zero_or_negative(tmp_path):
    assert len(load_suite(["mcq"], 0, 0)) == len(builtin_mcq())
    path = _own_file(tmp_path / "mine.jsonl", 7)
    assert len(load_suite([str(path)], -1, 0)) == 7
    assert len(load_suite(["arith"], 0, 0)) == DEFAULT_GENERATED_N


def test_a_file_source_gives_its_first_n_items(tmp_path):
    path = _own_file(tmp_path / "mine.jsonl", 7)
    items = load_suite([str(path)], 3, 0)
    assert [item.id for item in items] == ["mine-0001", "mine-0002", "mine-0003"]


def test_unknown_source_says_what_is_accepted():
    with pytest.raises(ValueError) as error:
        load_suite(["gsm8k"], 3, 0)
    message = str(error.value)
    assert "'gsm8k'" in message
    for name in SUITE_NAMES:
        assert name in message
    assert re.search(r"path", message)


def test_duplicate_ids_across_sources_are_refused(tmp_path):
    with pytest.raises(ValueError, match="duplicate item id 'arith-0001'"):
        load_suite(["arith", "arith"], 2, 0)
    clash = tmp_path / "clash.jsonl"
    clash.write_text(
        json.dumps({"id": "mcq-0001", "question": "q?", "options": ["a", "b"], "answer": "A"})
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="mcq-0001"):
        load_suite(["mcq", str(clash)], 0, 0)


def test_a_file_whose_items_are_all_dropped_is_an_error(tmp_path):
    path = tmp_path / "maths.jsonl"
    path.write_text(
        json.dumps({"question": "Is $x^2$ positive?", "options": ["yes", "no"], "answer": "A"})
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"no items.*latex: 1"):
        load_suite([str(path)], 5, 0)


def test_a_malformed_file_error_reaches_the_caller(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "q?"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1: unknown layout \(keys: question\)"):
        load_suite([str(path)], 5, 0)


def test_ids_in_a_suite_are_unique_and_pytest_friendly():
    items = load_suite(list(SUITE_NAMES), 30, 11)
    ids = [item.id for item in items]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+", i) for i in ids)
