"""Text from a model, a server or a data file, made safe to show on a terminal.

A reply is untrusted: ``ESC [2J`` clears the user's screen, an OSC sequence retitles the
window, a bidirectional override reorders what is shown. Every terminal message that
quotes such text passes it through ``printable``, which spells those characters out
(``\\x1b``) and keeps newline and tab. The results JSON keeps the exact text: JSON escapes
control characters itself, so it stays valid and lossless.
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, C1 controls, and the bidirectional marks,
# embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _spelled(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every character that could act on a terminal spelled out."""
    return _UNSAFE.sub(_spelled, text)


__all__ = ["printable"]
