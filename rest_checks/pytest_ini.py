"""pytest's ini file as a run from a folder would find it, for commands that run outside
pytest (``rest-checks cache``), so that they use the folders the suite uses.

From the folder up to the root, the first of ``pytest.ini``, ``.pytest.ini``, a
``pyproject.toml`` with a ``[tool.pytest.ini_options]`` (or ``[tool.pytest]``) table, a
``tox.ini`` with a ``[pytest]`` section or a ``setup.cfg`` with a ``[tool:pytest]`` one is
the ini file, and its folder the rootdir; without one, the folder itself is the rootdir.
That is pytest's rule for a run started in that folder with no path arguments, ``-c`` or
``--rootdir``.
"""

from __future__ import annotations

import configparser
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

INI_NAMES = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")


@dataclass(frozen=True)
class PytestIni:
    """The rootdir, the ini file found (``None``: none) and its ``[pytest]`` values."""

    rootdir: Path
    path: Path | None = None
    values: dict[str, Any] = field(default_factory=dict)


def find_ini(start: Path) -> PytestIni:
    """The ini file a pytest run started in ``start`` reads (an unreadable candidate is
    passed over, as if absent)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        for name in INI_NAMES:
            path = folder / name
            if not path.is_file():
                continue
            values = _section(path)
            if values is not None:
                return PytestIni(folder, path, values)
    return PytestIni(start)


def _section(path: Path) -> dict[str, Any] | None:
    """The pytest values of a candidate file; ``None`` where it holds no pytest section."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if path.name == "pyproject.toml":
        try:
            tool = tomllib.loads(text).get("tool", {})
        except tomllib.TOMLDecodeError:
            return None
        pytest_table = tool.get("pytest") if isinstance(tool, dict) else None
        if not isinstance(pytest_table, dict):
            return None
        options = pytest_table.get("ini_options", pytest_table)
        return dict(options) if isinstance(options, dict) else None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error:
        return None
    section = {"setup.cfg": "tool:pytest"}.get(path.name, "pytest")
    if parser.has_section(section):
        return dict(parser.items(section))
    return {} if path.name in ("pytest.ini", ".pytest.ini") else None
