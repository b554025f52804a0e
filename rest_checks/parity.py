"""Visual-token parity (``--rest-parity``, docs/parity.md): the REST+ items drawn at a ladder
of resolutions, and image accuracy and RER against the visual tokens each step cost, with
text accuracy as the line to reach.

The **parity point** is the cheapest step (fewest visual tokens, else lowest DPI) at which
text accuracy lies within the image accuracy's 95% Wilson interval or below it: the
image has not been shown to be worse than the text there. "Not reached" when no step is.

Visual tokens of a step: the model's own count (``n_visual_tokens``, local models), else
the API's prompt tokens of the image request less those of the same content's text request
(``usage``), averaged over the step's items; None where the backend reports neither.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rest_checks.metrics.statistics import wilson_interval
from rest_checks.records import CaseRecord
from rest_checks.render.specs import RenderSpec
from rest_checks.results_document import Parity, ParityStep, Rate
from rest_checks.wording import pct

# 8 steps from 36 to 300 DPI, evenly spaced on a log scale: 36, 49, 66, 89, 121, 164, 222, 300.
PARITY_DPIS = tuple(round(36 * (300 / 36) ** (i / 7)) for i in range(8))
PARITY_PREFIX = "parity-dpi"
# Rendering name -> spec: the default rendering (black DejaVu Sans on white) at each DPI.
PARITY_LADDER: dict[str, RenderSpec] = {
    f"{PARITY_PREFIX}{d}": RenderSpec(dpi=d) for d in PARITY_DPIS
}


def is_parity(rendering: str) -> bool:
    return rendering.startswith(PARITY_PREFIX)


def _prompt_tokens(extra: Mapping[str, Any]) -> int | None:
    usage = extra.get("usage")
    value = usage.get("prompt_tokens") if isinstance(usage, Mapping) else None
    return value if isinstance(value, int) else None


def _visual_tokens(record: CaseRecord) -> tuple[float | None, str]:
    """One case's visual tokens for its image request, and where they came from."""
    own = record.n_visual_tokens.get("image")
    if isinstance(own, int):
        return float(own), "visual tokens"
    image = _prompt_tokens(record.extra.get("image") or {})
    text = _prompt_tokens(record.extra.get("text") or {})
    if image is not None and text is not None:
        return float(image - text), "image prompt tokens less the text's"
    return None, ""


def _rate(k: int, n: int) -> Rate:
    return {"value": k / n if n else None, "k": k, "n": n, "ci95": list(wilson_interval(k, n))}


def parity_table(records: Sequence[CaseRecord]) -> Parity | None:
    """Per ladder step: DPI, visual tokens, image accuracy and RER with their intervals;
    text accuracy over the same cases; the parity point. None without parity cases."""
    steps: dict[int, list[CaseRecord]] = {}
    for record in records:
        if record.kind == "rest_plus" and record.error is None and is_parity(record.rendering):
            steps.setdefault(PARITY_LADDER[record.rendering].dpi, []).append(record)
    if not steps:
        return None
    rows: list[ParityStep] = []
    sources: set[str] = set()
    # The text request is the same at every step: each item's text answer counts once.
    text_right: dict[str, bool] = {}
    for dpi in sorted(steps):
        cases = steps[dpi]
        outcomes = [r.outcome() for r in cases]
        tokens = [_visual_tokens(r) for r in cases]
        counted = [t for t, _ in tokens if t is not None]
        sources.update(source for t, source in tokens if t is not None)
        rows.append(
            {
                "dpi": dpi,
                "rendering": f"{PARITY_PREFIX}{dpi}",
                "visual_tokens": sum(counted) / len(counted) if counted else None,
                "image_accuracy": _rate(sum(o.correct["image"] for o in outcomes), len(cases)),
                "rer": _rate(sum(o.consistent for o in outcomes), len(cases)),
            }
        )
        for outcome in outcomes:
            text_right.setdefault(outcome.id, outcome.correct["text"])
    text = _rate(sum(text_right.values()), len(text_right))
    reached = [
        row
        for row in rows
        if text["value"] is not None and text["value"] <= row["image_accuracy"]["ci95"][1]
    ]
    cheapest = min(
        reached,
        key=lambda row: (
            math.inf if row["visual_tokens"] is None else row["visual_tokens"],
            row["dpi"],
        ),
        default=None,
    )
    return {
        "steps": rows,
        "text_accuracy": text,
        "tokens_from": " / ".join(sorted(sources)) or None,
        "parity_point": None
        if cheapest is None
        else {"dpi": cheapest["dpi"], "visual_tokens": cheapest["visual_tokens"]},
    }


def parity_line(table: Parity) -> str:
    """``parity: image accuracy reaches text accuracy (80.0%) at 164 DPI, 612 visual tokens``."""
    text = table["text_accuracy"]["value"]
    point = table["parity_point"]
    top = table["steps"][-1]
    if point is None:
        image = top["image_accuracy"]["value"]
        return (
            f"parity: not reached up to {top['dpi']} DPI (image accuracy "
            f"{pct(image or 0.0)} there, text {pct(text or 0.0)})"
        )
    step = next(s for s in table["steps"] if s["dpi"] == point["dpi"])
    low, high = step["image_accuracy"]["ci95"]
    return (
        f"parity: image accuracy reaches text accuracy ({pct(text)}) at "
        f"{parity_point_words(table)} (image {pct(step['image_accuracy']['value'])}, "
        f"95% interval [{pct(low)}, {pct(high)}])"
    )


def parity_point_words(table: Parity) -> str:
    """``121 DPI, 420 visual tokens``, or ``not reached up to 300 DPI``."""
    point = table["parity_point"]
    if point is None:
        return f"not reached up to {table['steps'][-1]['dpi']} DPI"
    tokens = point["visual_tokens"]
    return f"{point['dpi']} DPI" + (
        "" if tokens is None else f", {tokens:,.0f} {table['tokens_from']}"
    )
