"""Where text goes on a page: lines wrapped to the text width (measured by their ink, which
cursive fonts let overhang their advance), then placed below one another within the margins.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from dataclasses import dataclass

from PIL import ImageFont

from rest_checks.fonts import load_font
from rest_checks.render.specs import (
    RenderSpec,
    font_size_px,
    margin_px,
    text_width_px,
    validate_spec,
)

# Refuse pages beyond this many pixels: a typo in a DPI should fail, not fill memory.
MAX_PIXELS = 1 << 27


def require_text(text: object) -> None:
    """A TypeError unless ``text`` is a str (the renderer's inputs come from data files)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")


# --- lines -------------------------------------------------------------------------------

_PIECE = re.compile(r"\s*\S+")


def line_width(font: ImageFont.FreeTypeFont, line: str) -> float:
    """Horizontal room ``line`` needs when drawn at its left edge: the larger of its advance
    and its ink, plus any ink that overhangs to the left (cursive fonts do)."""
    if not line:
        return 0.0
    left, _, right, _ = font.getbbox(line, anchor="la")
    return max(font.getlength(line), right) - min(0, left)


def _fits(font: ImageFont.FreeTypeFont, line: str, width_px: float) -> bool:
    """``line_width(font, line) <= width_px``, measuring the ink (the costly part) only
    near the edge: the width is at least the advance, and exceeds it by no more than the
    line's glyphs overhang their advances (plus kerning) on either side."""
    advance = font.getlength(line)
    if advance > width_px:
        return False
    if advance + _overhang_bound(font, line) <= width_px:
        return True
    return line_width(font, line) <= width_px


# The most any glyph's ink reaches beyond its advance on the right plus before its origin
# on the left, per font file, size and character.
_OVERHANGS: dict[tuple[object, float, str], float] = {}


def _overhang_bound(font: ImageFont.FreeTypeFont, line: str) -> float:
    """An upper bound of ``line_width(font, line) - font.getlength(line)``."""
    return _bound_from(font, _widest_overhang(font, line))


def _bound_from(font: ImageFont.FreeTypeFont, widest: float) -> float:
    # A left and a right overhang of the widest glyph (each at most its whole overhang),
    # and half an em for kerning between the last glyphs.
    return 2 * widest + font.size / 2


def _widest_overhang(font: ImageFont.FreeTypeFont, text: str) -> float:
    """The largest overhang (ink beyond the advance on the right plus ink before the
    origin on the left) of any character of ``text``."""
    widest = 0.0
    for char in set(text):
        key = (font.path, font.size, char)
        overhang = _OVERHANGS.get(key)
        if overhang is None:
            left, _, right, _ = font.getbbox(char, anchor="la")
            overhang = max(0.0, right - font.getlength(char)) + max(0.0, -left)
            _OVERHANGS[key] = overhang
        widest = max(widest, overhang)
    return widest


class _Advance:
    """A growing line's advance, kept by adding each piece's advance and the kerning of
    the pair where they meet (how the basic layout measures) instead of measuring the
    whole line again; only ever used to skip measuring where a piece clearly fits."""

    def __init__(self, font: ImageFont.FreeTypeFont) -> None:
        self.font = font
        self.value = 0.0
        self.widest = 0.0

    def start(self, line: str) -> None:
        self.value = self.font.getlength(line) if line else 0.0
        self.widest = _widest_overhang(self.font, line)

    def clearly_fits(self, line: str, piece: str, width_px: float) -> tuple[bool, float, float]:
        """Whether ``line + piece`` fits with room to spare, and its advance and widest
        overhang (to ``add`` when it is taken)."""
        font = self.font
        pair = line[-1] + piece[0]
        kerning = font.getlength(pair) - font.getlength(line[-1]) - font.getlength(piece[0])
        value = self.value + font.getlength(piece) + kerning
        widest = max(self.widest, _widest_overhang(font, piece))
        # A pixel to spare against rounding in the sum.
        return value + _bound_from(font, widest) + 1 <= width_px, value, widest


def _split_long(font: ImageFont.FreeTypeFont, word: str, width_px: float) -> list[str]:
    """Break ``word`` (no spaces, except an indent in front) into pieces that fit."""
    pieces: list[str] = []
    rest = word
    while len(rest) > 1 and not _fits(font, rest, width_px):
        # Longest prefix that fits; a single character goes on its own line even if it
        # does not fit, and the page widens for it.
        lo, hi = 1, len(rest) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if _fits(font, rest[:mid], width_px):
                lo = mid
            else:
                hi = mid - 1
        cut = lo
        # Keep combining marks with their base character.
        while cut > 1 and unicodedata.combining(rest[cut]):
            cut -= 1
        head = rest[:cut]
        if not head.strip():
            # Only indent fits before the word: drop the indent instead of a blank line.
            rest = rest.lstrip()
            continue
        pieces.append(head)
        rest = rest[cut:]
    pieces.append(rest)
    return pieces


def _wrap_paragraph(font: ImageFont.FreeTypeFont, paragraph: str, width_px: float) -> list[str]:
    paragraph = paragraph.rstrip()
    if _fits(font, paragraph, width_px):
        return [paragraph]
    lines: list[str] = []
    current = ""
    advance = _Advance(font)
    for match in _PIECE.finditer(paragraph):
        piece = match.group()
        if current:
            clear, value, widest = advance.clearly_fits(current, piece, width_px)
            if clear or _fits(font, current + piece, width_px):
                current += piece
                advance.value, advance.widest = value, widest
                continue
            lines.append(current)
            # Whitespace at a break is dropped; an indent only counts on the first line.
            piece = piece.lstrip()
        *full, current = _split_long(font, piece, width_px)
        lines.extend(full)
        advance.start(current)
    lines.append(current)
    return lines


def _normalise(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [line.expandtabs(4) for line in text.split("\n")]


def wrap_lines(text: str, font: ImageFont.FreeTypeFont, width_px: float) -> list[str]:
    """The lines ``text`` is drawn as: explicit newlines and blank lines are kept, long lines
    are wrapped at spaces to ``width_px`` (as measured by :func:`line_width`), and a word
    longer than a line is broken between characters. Trailing spaces are dropped; tabs
    become 4-column stops."""
    if width_px <= 0:
        raise ValueError(f"width_px must be positive, got {width_px!r}")
    lines: list[str] = []
    for paragraph in _normalise(text):
        lines.extend(_wrap_paragraph(font, paragraph, width_px))
    return lines


# --- the page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PageLayout:
    """Where each line of a page goes: the layout both drawings share."""

    font: ImageFont.FreeTypeFont
    size: tuple[int, int]
    # Top-left corner of each line's layout box, in page pixels, and its text.
    lines: tuple[tuple[int, int, str], ...]
    # Whether the ink of two lines can touch the same pixel (tight line spacing or tall
    # glyphs): there a pixel is blended twice, which one palette index cannot express.
    inks_overlap: bool


def lay_out_page(text: str, spec: RenderSpec) -> PageLayout:
    """Wrap ``text`` to ``spec``'s text width and place its lines on a page just tall
    (and, for a glyph wider than the text width, wide) enough for every glyph's ink."""
    validate_spec(spec)
    require_text(text)
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        raise ValueError("text holds a lone surrogate code point, which cannot be drawn")
    font = load_font(spec.font, font_size_px(spec))
    margin = margin_px(spec)
    width = text_width_px(spec)
    lines = wrap_lines(text, font, width)

    ascent, descent = font.getmetrics()
    pitch = font_size_px(spec) * spec.line_spacing
    # Positions relative to the top-left corner of the text area.
    placed: list[tuple[int, int, str]] = []
    inks: list[tuple[int, int]] = []
    top, bottom, right = 0, round((len(lines) - 1) * pitch) + ascent + descent, width
    for i, line in enumerate(lines):
        y = round(i * pitch)
        if not line.strip():
            continue
        # Pillow reports whole pixels; the rounding only guards against a float slipping in.
        left_ink, top_ink, right_ink, bottom_ink = (
            math.floor(v) if k < 2 else math.ceil(v)
            for k, v in enumerate(font.getbbox(line, anchor="la"))
        )
        x = max(0, -left_ink)
        placed.append((x, y, line))
        inks.append((y + top_ink, y + bottom_ink))
        top = min(top, y + top_ink)
        bottom = max(bottom, y + bottom_ink)
        right = max(right, x + right_ink)
    page_w = right + 2 * margin
    page_h = bottom - top + 2 * margin
    if page_w * page_h > MAX_PIXELS:
        raise ValueError(
            f"page of {page_w}x{page_h} pixels is over the limit of {MAX_PIXELS} "
            f"({len(lines)} lines at {spec.dpi} DPI)"
        )
    overlap = any(lower[0] < upper[1] for upper, lower in itertools.pairwise(inks))
    shifted = tuple((margin + x, margin - top + y, line) for x, y, line in placed)
    return PageLayout(font, (page_w, page_h), shifted, overlap)
