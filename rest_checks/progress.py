"""One way for slow steps (loading weights, starting OCR, reaching a server) to say what
they are doing: a line on stderr, which the plugin lets through pytest's capture while it
asks the model ahead of the tests."""

from __future__ import annotations

import sys


def say(message: str) -> None:
    print(f"rest-checks: {message}", file=sys.stderr, flush=True)
