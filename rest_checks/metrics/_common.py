"""Small helpers shared by the metrics modules: NaN for 0/0 and NaN as JSON null."""

from __future__ import annotations

import math

NAN = float("nan")


def ratio(counts: tuple[int, int]) -> float:
    """``successes / n``, NaN when ``n == 0``."""
    successes, n = counts
    return successes / n if n else NAN


def json_float(x: float) -> float | None:
    """``x`` as a plain float, ``None`` for NaN (JSON has no NaN)."""
    return None if math.isnan(x) else float(x)
