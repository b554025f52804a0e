"""No class over 250 lines and no function over 60 in the package, unless a comment right
above it (above its decorators) says why, starting with ``# Long``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "rest_checks"
LIMITS = {ast.ClassDef: 250, ast.FunctionDef: 60, ast.AsyncFunctionDef: 60}


def long_definitions(source: str) -> list[tuple[int, str, int]]:
    """(line, name, length) of each definition over its limit without a reason above it."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        limit = LIMITS.get(type(node))
        if limit is None:
            continue
        assert isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        if length <= limit:
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        above = first - 2  # index of the line above the definition
        while above >= 0 and lines[above].strip().startswith("#"):
            above -= 1
        comment = " ".join(line.strip() for line in lines[above + 1 : first - 1])
        if not comment.startswith("# Long"):
            found.append((node.lineno, node.name, length))
    return found


def test_every_long_definition_says_why() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line} {name} ({length} lines)"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, name, length in long_definitions(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, "split these, or say why above them (# Long ...):\n" + "\n".join(
        offenders
    )


BODY = "\n".join(f"    x{i} = {i}" for i in range(61))


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        (f"def f():\n{BODY}\n", ["f"]),
        (f"# Long by its table.\ndef f():\n{BODY}\n", []),
        (f"# Long by its table.\n@decorator\ndef f():\n{BODY}\n", []),
        (f"# A comment that says nothing of length.\ndef f():\n{BODY}\n", ["f"]),
        (f"# Long by its table.\n\ndef f():\n{BODY}\n", ["f"]),  # not right above it
        ("def f():\n" + "\n".join(f"    x{i} = {i}" for i in range(59)) + "\n", []),
    ],
)
def test_the_check_flags_what_it_should(source: str, flagged: list[str]) -> None:
    assert [name for _, name, _ in long_definitions(source)] == flagged
