"""A generator asked for more distinct items than it can make refuses at once, naming the
largest count it can make; up to that count it makes them all, each once."""

from __future__ import annotations

import time

import pytest

from rest_checks.items import arith
from rest_checks.items.arith import ArithTemplate, generate_arith, largest_arith_n


@pytest.mark.parametrize("seed", [0, 7])
def test_arith_makes_the_largest_count_it_names_and_refuses_one_more(seed: int) -> None:
    started = time.monotonic()
    largest = largest_arith_n(10**6, seed)
    assert largest is not None
    assert largest_arith_n(largest, seed) is None
    items = generate_arith(largest, seed)
    assert len({item.context + item.question for item in items}) == largest
    with pytest.raises(ValueError, match=rf"allow at most {largest} \(use --rest-n {largest}"):
        generate_arith(largest + 1, seed)
    with pytest.raises(ValueError, match=rf"at most {largest}"):
        generate_arith(50 * largest, seed)
    assert time.monotonic() - started < 10


def test_a_template_counts_its_distinct_texts() -> None:
    template = ArithTemplate(
        name="few",
        story="{name} has {a} {item} and {other} has {b} more.",
        question="How many {item} does {other} have?",
        numbers={"a": range(1, 4), "b": range(1, 3)},
        answer=lambda v: v["a"] + v["b"],
        valid=lambda v: v["a"] != 2,  # drops a third of the value sets
    )
    wordings = 20 * 19 * 7  # name, another name, item
    assert template.distinct_texts(10**9) == 2 * 2 * wordings
    assert template.distinct_texts(100) == 100  # counting stops at what is asked


def test_the_smallest_template_limits_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    tiny = ArithTemplate(
        name="tiny",
        story="{name} has {a} {item}.",
        question="How many {item} does {name} have?",
        numbers={"a": range(1, 3)},
        answer=lambda v: v["a"],
    )
    templates = (*arith.TEMPLATES[:2], tiny)
    monkeypatch.setattr(arith, "TEMPLATES", templates)
    capacity = 20 * 2 * 7
    largest = largest_arith_n(10**6, 3)
    assert largest is not None and capacity * 3 <= largest < (capacity + 1) * 3
    assert len(generate_arith(largest, 3)) == largest
    with pytest.raises(ValueError, match=f"at most {largest}"):
        generate_arith(largest + 1, 3)
