"""Arithmetic word problems: seeded generation, and reading a problem back from its text."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rest_checks.items.arith import (
    TEMPLATES,
    ArithTemplate,
    generate_arith,
    match_templates,
    solve_arith_text,
)
from rest_checks.items.soebench import generate_soebench


@pytest.fixture(scope="module")
def items():
    return generate_arith(120, seed=0)


def _mangle(text: str, rng: random.Random) -> str:
    """What a careless OCR does to layout: spaces dropped, doubled or turned into breaks,
    letters re-cased."""
    mangled = re.sub(r"\s+", lambda _: rng.choice(["", " ", "  ", "\n", " \n "]), text)
    return "".join(c.upper() if rng.random() < 0.3 else c.lower() for c in mangled)


def test_there_are_at_least_eight_templates_with_distinct_names():
    assert len(TEMPLATES) >= 8
    assert len({t.name for t in TEMPLATES}) == len(TEMPLATES)


def test_every_template_is_used_in_a_run_of_that_many_items():
    names = [
        item.source.rsplit("(", 1)[1].rstrip(")") for item in generate_arith(len(TEMPLATES), 5)
    ]
    assert sorted(names) == sorted(t.name for t in TEMPLATES)


def test_items_have_ids_task_type_and_a_positive_integer_answer(items):
    assert [item.id for item in items[:2]] == ["arith-0001", "arith-0002"]
    assert len({item.id for item in items}) == len(items)
    for item in items:
        assert item.task == "arith"
        assert item.answer_type == "number"
        assert item.options == ()
        assert re.fullmatch(r"[1-9]\d*", item.expected), item
        assert item.question.endswith("?")
        assert "?" not in item.context
        assert len(item.full_text()) < 400


def test_the_answer_follows_from_the_numbers_in_the_text(items):
    # Recompute with each template's own function from the numbers printed in the item.
    for item in items:
        template = next(t for t in TEMPLATES if item.source.endswith(f"({t.name})"))
        values = template.read(item.full_text())
        assert values is not None
        numbers = [int(x) for x in re.findall(r"\d+", item.full_text())]
        assert sorted(values.values()) == sorted(numbers)
        assert str(template.answer(values)) == item.expected


def test_solve_arith_text_recovers_the_answer_from_the_full_text(items):
    for item in items:
        assert solve_arith_text(item.full_text()) == item.expected, item


def test_solve_arith_text_recovers_the_answer_from_mangled_whitespace_and_case(items):
    rng = random.Random(0)
    for item in items:
        assert solve_arith_text(_mangle(item.full_text(), rng)) == item.expected, item


def test_exactly_one_template_matches_each_item(items):
    for item in items:
        assert len(match_templates(item.full_text())) == 1, item


def test_a_misread_number_changes_the_answer_it_reads():
    item = next(i for i in generate_arith(30, 2) if "library" in i.source)
    first = re.search(r"\d+", item.context)
    assert first is not None
    misread = item.full_text().replace(first.group(), str(int(first.group()) + 100), 1)
    assert solve_arith_text(misread) == str(int(item.expected) + 100)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "What is the capital of France?",
        "A library has many books. How many are left?",
    ],
)
def test_unmatched_text_gives_none(text):
    assert solve_arith_text(text) is None


def test_soebench_text_is_not_mistaken_for_a_word_problem():
    for item in generate_soebench(8, seed=0):
        assert solve_arith_text(item.full_text()) is None


def test_a_division_that_a_misread_makes_inexact_gives_none():
    item = next(i for i in generate_arith(40, 1) if "sharing" in i.source)
    friends = re.search(r"among (\d+) friends", item.context)
    assert friends is not None
    total = solve_arith_text(item.full_text())
    assert total is not None
    # Misread the number of friends as one that does not divide the cakes evenly.
    cakes = int(total) * int(friends.group(1))
    bad = next(k for k in range(2, 200) if cakes % k)
    misread = item.full_text().replace(f"among {friends.group(1)}", f"among {bad}")
    assert solve_arith_text(misread) is None


def test_same_seed_same_items_and_different_seed_different_items():
    assert generate_arith(24, seed=9) == generate_arith(24, seed=9)
    first = {i.full_text() for i in generate_arith(24, seed=9)}
    second = {i.full_text() for i in generate_arith(24, seed=10)}
    assert len(first & second) < 3


def test_a_longer_run_starts_with_the_items_of_a_shorter_one():
    assert generate_arith(30, seed=4)[:7] == generate_arith(7, seed=4)


def test_templates_that_could_not_be_read_back_are_rejected():
    adjacent = ArithTemplate(
        name="adjacent",
        story="A box holds {a}, {b} items.",
        question="How many?",
        numbers={"a": range(1, 5), "b": range(1, 5)},
        answer=lambda v: v["a"] + v["b"],
    )
    with pytest.raises(ValueError, match="numbers need words between them"):
        adjacent.check()
    repeated = ArithTemplate(
        name="repeated",
        story="A box holds {a} items and {a} more.",
        question="How many?",
        numbers={"a": range(1, 5)},
        answer=lambda v: 2 * v["a"],
    )
    with pytest.raises(ValueError, match="must occur once"):
        repeated.check()


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), mangle_seed=st.integers(0, 1000))
def test_any_seed_gives_items_that_read_back(seed, mangle_seed):
    rng = random.Random(mangle_seed)
    generated = generate_arith(len(TEMPLATES), seed)
    assert Counter(item.task for item in generated) == {"arith": len(TEMPLATES)}
    for item in generated:
        assert int(item.expected) > 0
        assert solve_arith_text(_mangle(item.full_text(), rng)) == item.expected
