"""Drawing a laid-out page and encoding it as PNG bytes: the renderer's output, kept in a
bounded in-memory cache. Pure and deterministic; fonts come from the repository's fonts/."""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw

from rest_checks.fonts import clear_font_cache
from rest_checks.render.colours import RGB, parse_colour
from rest_checks.render.layout import PageLayout, lay_out_page, require_text
from rest_checks.render.specs import (
    DEFAULT_SPEC,
    RenderSpec,
    forget_checked_specs,
    validate_spec,
)

#: The version of the bytes :func:`render_png` makes: raise it with any change that alters
#: them for the same text and spec (layout, drawing, image mode, PNG settings), so that
#: whatever is keyed by a rendering's inputs rather than its bytes is not served stale.
#: 2: palette PNGs at zlib level 4 (1: RGB at level 6).
RENDERER_VERSION = 2

# zlib level 4 on a palette page (benchmarks/harness_speed.py): at 200 DPI as fast as
# levels 1-3 and a fifth smaller; level 6 takes twice the time for 5% less, level 9 ten
# times.
PNG_COMPRESS_LEVEL = 4

# Rendered PNGs kept in memory: each item is rendered for the image and the ocr request.
RENDER_CACHE_SIZE = 256


def _draw(page: PageLayout, mode: str, background: int | RGB, ink: int | RGB) -> Image.Image:
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
    page = lay_out_page(text, spec)
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
    page = lay_out_page(text, spec)
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
    require_text(text)
    return _render_png_cached(text, spec)


@lru_cache(maxsize=RENDER_CACHE_SIZE)
def _render_png_cached(text: str, spec: RenderSpec) -> bytes:
    return encode_png(render_page(text, spec))


def clear_render_cache(*, fonts: bool = True) -> None:
    """Forget cached renderings and, unless ``fonts=False``, the loaded fonts."""
    _render_png_cached.cache_clear()
    if fonts:
        clear_font_cache()
        forget_checked_specs()
