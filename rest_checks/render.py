"""Text -> PNG bytes. Pure and deterministic; fonts come from the repository's fonts/."""

from __future__ import annotations

from dataclasses import dataclass


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


def render_png(text: str, spec: RenderSpec = DEFAULT_SPEC) -> bytes:
    """Render ``text`` with ``spec`` as PNG bytes (placeholder until the renderer lands)."""
    raise NotImplementedError
