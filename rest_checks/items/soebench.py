"""SoEBench: generated systems of linear equations with a unique integer solution.

Each system has k equations in the first k letters of A-E (k from 2 to 5). Only digits,
the letters A-E, ``+``, ``-``, ``=`` and spaces appear in the equations, so a rendering of
them is hard to misread and no item can have been seen in training data. Uniqueness of
the solution is proved with exact rational arithmetic (``fractions.Fraction``), never
floats.

The parser is deliberately tolerant, because it also reads OCR transcriptions:
``"2A+3B-C=7"``, ``"2 A + 3 B − C = 7"`` and ``"2*A + 3B - C = 7"`` all parse.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from rest_checks.dashes import HYPHEN_FOR_DASH
from rest_checks.items.base import Item

VARIABLES = "ABCDE"
SYSTEM_SIZES: tuple[int, ...] = (2, 3, 4, 5)
# Small numbers keep the systems solvable by hand and the renderings short.
COEFFICIENT_RANGE = range(-6, 7)
SOLUTION_RANGE = range(-9, 10)
MAX_ABS_RHS = 99

# Characters that OCR (or a model) may use for the ASCII signs.
_SIGN_TRANSLATION = {
    **HYPHEN_FOR_DASH,
    **str.maketrans({"\uff0b": "+", "\uff1d": "="}),  # full-width plus and equals
}
# An explicit multiplication between a coefficient and a variable: "2*A", "2 × A", "2·A".
_MULTIPLICATION = re.compile(r"(\d)\s*[*\u00d7\u00b7\u22c5]\s*(?=[A-Ea-e])")
_SPACE = r"[ \t]*"
# One term: optional sign, optional integer coefficient, one variable that is not part of
# a longer word (so "Equation" or "each" never yield a variable).
_TERM = rf"[+-]?{_SPACE}\d*{_SPACE}(?<![A-Za-z])[A-Ea-e](?![A-Za-z])"
_EQUATION = re.compile(
    rf"(?P<lhs>{_TERM}(?:{_SPACE}[+-]{_SPACE}\d*{_SPACE}(?<![A-Za-z])[A-Ea-e](?![A-Za-z]))*)"
    rf"{_SPACE}={_SPACE}(?P<rhs>[+-]?{_SPACE}\d+)"
)
_TERM_PARTS = re.compile(r"([+-]?)(\d*)([A-Ea-e])")


@dataclass
class LinearEquation:
    """``sum(coeffs[v] * v) = rhs``; variables with a zero coefficient are left out."""

    coeffs: dict[str, int] = field(default_factory=dict)
    rhs: int = 0

    def variables(self) -> list[str]:
        return sorted(v for v, c in self.coeffs.items() if c != 0)


def format_equation(equation: LinearEquation) -> str:
    """Write an equation the SoEBench way: ``"2A + 3B - C = 7"``, ``"-2A + B = 3"``."""
    parts: list[str] = []
    for variable in equation.variables():
        coefficient = equation.coeffs[variable]
        magnitude = "" if abs(coefficient) == 1 else str(abs(coefficient))
        if not parts:
            parts.append(("-" if coefficient < 0 else "") + magnitude + variable)
        else:
            parts.append(("- " if coefficient < 0 else "+ ") + magnitude + variable)
    left = " ".join(parts) if parts else "0"
    return f"{left} = {equation.rhs}"


def format_solution(solution: dict[str, Fraction] | dict[str, int]) -> str:
    """The canonical answer string, sorted by variable: ``"A=1, B=-2, C=3/2"``."""
    return ", ".join(f"{v}={Fraction(solution[v])}" for v in sorted(solution))


def _normalise(text: str) -> str:
    return _MULTIPLICATION.sub(r"\1", text.translate(_SIGN_TRANSLATION))


def parse_system(text: str) -> list[LinearEquation]:
    """Every linear equation in ``text``, in order of appearance.

    Tolerant by design: spaces anywhere between tokens, Unicode minus signs and dashes,
    lower-case variables, ``*``/``×`` between coefficient and variable, several equations
    on one line, and surrounding prose (numbering, instructions) that is skipped. Never
    raises on garbage; it returns only what parsed.
    """
    if not isinstance(text, str):
        return []
    equations: list[LinearEquation] = []
    for line in _normalise(text).splitlines():
        for match in _EQUATION.finditer(line):
            lhs = re.sub(r"\s+", "", match.group("lhs"))
            coeffs: dict[str, int] = {}
            for sign, digits, letter in _TERM_PARTS.findall(lhs):
                value = int(digits) if digits else 1
                variable = letter.upper()
                coeffs[variable] = coeffs.get(variable, 0) + (-value if sign == "-" else value)
            rhs = int(re.sub(r"\s+", "", match.group("rhs")))
            equations.append(LinearEquation({v: c for v, c in coeffs.items() if c != 0}, rhs))
    return equations


def solve_system(equations: Sequence[LinearEquation]) -> dict[str, Fraction] | None:
    """The unique solution for every variable that appears, or ``None``.

    ``None`` when there are no variables, when the equations contradict each other, or
    when they leave some variable undetermined. Extra consistent equations (a repeated
    line in a transcription) are fine. Exact: Gaussian elimination over ``Fraction``.
    """
    variables = sorted({v for eq in equations for v in eq.variables()})
    if not variables:
        return None
    rows = [
        [Fraction(eq.coeffs.get(v, 0)) for v in variables] + [Fraction(eq.rhs)] for eq in equations
    ]
    n_vars = len(variables)
    # Every column needs a pivot (else a variable is free), so column i pivots on row i.
    for column in range(n_vars):
        pivot = next((r for r in range(column, len(rows)) if rows[r][column] != 0), None)
        if pivot is None:
            return None
        rows[column], rows[pivot] = rows[pivot], rows[column]
        lead = rows[column][column]
        rows[column] = [x / lead for x in rows[column]]
        for r in range(len(rows)):
            if r != column and rows[r][column] != 0:
                factor = rows[r][column]
                rows[r] = [x - factor * y for x, y in zip(rows[r], rows[column], strict=True)]
    # Rows left over have all-zero coefficients; a non-zero right side is a contradiction.
    if any(row[-1] != 0 for row in rows[n_vars:]):
        return None
    return {v: rows[i][-1] for i, v in enumerate(variables)}


def _question(variables: str) -> str:
    names = ", ".join(variables[:-1]) + " and " + variables[-1]
    return f"Solve the system of equations for {names}."


def _random_system(rng: random.Random, size: int) -> list[LinearEquation] | None:
    variables = VARIABLES[:size]
    solution = {v: rng.choice(SOLUTION_RANGE) for v in variables}
    nonzero = [c for c in COEFFICIENT_RANGE if c != 0]
    equations: list[LinearEquation] = []
    for _ in range(size):
        # At least two variables per equation, so no equation hands over a value directly.
        chosen = rng.sample(variables, rng.randint(2, size))
        coeffs = {v: rng.choice(nonzero) for v in sorted(chosen)}
        rhs = sum(c * solution[v] for v, c in coeffs.items())
        if abs(rhs) > MAX_ABS_RHS:
            return None
        equations.append(LinearEquation(coeffs, rhs))
    found = solve_system(equations)
    if found is None or found != {v: Fraction(x) for v, x in solution.items()}:
        return None
    return equations


def _system_size(seed: int, index: int) -> int:
    # Sizes come in shuffled blocks of four, so any run of items mixes all sizes evenly.
    order = random.Random(f"soebench:{seed}:sizes:{index // len(SYSTEM_SIZES)}").sample(
        SYSTEM_SIZES, len(SYSTEM_SIZES)
    )
    return order[index % len(SYSTEM_SIZES)]


# Draws for one item before giving up (systems are drawn from a space of billions).
MAX_DRAWS = 100_000


def generate_soebench(n: int, seed: int) -> list[Item]:
    """``n`` SoEBench items, ids ``soebench-0001``..., the same for the same ``seed``.

    Item ``i`` depends only on ``(seed, i)``, so a longer run starts with the items of a
    shorter one. Expected answers are canonical, e.g. ``"A=1, B=-2, C=3"``.
    """
    if n < 0:
        raise ValueError(f"number of SoEBench items must be >= 0, got {n}")
    items: list[Item] = []
    seen: set[str] = set()
    for index in range(n):
        size = _system_size(seed, index)
        rng = random.Random(f"soebench:{seed}:item:{index}")
        for _ in range(MAX_DRAWS):
            equations = _random_system(rng, size)
            if equations is None:
                continue
            context = "\n".join(format_equation(eq) for eq in equations)
            if context not in seen:
                break
        else:  # bounded, so a run never spins: with these ranges it is never reached
            raise ValueError(
                f"soebench: no new system of {size} equations in {MAX_DRAWS} draws for item "
                f"{index + 1}; the largest count made with seed {seed} is {index}"
            )
        seen.add(context)
        solution = solve_system(equations)
        assert solution is not None  # _random_system checked it
        items.append(
            Item(
                id=f"soebench-{index + 1:04d}",
                task="soebench",
                context=context,
                question=_question(VARIABLES[:size]),
                expected=format_solution(solution),
                answer_type="solution",
                source=f"generate_soebench(seed={seed}) #{index + 1}",
            )
        )
    return items


def solve_soebench_text(text: str) -> str | None:
    """Parse and solve the equations in ``text``; the canonical solution string or ``None``."""
    solution = solve_system(parse_system(text))
    return None if solution is None else format_solution(solution)
