"""Small wordings every text of a run shares (the terminal summary, the CI step summary,
the HTML report, ``rest-checks compare``, the leaderboard, the baseline's messages): a
share as a percentage, and a list of case names cut at one limit. Imports nothing of the
package."""

from __future__ import annotations

import math
from collections.abc import Iterable

# Case names listed in one message or list; the rest are counted ("and 17 more").
NAMED = 20


def pct(share: float | None, width: int = 0) -> str:
    """``96.7%``, or ``n/a`` for a rate over no items (None or NaN); right-aligned in
    ``width`` characters for a terminal table."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        text = "n/a"
    else:
        text = f"{100 * float(share):.1f}%"
    return text.rjust(width)


def named(keys: Iterable[str], limit: int = NAMED) -> str:
    """``a, b, c and 17 more``."""
    listed = list(keys)
    shown = ", ".join(listed[:limit])
    return shown + (f" and {len(listed) - limit} more" if len(listed) > limit else "")


__all__ = ["NAMED", "named", "pct"]
