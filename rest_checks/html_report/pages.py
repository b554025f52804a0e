"""The pages a model saw, embedded as data URLs so a report opens offline and alone."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class EmbeddedPage:
    """An image for the report: its data URL, or why there is none."""

    path: str
    data_url: str | None = None
    missing: str = ""
    # The anchor of the figure that already shows these bytes, where it is a copy.
    same_as: str | None = None


def load_page(path: str, search: Sequence[Path]) -> EmbeddedPage:
    """Read a PNG the run saved. A relative path is looked up under each of ``search`` (the
    results file's folder, the working directory); a file that is gone or not a PNG is
    reported as such, never guessed."""
    candidate = Path(path)
    tried = [candidate] if candidate.is_absolute() else [base / candidate for base in search]
    for file in tried:
        if file.is_file():
            data = file.read_bytes()
            if not data.startswith(PNG_SIGNATURE):
                return EmbeddedPage(path, missing=f"{file} is not a PNG file")
            encoded = base64.b64encode(data).decode("ascii")
            return EmbeddedPage(path, data_url=f"data:image/png;base64,{encoded}")
    return EmbeddedPage(path, missing=f"not found: {path} (the run saved it; was it moved?)")
