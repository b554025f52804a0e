"""Colours of a rendering: ``#rrggbb`` parsed and written, WCAG luminance and contrast, and
the names descriptions use."""

from __future__ import annotations

import re
from types import MappingProxyType

RGB = tuple[int, int, int]

_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")

# Names used in descriptions; the REST+ text colours are the CSS / matplotlib named colours.
COLOUR_NAMES: MappingProxyType[str, str] = MappingProxyType(
    {
        "#000000": "black",
        "#ffffff": "white",
        "#ff0000": "red",
        "#ffff00": "yellow",
        "#008000": "green",
        "#0000ff": "blue",
        "#808080": "grey",
    }
)


def parse_colour(colour: str) -> RGB:
    """``"#rrggbb"`` (either case) -> ``(r, g, b)``; a ValueError for anything else."""
    if not isinstance(colour, str) or not _HEX_COLOUR.fullmatch(colour):
        raise ValueError(f"colour {colour!r} is not of the form '#rrggbb'")
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def format_colour(rgb: RGB) -> str:
    """``(r, g, b)`` -> ``"#rrggbb"`` in lower case."""
    if len(rgb) != 3 or any(not 0 <= c <= 255 for c in rgb):
        raise ValueError(f"colour {rgb!r} is not three channel values in 0..255")
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def relative_luminance(colour: str | RGB) -> float:
    """WCAG 2.x relative luminance of an sRGB colour, from 0 (black) to 1 (white)."""
    rgb = parse_colour(colour) if isinstance(colour, str) else colour

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(fg: str | RGB, bg: str | RGB) -> float:
    """WCAG 2.x contrast ratio, from 1 (same luminance) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def colour_name(colour: str) -> str:
    """A colour's name where it has one in :data:`COLOUR_NAMES`, else its hex form."""
    parse_colour(colour)
    return COLOUR_NAMES.get(colour.lower(), colour.lower())
