"""The error every item-file loader raises: which file, which line, what was wrong."""

from __future__ import annotations

import os


class ItemFileError(ValueError):
    """A malformed item file: says which file, which line (1-based) and what was wrong."""

    def __init__(self, path: str | os.PathLike[str], line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {reason}")
