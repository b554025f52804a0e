"""Text -> PNG bytes. Pure and deterministic; fonts come from the repository's fonts/.

One module per job, in the order a page passes through them:

- :mod:`~rest_checks.render.colours`: ``#rrggbb`` colours, WCAG contrast, colour names;
- :mod:`~rest_checks.render.specs`: :class:`RenderSpec` (how a text is drawn), its
  validation, pixel geometry and wording, and the REST+ grid;
- :mod:`~rest_checks.render.layout`: lines wrapped to the text width and placed on a page;
- :mod:`~rest_checks.render.drawing`: the page drawn and encoded as PNG bytes (cached);
- :mod:`~rest_checks.render.page_keys`: a hash of what determines those bytes.

The public names are re-exported here for callers outside the package. Settings that tests
change (``RENDERER_VERSION``, ``PNG_COMPRESS_LEVEL``) are read from
:mod:`~rest_checks.render.drawing`: change them there, not on this package.
"""

from __future__ import annotations

from rest_checks.render.colours import (
    COLOUR_NAMES,
    RGB,
    colour_name,
    contrast_ratio,
    format_colour,
    parse_colour,
    relative_luminance,
)
from rest_checks.render.drawing import (
    PNG_COMPRESS_LEVEL,
    RENDER_CACHE_SIZE,
    RENDERER_VERSION,
    blend_channel,
    clear_render_cache,
    encode_png,
    render_image,
    render_page,
    render_png,
    text_palette,
)
from rest_checks.render.layout import MAX_PIXELS, PageLayout, lay_out_page, line_width, wrap_lines
from rest_checks.render.page_keys import page_key
from rest_checks.render.specs import (
    DEFAULT_SPEC,
    REST_PLUS_GRID,
    RenderSpec,
    SpecPart,
    describe_spec,
    font_size_px,
    spec_label,
    spec_parts,
    text_width_px,
    validate_spec,
)

__all__ = [
    "COLOUR_NAMES",
    "DEFAULT_SPEC",
    "MAX_PIXELS",
    "PNG_COMPRESS_LEVEL",
    "RENDERER_VERSION",
    "RENDER_CACHE_SIZE",
    "REST_PLUS_GRID",
    "RGB",
    "PageLayout",
    "RenderSpec",
    "SpecPart",
    "blend_channel",
    "clear_render_cache",
    "colour_name",
    "contrast_ratio",
    "describe_spec",
    "encode_png",
    "font_size_px",
    "format_colour",
    "lay_out_page",
    "line_width",
    "page_key",
    "parse_colour",
    "relative_luminance",
    "render_image",
    "render_page",
    "render_png",
    "spec_label",
    "spec_parts",
    "text_palette",
    "text_width_px",
    "validate_spec",
    "wrap_lines",
]
