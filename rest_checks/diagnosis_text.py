"""The regression diagnosis in words: one line for the summary, the CI step summary and the
HTML report. Reads the results document's ``baseline.diagnosis`` block."""

from __future__ import annotations

from collections.abc import Sequence

from rest_checks.diagnosis import FACTOR_NAMES, FACTORS
from rest_checks.results_document import Diagnosis

# The crossing of the named levels is named as the one place of the loss when it holds at
# least this share of the cases lost in any of them.
CROSSING_SHARE = 0.8


def _either(levels: Sequence[str]) -> str:
    return " or ".join(levels)


def _levels_phrase(factor: str, levels: Sequence[str]) -> str:
    """``Dancing Script``, ``at 50 or 100 DPI``, ``task arith``, ``questions of 9-14 words``."""
    if factor == "dpi":
        return "at " + _either([level.removesuffix(" DPI") for level in levels]) + " DPI"
    if factor == "task":
        return "task " + _either(levels)
    if factor == "answer_type":
        return _either(levels) + " answers"
    if factor == "question_length":
        return "questions of " + _either(levels)
    return _either(levels)  # a font family, a colour pair


def diagnosis_line(diagnosis: Diagnosis) -> str:
    """``the loss is in Dancing Script, at 50 or 100 DPI: lost 14, gained 1 of the 24
    shared cases there``, or that it is in no one place."""
    lost, gained, n = diagnosis["lost"], diagnosis["gained"], diagnosis["n_shared"]
    alpha = f"Holm at {100 * diagnosis['alpha']:.4g}%"
    if not lost:
        return f"where the loss is: nothing was lost ({n} shared cases, {gained} gained)"
    single = diagnosis.get("single_level") or []
    varied = [FACTOR_NAMES[f] for f in FACTORS if f not in single]
    found, where = diagnosis["named"], diagnosis["where"]
    if not found or where is None:
        fixed = (
            f"; {', '.join(FACTOR_NAMES[f] for f in single)} had one level only"
            + (
                " (--rest-plus varies font, DPI and colour)"
                if {"font", "dpi", "colour"} <= set(single)
                else ""
            )
            if single
            else ""
        )
        return (
            f"where the loss is: in no one level of {', '.join(varied) or 'any factor'} "
            f"(lost {lost}, gained {gained} of {n} shared cases; exact tests per level, "
            f"{alpha}){fixed}"
        )
    overall = f"lost {lost}, gained {gained} of {n} in all; exact tests per level, {alpha}"
    # One place (the crossing of the named levels) where it holds most of what they lost;
    # else each named level with its own counts.
    if where["lost"] >= CROSSING_SHARE * where["lost_in_any"]:
        places = ", ".join(_levels_phrase(f, found[f]) for f in FACTORS if f in found)
        return (
            f"the loss is in {places}: lost {where['lost']}, gained {where['gained']} of the "
            f"{where['n']} shared cases there ({overall})"
        )
    tests = {(t["factor"], t["level"]): t for t in diagnosis["levels"]}
    each = "; ".join(
        f"{_levels_phrase(f, [level])}: lost {tests[f, level]['lost']}, gained "
        f"{tests[f, level]['gained']} of {tests[f, level]['n']}"
        for f in FACTORS
        if f in found
        for level in found[f]
    )
    return f"the loss is in separate places: {each} ({overall})"
