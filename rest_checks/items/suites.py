"""A suite: the items of several task sources, by name or by file path.

- ``"soebench"``: ``generate_soebench(n, seed)``;
- ``"arith"``: ``generate_arith(n, seed)``;
- ``"mcq"``: a seeded sample of ``n`` built-in questions, sorted by id (the sample for a
  larger ``n`` contains the sample for a smaller one with the same seed);
- anything else: the path of an item file in any supported layout (see
  ``rest_checks.items.files``), whose first ``n`` items (after the paper's filters) are
  taken, or of a directory of MMLU CSVs (one file per subject), from which ``n`` items are
  drawn with the seed, spread over the subjects in proportion to their sizes.

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
from rest_checks.items.files import LoadResult, load_item_dir, load_item_file, stratified_sample
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


def load_source(
    source: str,
    n: int,
    seed: int,
    loads: list[LoadResult] | None = None,
    layout: str | None = None,
) -> list[Item]:
    """The items of one task source (a suite name, a file or a directory path).

    For an item file or directory, its ``LoadResult`` (layout, items kept and dropped,
    control characters removed) is appended to ``loads``. ``layout`` names the layout of
    every file instead of detecting it.
    """
    name = source.strip()
    if name == "soebench":
        return generate_soebench(n if n > 0 else DEFAULT_GENERATED_N, seed)
    if name == "arith":
        return generate_arith(n if n > 0 else DEFAULT_GENERATED_N, seed)
    if name == "mcq":
        return _builtin_sample(n, seed)
    path = Path(name).expanduser()
    if not name or not path.exists():
        raise ValueError(
            f"unknown item source {source!r}: expected one of {', '.join(SUITE_NAMES)}, "
            "the path of an existing item file, or a directory of MMLU CSVs"
        )
    result = load_item_dir(path, layout) if path.is_dir() else load_item_file(path, layout)
    if not result.items:
        raise ValueError(f"item source {path} gave no items ({result.message})")
    if path.is_dir():
        items = stratified_sample(result.items, n, seed, result.subjects)
    else:
        items = result.items if n <= 0 else result.items[:n]
    result.used = len(items)
    if loads is not None:
        loads.append(result)
    return items


def load_suite(
    sources: Sequence[str],
    n: int,
    seed: int,
    loads: list[LoadResult] | None = None,
    layout: str | None = None,
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
        for item in load_source(source, n, seed, loads, layout):
            if item.id in origin:
                raise ValueError(
                    f"duplicate item id {item.id!r}: from source {origin[item.id]!r} and "
                    f"from source {source!r}; item ids must be unique within a suite"
                )
            origin[item.id] = source
            items.append(item)
    return items
