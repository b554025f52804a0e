"""The one way files are written: to a temporary name beside the target, then renamed into
place, so a reader (another xdist worker, a CI step, a rerun after a kill) sees the old
file or the new one, never half of one; the temporary file is removed on any failure."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def write_atomic(path: Path, data: str | bytes | Iterable[str]) -> None:
    """Write ``data`` (text as UTF-8; an iterable of text pieces one after another, so a
    large document is never held whole) to ``path`` atomically, creating its directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(data, bytes):
                handle.write(data)
            elif isinstance(data, str):
                handle.write(data.encode("utf-8"))
            else:
                with io.TextIOWrapper(handle, encoding="utf-8", newline="") as text:
                    text.writelines(data)
        os.replace(tmp, path)  # atomic on POSIX
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
