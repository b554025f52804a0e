"""Text -> PNG bytes. Pure and deterministic; fonts come from the repository's fonts/."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import re
import unicodedata
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import PIL
from PIL import Image, ImageDraw, ImageFont, features

from rest_checks.fonts import clear_font_cache, font_info, font_sha256, load_font


@dataclass(frozen=True)
class RenderSpec:
    """How a text is drawn. Lengths are in inches so that DPI scales the whole page."""

    font: str = "dejavu-sans"
    dpi: int = 200
    fg: str = "#000000"
    bg: str = "#ffffff"
    page_width_in: float = 6.5
    margin_in: float = 0.5
    font_size_pt: float = 12.0
    line_spacing: float = 1.25


DEFAULT_SPEC = RenderSpec()
_SPEC_FIELDS = tuple(f.name for f in fields(RenderSpec))

RGB = tuple[int, int, int]

#: The version of the bytes :func:`render_png` makes: raise it with any change that alters
#: them for the same text and spec (layout, drawing, image mode, PNG settings), so that
#: whatever is keyed by a rendering's inputs rather than its bytes is not served stale.
#: 2: palette PNGs at zlib level 4 (1: RGB at level 6).
RENDERER_VERSION = 2

# zlib level 4 on a palette page (benchmarks/harness_speed.py): at 200 DPI as fast as
# levels 1-3 and a fifth smaller; level 6 takes twice the time for 5% less, level 9 ten
# times.
PNG_COMPRESS_LEVEL = 4
# Refuse pages beyond this many pixels: a typo in a DPI should fail, not fill memory.
MAX_PIXELS = 1 << 27
# Rendered PNGs kept in memory: each item is rendered for the image and the ocr request.
RENDER_CACHE_SIZE = 256

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


# --- colours -----------------------------------------------------------------------------


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


# --- specs -------------------------------------------------------------------------------


def validate_spec(spec: RenderSpec) -> None:
    """Raise ValueError naming the first field of ``spec`` that cannot be rendered."""
    identity = _typed(spec)
    if identity in _VALID_SPECS:
        return
    _check_spec(spec)
    _VALID_SPECS.add(identity)


# Specs already checked: a run asks about the same few renderings tens of thousands of
# times. Keyed with the fields' types, since RenderSpec(dpi=200.0) == RenderSpec(dpi=200)
# and only the second is valid.
_VALID_SPECS: set[tuple[object, ...]] = set()


def _typed(spec: RenderSpec) -> tuple[object, ...]:
    values = tuple(getattr(spec, name) for name in _SPEC_FIELDS)
    return (type(spec), values, tuple(type(value) for value in values))


def _check_spec(spec: RenderSpec) -> None:
    font_info(spec.font)
    for field_name in ("fg", "bg"):
        try:
            parse_colour(getattr(spec, field_name))
        except ValueError as exc:
            raise ValueError(f"RenderSpec.{field_name}: {exc}") from None
    if isinstance(spec.dpi, bool) or not isinstance(spec.dpi, int) or spec.dpi <= 0:
        raise ValueError(f"RenderSpec.dpi must be a positive integer, got {spec.dpi!r}")
    for field_name in ("page_width_in", "font_size_pt", "line_spacing"):
        value = getattr(spec, field_name)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"RenderSpec.{field_name} must be a positive number, got {value!r}")
    margin = spec.margin_in
    if not (isinstance(margin, (int, float)) and math.isfinite(margin) and margin >= 0):
        raise ValueError(f"RenderSpec.margin_in must be a number >= 0, got {margin!r}")
    if _text_width_px(spec) <= 0:
        raise ValueError(
            f"RenderSpec leaves no room for text: page_width_in={spec.page_width_in} "
            f"with margin_in={spec.margin_in} on both sides at {spec.dpi} DPI"
        )


def font_size_px(spec: RenderSpec) -> float:
    """The font's em size in pixels: points are 1/72 inch."""
    return spec.font_size_pt * spec.dpi / 72


def _margin_px(spec: RenderSpec) -> int:
    return round(spec.margin_in * spec.dpi)


def _page_width_px(spec: RenderSpec) -> int:
    return round(spec.page_width_in * spec.dpi)


def _text_width_px(spec: RenderSpec) -> int:
    return _page_width_px(spec) - 2 * _margin_px(spec)


def text_width_px(spec: RenderSpec) -> int:
    """Width in pixels that lines are wrapped to: the page less both margins."""
    validate_spec(spec)
    return _text_width_px(spec)


def _fmt_number(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class SpecPart:
    """One aspect of a rendering, as :func:`describe_spec` and :func:`spec_label` write it.

    ``fields`` are the :class:`RenderSpec` fields it covers, ``words`` its phrase in a
    description and ``label`` its fragment of a label, or None where labels leave it out.
    """

    fields: tuple[str, ...]
    words: str
    label: str | None


# Numeric fields that are mentioned only where they differ from the default:
# (field, words, label), each with one ``{}`` for the number.
_NUMERIC_PARTS: tuple[tuple[str, str, str], ...] = (
    ("font_size_pt", "{} pt", "{}pt"),
    ("page_width_in", "{} in wide page", "w{}in"),
    ("margin_in", "{} in margins", "m{}in"),
    ("line_spacing", "line spacing {}", "ls{}"),
)


def spec_parts(spec: RenderSpec) -> tuple[SpecPart, ...]:
    """The aspects of ``spec`` in order: font, DPI, colours, then each numeric field that
    differs from :data:`DEFAULT_SPEC`. The one place that words a rendering; both
    :func:`describe_spec` and :func:`spec_label` are built from it."""
    validate_spec(spec)
    fg, bg = spec.fg.lower(), spec.bg.lower()
    plain = (fg, bg) == (DEFAULT_SPEC.fg, DEFAULT_SPEC.bg)
    parts = [
        SpecPart(("font",), font_info(spec.font).description, spec.font),
        SpecPart(("dpi",), f"{spec.dpi} DPI", f"{spec.dpi}dpi"),
        # Colours are always described; labels leave out black on white.
        SpecPart(
            ("fg", "bg"),
            f"{colour_name(fg)} on {colour_name(bg)}",
            None if plain else f"{fg[1:]}-on-{bg[1:]}",
        ),
    ]
    for field_name, words, label in _NUMERIC_PARTS:
        value = getattr(spec, field_name)
        if value != getattr(DEFAULT_SPEC, field_name):
            number = _fmt_number(value)
            parts.append(SpecPart((field_name,), words.format(number), label.format(number)))
    return tuple(parts)


def describe_spec(spec: RenderSpec) -> str:
    """The spec in words, e.g. ``"Courier-like mono (Liberation Mono), 50 DPI, red on white"``.

    Page geometry and font size are mentioned only where they differ from the default.
    """
    return ", ".join(part.words for part in spec_parts(spec))


def spec_label(spec: RenderSpec) -> str:
    """A short label safe in test ids and file names: ``dancing-script-50dpi-ff0000-on-ffffff``.

    Black on white and default geometry are left out, so the REST+ grid's black-on-white
    variants are labelled by their grid names (``dejavu-sans-200dpi``). Distinct specs get
    distinct labels.
    """
    return "-".join(part.label for part in spec_parts(spec) if part.label is not None)


def _grid() -> dict[str, RenderSpec]:
    grid = {
        f"{font}-{dpi}dpi": RenderSpec(font=font, dpi=dpi)
        for font in ("dejavu-sans", "liberation-mono", "dancing-script")
        for dpi in (50, 100, 200)
    }
    # Colour variants at the REST default otherwise. Yellow on white is kept although its
    # contrast ratio is only 1.07 (red 4.0, green 5.1, blue 8.6): the paper used it, and
    # its blue channel still carries the text at full contrast.
    for name in ("red", "yellow", "green", "blue"):
        hex_colour = next(h for h, n in COLOUR_NAMES.items() if n == name)
        grid[f"{name}-text"] = RenderSpec(fg=hex_colour)
    return grid


# REST+ (docs/rest-plus.md): 3 fonts x {50, 100, 200} DPI in black on white, plus coloured text.
REST_PLUS_GRID: dict[str, RenderSpec] = _grid()


# --- layout ------------------------------------------------------------------------------

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


# --- drawing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Page:
    """Where each line of a page goes: the layout both drawings share."""

    font: ImageFont.FreeTypeFont
    size: tuple[int, int]
    # Top-left corner of each line's layout box, in page pixels, and its text.
    lines: tuple[tuple[int, int, str], ...]
    # Whether the ink of two lines can touch the same pixel (tight line spacing or tall
    # glyphs): there a pixel is blended twice, which one palette index cannot express.
    inks_overlap: bool


def _layout(text: str, spec: RenderSpec) -> _Page:
    validate_spec(spec)
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        raise ValueError("text holds a lone surrogate code point, which cannot be drawn")
    font = load_font(spec.font, font_size_px(spec))
    margin = _margin_px(spec)
    width = _text_width_px(spec)
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
    return _Page(font, (page_w, page_h), shifted, overlap)


def _draw(page: _Page, mode: str, background: int | RGB, ink: int | RGB) -> Image.Image:
    image = Image.new(mode, page.size, background)
    draw = ImageDraw.Draw(image)
    for x, y, line in page.lines:
        draw.text((x, y), line, font=page.font, fill=ink, anchor="la")
    return image


def render_image(text: str, spec: RenderSpec = DEFAULT_SPEC) -> Image.Image:
    """Draw ``text`` with ``spec`` as an RGB image (uncached; see :func:`render_png`).

    The page is ``spec.page_width_in`` wide; its height grows with the text. Text is never
    clipped: every glyph's ink lies inside the margins (the page widens only in the
    degenerate case of a single character wider than the whole text width).
    """
    page = _layout(text, spec)
    return _draw(page, "RGB", parse_colour(spec.bg), parse_colour(spec.fg))


def blend_channel(background: int, ink: int, coverage: int) -> int:
    """One 8-bit channel of a pixel that glyph ``coverage`` (0-255) paints ``ink`` over
    ``background``: the rounded ``(background * (255 - coverage) + ink * coverage) / 255``,
    the integer arithmetic Pillow draws text with."""
    total = background * (255 - coverage) + ink * coverage + 128
    return ((total >> 8) + total) >> 8


@lru_cache(maxsize=64)
def text_palette(fg: RGB, bg: RGB) -> bytes:
    """The 256 colours anti-aliased text in ``fg`` on ``bg`` can take: entry ``a`` is the
    pixel a glyph covering ``a``/255 of it draws."""
    return bytes(blend_channel(b, f, a) for a in range(256) for f, b in zip(fg, bg, strict=True))


def render_page(text: str, spec: RenderSpec = DEFAULT_SPEC) -> Image.Image:
    """``text`` drawn with ``spec`` as a palette image: exactly the pixels of :func:`render_image`,
    one byte each instead of three (uncached; see :func:`render_png`).

    Text in one colour on one background, anti-aliased, takes at most 256 colours: the
    glyphs' coverage is drawn as an 8-bit mask and used as the palette index. Where the
    ink of two lines overlaps (line spacing tighter than the glyphs), a pixel may be
    blended twice, which no single index expresses: such a page stays RGB.
    """
    page = _layout(text, spec)
    fg, bg = parse_colour(spec.fg), parse_colour(spec.bg)
    if page.inks_overlap:
        return _draw(page, "RGB", bg, fg)
    coverage = _draw(page, "L", 0, 255)
    coverage.putpalette(text_palette(fg, bg))
    return coverage


def encode_png(image: Image.Image) -> bytes:
    """PNG bytes with nothing but the pixels (and a palette image's palette): no
    timestamps, text chunks or DPI."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL, optimize=False)
    return buffer.getvalue()


def render_png(text: str, spec: RenderSpec = DEFAULT_SPEC) -> bytes:
    """Render ``text`` with ``spec`` as PNG bytes.

    A palette PNG (see :func:`render_page`) whose pixels are exactly those of
    :func:`render_image`. Deterministic: the same text and spec give the same bytes (for a
    given :data:`RENDERER_VERSION`, Pillow, FreeType and zlib). Results are kept in a
    bounded in-memory cache.
    """
    # Checked before the cache: RenderSpec(dpi=200.0) == RenderSpec(dpi=200) as a key.
    validate_spec(spec)
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    return _render_png_cached(text, spec)


@lru_cache(maxsize=RENDER_CACHE_SIZE)
def _render_png_cached(text: str, spec: RenderSpec) -> bytes:
    return encode_png(render_page(text, spec))


def page_key(text: str, spec: RenderSpec = DEFAULT_SPEC) -> str:
    """A hash of everything that determines ``render_png(text, spec)``'s bytes, computed
    without rendering: the text, the spec, the font file's SHA-256, ``RENDERER_VERSION``,
    the PNG settings and the Pillow, FreeType and zlib versions. The response cache keys
    images by it, so a cached case renders nothing."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    validate_spec(spec)
    inputs = (
        RENDERER_VERSION,
        PNG_COMPRESS_LEVEL,
        tuple(sorted(_library_versions().items())),
        font_sha256(spec.font),
        _typed(spec),
    )
    blob = _page_key_prefix(inputs, spec) + json.dumps(text, ensure_ascii=False) + "}"
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@lru_cache(maxsize=256)
def _page_key_prefix(inputs: tuple[Any, ...], spec: RenderSpec) -> str:
    """The JSON of a page key's ``inputs`` (all but the text, which sorts last):
    ``page_key`` appends the text and closes the object. Cached, since a run asks for the
    keys of thousands of pages in a few renderings."""
    renderer, compress_level, libraries, font_hash, _ = inputs
    blob = json.dumps(
        {
            "renderer": renderer,
            "png_compress_level": compress_level,
            "libraries": dict(libraries),
            "font_sha256": font_hash,
            "spec": asdict(spec),
            "text": "",
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    suffix = '"text":""}'
    assert blob.endswith(suffix), "the text must sort last among a page key's inputs"
    return blob[: -len(suffix)] + '"text":'


@lru_cache(maxsize=1)
def _library_versions() -> dict[str, str | None]:
    """The libraries whose versions can change a page's pixels or PNG bytes."""
    return {
        "pillow": PIL.__version__,
        "freetype": features.version("freetype2"),
        "zlib": features.version("zlib"),
    }


def clear_render_cache(*, fonts: bool = True) -> None:
    """Forget cached renderings and, unless ``fonts=False``, the loaded fonts."""
    _render_png_cached.cache_clear()
    if fonts:
        clear_font_cache()
        _VALID_SPECS.clear()  # a spec names a font that may now be missing
