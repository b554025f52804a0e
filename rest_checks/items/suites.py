"""A suite: the items of several task sources, by name or by file path.

- ``"soebench"``: ``generate_soebench(n, seed)``;
- ``"arith"``: ``generate_arith(n, seed)``;
- ``"mcq"``: a seeded sample of ``n`` built-in questions, sorted by id (the sample for a
  larger ``n`` contains the sample for a smaller one with the same seed);
- anything else: the path of a local multiple-choice file (see ``load_mcq_file``), whose
  first ``n`` items (after the paper's filters) are taken.

``n <= 0`` means every item of a file or of the built-in set, and
``DEFAULT_GENERATED_N`` items (the paper's SoEBench size) from a generator.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from rest_checks.items.arith import generate_arith
from rest_checks.items.base import Item
from rest_checks.items.builtin_mcq import builtin_mcq
from rest_checks.items.mcq import load_mcq_file
from rest_checks.items.soebench import generate_soebench

SUITE_NAMES: tuple[str, ...] = ("soebench", "arith", "mcq")
DEFAULT_GENERATED_N = 150


def _builtin_sample(n: int, seed: int) -> list[Item]:
    items = builtin_mcq()
    if n <= 0 or n >= len(items):
        return items
    # A seeded order, cut at n: the same seed gives nested samples as n grows.
    order = random.Random(f"mcq:{seed}").sample(items, len(items))
    return sorted(order[:n], key=lambda item: item.id)


def load_source(source: str, n: int, seed: int, notes: list[str] | None = None) -> list[Item]:
    """The items of one task source (a suite name or a file path).

    For an item file, a line saying how many items were kept and dropped (and why) is
    appended to ``notes``.
    """
    name = source.strip()
    if name == "soebench":
        return generate_soebench(n if n > 0 else DEFAULT_GENERATED_N, seed)
    if name == "arith":
        return generate_arith(n if n > 0 else DEFAULT_GENERATED_N, seed)
    if name == "mcq":
        return _builtin_sample(n, seed)
    path = Path(name).expanduser()
    if not name or not path.is_file():
        raise ValueError(
            f"unknown item source {source!r}: expected one of {', '.join(SUITE_NAMES)} "
            "or the path of an existing item file (MMLU .csv, ARC or our .jsonl)"
        )
    result = load_mcq_file(path)
    if notes is not None:
        notes.append(result.message)
    if not result.items:
        raise ValueError(f"item file {path} gave no items ({result.message})")
    return result.items if n <= 0 else result.items[:n]


def load_suite(
    sources: Sequence[str], n: int, seed: int, notes: list[str] | None = None
) -> list[Item]:
    """The items of every source in order; ``n`` items per source (see the module doc).

    Raises ``ValueError`` for an unknown source and for an item id that two sources (or
    one source listed twice) share, since ids name the test cases and their baselines.
    """
    if isinstance(sources, str):
        sources = [sources]
    items: list[Item] = []
    origin: dict[str, str] = {}
    for source in sources:
        for item in load_source(source, n, seed, notes):
            if item.id in origin:
                raise ValueError(
                    f"duplicate item id {item.id!r}: from source {origin[item.id]!r} and "
                    f"from source {source!r}; item ids must be unique within a suite"
                )
            origin[item.id] = source
            items.append(item)
    return items
