"""The built-in multiple-choice set: original questions stored in our own JSONL format.

The data lives in ``rest_checks/data/mcq_builtin.jsonl`` and is read through
``load_mcq_file``, so the documented format is exercised on every run.

The set holds at least the paper's 150 questions per task, four options each, the correct
letter spread evenly over A-D. Most have answers that can be worked out: unit conversions,
number theory, geometry, calendar and clock arithmetic, comparing quantities, physics
formulas, element symbols, binary and hexadecimal, letters of a word. The rest are general
knowledge (geography, history, biology...). The tests work every answer out again from
the question's text, or from a table of facts kept apart from the data. Items
``mcq-0001`` to ``mcq-0050`` never change: stored baselines name them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from rest_checks.items.base import Item
from rest_checks.items.mcq import LoadResult, load_mcq_file

# Package data of ``rest_checks`` (pyproject: ``data/*``). Located from this file rather than
# through importlib.resources, which does not resolve namespace packages on every Python.
BUILTIN_MCQ_PATH = Path(__file__).resolve().parent.parent / "data" / "mcq_builtin.jsonl"


@lru_cache(maxsize=1)
def load_builtin_mcq() -> LoadResult:
    """The built-in set with its subjects (``LoadResult.subjects``); read once."""
    return load_mcq_file(BUILTIN_MCQ_PATH)


def builtin_mcq() -> list[Item]:
    """The built-in multiple-choice items, ids ``mcq-0001``..., in file order."""
    return list(load_builtin_mcq().items)
