"""Item text normalised once, before any modality sees it.

Published files carry CRLF line ends inside quoted fields and, now and then, a stray
control character (an ARC item holds U+0002). A control character is invisible in the
text prompt but drawn as a box in the image, so the modalities would differ for a reason
that has nothing to do with the model. Every text field of every item goes through
``clean_item_text``: CRLF and lone CR become LF, control characters other than newline
and tab are removed (and counted), and the result is in Unicode NFC.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_LINE_ENDS = re.compile(r"\r\n?")
# Unicode category Cc (C0, DEL and C1) less newline and tab.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass
class ControlCount:
    """Control characters removed so far, for the run header."""

    removed: int = 0


def clean_item_text(text: str, count: ControlCount | None = None) -> str:
    """``text`` with LF line ends, no control characters but newline and tab, in NFC,
    and stripped of surrounding whitespace."""
    text = _LINE_ENDS.sub("\n", text)
    text, removed = _CONTROL.subn("", text)
    if count is not None:
        count.removed += removed
    return unicodedata.normalize("NFC", text).strip()
