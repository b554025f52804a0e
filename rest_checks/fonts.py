"""The fonts a rendering may use. They are files in the repository's ``fonts/``, never
system fonts, so that an image looks the same on every machine that runs the suite.

An installed wheel carries the same files as ``rest_checks/font_files/`` (``setup.py`` maps
``fonts/`` there at build time); a checkout reads ``fonts/`` itself. The directory can be
moved with the environment variable ``REST_CHECKS_FONTS_DIR``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from PIL import ImageFont

FONTS_DIR_ENV = "REST_CHECKS_FONTS_DIR"
_PACKAGE_DIR = Path(__file__).resolve().parent
# Installed from a wheel: the package's own copy; in a checkout: the repository's fonts/.
DEFAULT_FONTS_DIR = (
    _PACKAGE_DIR / "font_files"
    if (_PACKAGE_DIR / "font_files").is_dir()
    else _PACKAGE_DIR.parent / "fonts"
)


@dataclass(frozen=True)
class FontInfo:
    """One registered font: its file in the fonts directory and how to speak of it."""

    name: str
    filename: str
    family: str
    description: str
    licence: str


# The three REST+ typefaces (docs/rest-plus.md): DejaVu Sans, Courier New and a cursive font.
# Liberation Mono stands in for Courier New, to which it is metric-compatible.
FONTS: MappingProxyType[str, FontInfo] = MappingProxyType(
    {
        "dejavu-sans": FontInfo(
            name="dejavu-sans",
            filename="DejaVuSans.ttf",
            family="DejaVu Sans",
            description="DejaVu Sans",
            licence="DejaVuSans.LICENSE",
        ),
        "liberation-mono": FontInfo(
            name="liberation-mono",
            filename="LiberationMono-Regular.ttf",
            family="Liberation Mono",
            description="Courier-like mono (Liberation Mono)",
            licence="LiberationMono-Regular.LICENSE",
        ),
        "dancing-script": FontInfo(
            name="dancing-script",
            filename="DancingScript-Regular.otf",
            family="Dancing Script",
            description="cursive (Dancing Script)",
            licence="DancingScript-Regular.LICENSE",
        ),
    }
)


def font_names() -> tuple[str, ...]:
    """Names of the registered fonts, the default (``dejavu-sans``) first."""
    return tuple(FONTS)


def fonts_dir() -> Path:
    """The directory fonts load from: ``$REST_CHECKS_FONTS_DIR``, the installed package's
    font_files/, or the repository's fonts/."""
    override = os.environ.get(FONTS_DIR_ENV)
    return Path(override).resolve() if override else DEFAULT_FONTS_DIR


def font_info(name: str) -> FontInfo:
    """The registry entry for ``name``; a ValueError that lists the known fonts otherwise."""
    try:
        return FONTS[name]
    except KeyError:
        known = ", ".join(font_names())
        raise ValueError(f"unknown font {name!r}; known fonts: {known}") from None


def font_path(name: str) -> Path:
    """Path of the font file for ``name`` inside the fonts directory."""
    path = fonts_dir() / font_info(name).filename
    if not path.is_file():
        raise FileNotFoundError(
            f"font {name!r} expected at {path}, which does not exist "
            f"(fonts load from the installed package's font_files/, the repository's fonts/, "
            f"or ${FONTS_DIR_ENV})"
        )
    return path


def load_font(name: str, size_px: float) -> ImageFont.FreeTypeFont:
    """The font ``name`` at ``size_px`` pixels (em size), loaded once per path and size."""
    if not size_px > 0:
        raise ValueError(f"font size must be positive, got {size_px!r} px")
    return _load(str(font_path(name)), float(size_px))


@lru_cache(maxsize=64)
def _load(path: str, size_px: float) -> ImageFont.FreeTypeFont:
    # The basic layout engine keeps glyph placement independent of whether libraqm
    # happens to be installed, so the same text gives the same pixels everywhere.
    return ImageFont.truetype(path, size_px, layout_engine=ImageFont.Layout.BASIC)


def font_sha256(name: str) -> str:
    """SHA-256 of the font file ``name`` loads from, hashed once per file version (path,
    size and modification time), so a replaced font file changes every page key."""
    # A run asks this for every page key: one stat on a path built once, and font_path's
    # Path checks (and its message) only when the file is not there.
    path = _font_file(os.environ.get(FONTS_DIR_ENV), name)
    try:
        stat = os.stat(path)
    except OSError:
        font_path(name)  # raises, saying where the font was looked for
        raise
    return _file_sha256(path, stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=64)
def _font_file(override: str | None, name: str) -> str:
    """The font file's path as a string, for a value of ``$REST_CHECKS_FONTS_DIR``."""
    directory = Path(override).resolve() if override else DEFAULT_FONTS_DIR
    return str(directory / font_info(name).filename)


@lru_cache(maxsize=64)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def clear_font_cache() -> None:
    """Forget loaded fonts (after changing ``$REST_CHECKS_FONTS_DIR``, or in tests)."""
    _load.cache_clear()
    _file_sha256.cache_clear()
    _font_file.cache_clear()
