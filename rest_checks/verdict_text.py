"""The gate's verdict in words: the one place that says it, for the terminal summary, the
CI step summary and the HTML report. Reads the results document's ``baseline`` block."""

from __future__ import annotations

from rest_checks.results_document import BaselineBlock, Gate, ResultsDocument, Sequential, TaskGate
from rest_checks.wording import named, pct

# ``named`` is said here for the run's messages that name cases.
__all__ = ["gate_lines", "named", "points", "sequential_line", "task_line"]


def points(share: float | None) -> str:
    """A share of items as RER points: ``6.4 points``."""
    return "n/a" if share is None else f"{100 * share:.1f} points"


def _confidence(alpha: float) -> str:
    return f"{100 * (1 - alpha):.4g}%"


def _against(base: BaselineBlock) -> str:
    """Whose baseline judged the run, where that is not the run's own model."""
    differences = base["identity_differences"]
    if not base["present"] or not differences:
        return ""
    return f" against the baseline of {base['model']} (identity differs: {'; '.join(differences)})"


def _counts(gate: Gate) -> str:
    return (
        f"RER {pct(gate['rer_baseline'])} -> {pct(gate['rer_current'])} on "
        f"{gate['n_common']} shared items, lost {gate['lost']}, gained {gate['gained']}, "
        f"exact McNemar p={gate['p_value']:.4g}"
    )


def gate_lines(results: ResultsDocument) -> list[str]:
    """The verdict (first line, never worded as a pass unless it is one) and, for an
    inconclusive verdict, what would decide it. Empty when there was no gate."""
    base = results["baseline"]
    gate = base["gate"]
    if gate is None:
        return []
    verdict, tolerance, alpha = gate["verdict"], gate["tolerance"], gate["alpha"]
    bound = f"{points(gate['upper_bound'])} ({_confidence(alpha)} upper bound)"
    head = f"baseline gate {verdict.upper()}{_against(base)}"
    coverage = gate["coverage"]
    if verdict == "passed":
        first = (
            f"{head}: RER dropped by at most {bound}, within the tolerance of "
            f"{points(tolerance)}; {_counts(gate)}"
        )
    elif verdict == "failed":
        failed_tasks = [t for t, v in gate["by_task"].items() if v["verdict"] == "failed"]
        why = (
            f"RER dropped by {points(gate['rer_drop'])}, more than the tolerance of "
            f"{points(tolerance)}, and the drop is significant"
            if gate["sequential"]
            or (gate["p_value"] < alpha and (gate["rer_drop"] or 0.0) > tolerance)
            else f"a significant drop above the tolerance in task(s) {', '.join(failed_tasks)}"
        )
        first = f"{head}: {why}; {_counts(gate)}"
    else:
        partial = f"; {coverage['describe']}" if coverage["partial"] else ""
        first = (
            f"{head} (not a pass{partial}): RER may have dropped by up to {bound}, against "
            f"a tolerance of {points(tolerance)}; {_counts(gate)}"
        )
    lines = [first]
    if gate["sequential"]:
        lines.append("  " + sequential_line(gate["sequential"]))
    if verdict == "inconclusive":
        lines.append("  " + _what_decides(gate))
    return lines


def sequential_line(sequential: Sequential) -> str:
    """What a sequential run asked: ``sequential gate: decided after 350 of 450 items ...``."""
    asked, total = sequential["items_asked"], sequential["items"]
    head = (
        f"sequential gate: decided after {asked} of {total} items"
        if asked < total or sequential["verdict"] != "inconclusive"
        else f"sequential gate: undecided after all {total} items"
    )
    return (
        f"{head} (anytime-valid confidence sequence, {sequential['looks']} look(s)); "
        f"{total - asked} items not asked, {sequential['requests_saved']} requests saved"
    )


def _what_decides(gate: Gate) -> str:
    parts = []
    if gate["coverage"]["partial"]:
        parts.append("run every case of the baseline")
    needed = gate["items_to_decide"]
    if needed is not None:
        more = "more than " if needed > 10_000_000 else "about "
        parts.append(
            f"{more}{min(needed, 10_000_000):,} shared items at this run's rates of lost and "
            "gained items would decide it"
        )
    if gate["sequential"] is None:  # a sequential bound is not a fixed test's
        parts.append(
            f"this run shows a pass only at a tolerance of {points(gate['upper_bound'])} or more"
        )
    parts.append("--rest-fail-inconclusive fails the run on this verdict")
    return "to decide: " + "; ".join(parts)


def task_line(task: str, t: TaskGate) -> str:
    """One task source's row of the gate."""
    level = (
        f" at Holm level {t['alpha']:.4g}"
        if t["alpha"] is not None
        else ", not tested (Holm's step-down stopped before it)"
    )
    return (
        f"gate {task:<10}{t['verdict']:<13} RER {pct(t['rer_baseline'])} -> "
        f"{pct(t['rer_current'])}, lost {t['lost']}, gained {t['gained']}, "
        f"p={t['p_value']:.4g}{level}; drop at most {points(t['upper_bound'])} "
        f"({_confidence(t['bound_alpha'])} bound)"
    )
