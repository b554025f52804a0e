"""Reading a results file (``--rest-json``): every command that reads one (``rest-checks
report``, ``rest-checks compare`` and its leaderboard) goes through ``load_results``, which
says which file is wrong, how, and what to do about it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from rest_checks.results_document import RESULTS_FORMAT, ResultsDocument

# Keys every results document has; a file without them is something else.
_NEEDED = ("format", "model", "metrics", "items", "cases")


class ResultsFileError(ValueError):
    """A file that is not a readable rest-checks results document."""


def _looks_like_baseline(data: dict[str, Any]) -> bool:
    cases = data.get("cases")
    return (
        "items" not in data
        and isinstance(cases, dict)
        and all(isinstance(entry, dict) and "fingerprint" in entry for entry in cases.values())
    )


def check_results_format(data: object, path: Path | str) -> ResultsDocument:
    """``data`` (a parsed file) as a results document of this version's format; else a
    ``ResultsFileError`` naming ``path``, the format found, the one expected, and the way
    out."""
    if not isinstance(data, dict):
        raise ResultsFileError(
            f"{path}: not a rest-checks results file (--rest-json): a JSON "
            f"{type(data).__name__}, not an object"
        )
    if _looks_like_baseline(data):
        raise ResultsFileError(
            f"{path}: a rest-checks baseline (format {data.get('format')!r}; --snapshot-update "
            "writes it), not a results file; name the file a run wrote with --rest-json PATH"
        )
    missing = [key for key in _NEEDED if key not in data]
    if missing:
        raise ResultsFileError(
            f"{path}: not a rest-checks results file (--rest-json); missing {', '.join(missing)}"
        )
    found = data["format"]
    if found != RESULTS_FORMAT:
        newer = isinstance(found, int) and not isinstance(found, bool) and found > RESULTS_FORMAT
        way_out = (
            "upgrade rest-checks to read it"
            if newer
            else "run the suite again with --rest-json, or read the file with the rest-checks "
            "version that wrote it"
        )
        raise ResultsFileError(
            f"{path}: results format {found!r}, this rest-checks reads format "
            f"{RESULTS_FORMAT}; {way_out}"
        )
    return cast(ResultsDocument, data)


def load_results(path: Path) -> ResultsDocument:
    """Read a results JSON, saying which file and line is wrong if it cannot be used."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ResultsFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsFileError(
            f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})"
        ) from None
    return check_results_format(data, path)


def results_paths(paths: Sequence[Path]) -> list[Path]:
    """The results files named: a file as given, a folder as its ``*.json`` files (sorted
    by name). A folder without one is an error."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.glob("*.json") if p.is_file())
            if not inside:
                raise ResultsFileError(f"{path}: a folder with no results file (*.json) in it")
            found.extend(inside)
        else:
            found.append(path)
    return found


__all__ = [
    "ResultsFileError",
    "check_results_format",
    "load_results",
    "results_paths",
]
