"""Hypothesis strategies for renderings: colour pairs, render specs and page texts.

Every strategy draws only valid values (no ``filter`` that throws most draws away), and
shrinks towards the REST default rendering: DejaVu Sans, 200 DPI, black on white, a
6.5-inch page with half-inch margins, 12 pt. Numbers shrink towards their default rather
than towards the low end of their range, so a failure that happens only at low DPI
shrinks to the *highest* DPI that still fails: the threshold, which is what one wants to
know, instead of always to the minimum.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from rest_checks.fonts import font_names
from rest_checks.render.colours import RGB, contrast_ratio, format_colour
from rest_checks.render.specs import DEFAULT_SPEC, RenderSpec

MAX_CONTRAST = 21.0
_BLACK: RGB = (0, 0, 0)
_WHITE: RGB = (255, 255, 255)
_STEPS = 1024


def _anchored(draw: st.DrawFn, lo: int, hi: int, anchor: int) -> int:
    """An integer in [lo, hi] that shrinks towards ``anchor`` (clamped into the range)."""
    if lo > hi:
        raise ValueError(f"empty range [{lo}, {hi}]")
    anchor = min(max(anchor, lo), hi)
    up, down = hi - anchor, anchor - lo
    # One draw (each costs more than the arithmetic around it): 0 is the anchor, 1..up the
    # values above it, then the values below it, nearest first, so that shrinking the
    # draw moves a value towards the anchor from either side.
    step = draw(st.integers(0, up + down))
    return anchor + step if step <= up else anchor - (step - up)


@st.composite
def anchored_integers(draw: st.DrawFn, lo: int, hi: int, anchor: int) -> int:
    """Integers in [lo, hi] that shrink towards ``anchor`` instead of towards ``lo``."""
    return _anchored(draw, lo, hi, anchor)


def _blend(colour: RGB, target: RGB, step: int) -> RGB:
    """``colour`` moved ``step``/_STEPS of the way to ``target``, in sRGB integers."""
    r, g, b = (round(c + (t - c) * step / _STEPS) for c, t in zip(colour, target, strict=True))
    return (r, g, b)


def _repair(colour: RGB, target: RGB, against: RGB, min_contrast: float) -> RGB:
    """The colour nearest to ``colour`` on the way to ``target`` (black or white) whose
    contrast with ``against`` reaches ``min_contrast``; ``target`` itself must reach it.

    Contrast grows monotonically along the way, so a binary search finds the least step.
    """
    if contrast_ratio(colour, against) >= min_contrast:
        return colour
    lo, hi = 1, _STEPS  # hi always passes: at _STEPS the colour is ``target``
    while lo < hi:
        mid = (lo + hi) // 2
        if contrast_ratio(_blend(colour, target, mid), against) >= min_contrast:
            hi = mid
        else:
            lo = mid + 1
    return _blend(colour, target, lo)


def _check_contrast(min_contrast: float) -> None:
    if not 1.0 <= min_contrast <= MAX_CONTRAST:
        raise ValueError(
            f"min_contrast must be between 1 and {MAX_CONTRAST} (black on white), "
            f"got {min_contrast!r}"
        )


@st.composite
def colour_pairs(draw: st.DrawFn, min_contrast: float = 4.5) -> tuple[str, str]:
    """``(fg, bg)`` as ``"#rrggbb"`` whose WCAG contrast ratio is at least ``min_contrast``
    (4.5 is WCAG AA for body text). Shrinks towards black on white.

    The background is drawn first; if no text colour can reach the ratio against it, it is
    lightened just enough. The text colour is then drawn on the feasible side (darker or
    lighter than the background) and, if short of the ratio, moved towards black or white
    just enough. Every draw is used; repaired draws sit on the boundary of the ratio,
    which is where bugs live.
    """
    _check_contrast(min_contrast)
    # Colours are drawn as distances from white (background) or black (dark text), so they
    # shrink towards the default colour; each as one 24-bit number, one draw for three
    # channels.
    bg_rgb = _channels(draw(st.integers(0, 0xFFFFFF)), from_white=True)
    if max(contrast_ratio(_BLACK, bg_rgb), contrast_ratio(_WHITE, bg_rgb)) < min_contrast:
        bg_rgb = _repair(bg_rgb, _WHITE, _BLACK, min_contrast)
    dark_ok = contrast_ratio(_BLACK, bg_rgb) >= min_contrast
    light_ok = contrast_ratio(_WHITE, bg_rgb) >= min_contrast
    light_text = draw(st.booleans()) if dark_ok and light_ok else light_ok
    offsets = draw(st.integers(0, 0xFFFFFF))
    if light_text:
        fg_rgb = _repair(_channels(offsets, from_white=True), _WHITE, bg_rgb, min_contrast)
    else:
        fg_rgb = _repair(_channels(offsets, from_white=False), _BLACK, bg_rgb, min_contrast)
    return format_colour(fg_rgb), format_colour(bg_rgb)


def _channels(distance: int, *, from_white: bool) -> RGB:
    """The colour ``distance`` (red, green, blue bytes of a 24-bit number) from white or
    from black."""
    r, g, b = (distance >> 16) & 0xFF, (distance >> 8) & 0xFF, distance & 0xFF
    return (255 - r, 255 - g, 255 - b) if from_white else (r, g, b)


def _hundredths(value: float) -> int:
    return round(value * 100)


@st.composite
def render_specs(
    draw: st.DrawFn,
    fonts: Sequence[str] | None = None,
    min_dpi: int = 36,
    max_dpi: int = 300,
    min_contrast: float = 4.5,
    min_font_size_pt: float = 10.0,
    max_font_size_pt: float = 14.0,
) -> RenderSpec:
    """Valid :class:`RenderSpec` values over the repository's fonts (or ``fonts``), DPI in
    [min_dpi, max_dpi], colour pairs at or above ``min_contrast``, margins of 0.1 to 1 inch,
    pages 3 to 8.5 inches wide and font sizes in half points. Line spacing stays at its
    default. Shrinks towards :data:`~rest_checks.render.specs.DEFAULT_SPEC`.
    """
    known = font_names()
    if fonts is None:
        choices = list(known)
    else:
        choices = list(dict.fromkeys(fonts))
        unknown = [name for name in choices if name not in known]
        if unknown or not choices:
            raise ValueError(f"fonts {unknown or choices!r} not among known fonts {known}")
    if DEFAULT_SPEC.font in choices:
        # sampled_from shrinks to its first element.
        choices.remove(DEFAULT_SPEC.font)
        choices.insert(0, DEFAULT_SPEC.font)
    if not 1 <= min_dpi <= max_dpi:
        raise ValueError(f"need 1 <= min_dpi <= max_dpi, got {min_dpi}, {max_dpi}")
    if not 0 < min_font_size_pt <= max_font_size_pt:
        raise ValueError(
            f"need 0 < min_font_size_pt <= max_font_size_pt, "
            f"got {min_font_size_pt}, {max_font_size_pt}"
        )
    _check_contrast(min_contrast)

    font = draw(st.sampled_from(choices))
    dpi = _anchored(draw, min_dpi, max_dpi, DEFAULT_SPEC.dpi)
    fg, bg = draw(colour_pairs(min_contrast))
    # Lengths on a grid of hundredths of an inch, sizes in half points: exact and readable.
    margin_in = _anchored(draw, 10, 100, _hundredths(DEFAULT_SPEC.margin_in)) / 100
    page_width_in = _anchored(draw, 300, 850, _hundredths(DEFAULT_SPEC.page_width_in)) / 100
    half_points = _anchored(
        draw,
        round(min_font_size_pt * 2),
        round(max_font_size_pt * 2),
        round(DEFAULT_SPEC.font_size_pt * 2),
    )
    return RenderSpec(
        font=font,
        dpi=dpi,
        fg=fg,
        bg=bg,
        page_width_in=page_width_in,
        margin_in=margin_in,
        font_size_pt=half_points / 2,
    )


@st.composite
def page_texts(
    draw: st.DrawFn,
    alphabet: str = "ABCDE0123456789+-=abcdefghijklmnopqrstuvwxyz.,?()",
    max_lines: int = 6,
    max_words: int = 12,
    max_word_len: int = 40,
) -> str:
    """Multi-line texts of space-separated words, with blank lines and, now and then,
    words longer than a line. Shrinks towards the empty text."""
    words = st.text(alphabet=alphabet, min_size=1, max_size=max_word_len)
    line = st.lists(words, max_size=max_words).map(" ".join)
    lines = draw(st.lists(line, min_size=1, max_size=max_lines))
    return "\n".join(lines)
