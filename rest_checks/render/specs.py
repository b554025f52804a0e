"""How a text is drawn (:class:`RenderSpec`): its validation, its pixel geometry, its
description and label in words, and the REST+ grid of renderings."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from rest_checks.fonts import font_info
from rest_checks.render.colours import COLOUR_NAMES, colour_name, parse_colour


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


# --- validation --------------------------------------------------------------------------


def validate_spec(spec: RenderSpec) -> None:
    """Raise ValueError naming the first field of ``spec`` that cannot be rendered."""
    identity = spec_identity(spec)
    if identity in _VALID_SPECS:
        return
    _check_spec(spec)
    _VALID_SPECS.add(identity)


# Specs already checked: a run asks about the same few renderings tens of thousands of
# times. Keyed with the fields' types, since RenderSpec(dpi=200.0) == RenderSpec(dpi=200)
# and only the second is valid.
_VALID_SPECS: set[tuple[object, ...]] = set()


def forget_checked_specs() -> None:
    """Check every spec again when next asked: a spec names a font that may now be missing."""
    _VALID_SPECS.clear()


def spec_identity(spec: RenderSpec) -> tuple[object, ...]:
    """``spec``'s class, field values and their types: what tells two specs apart where
    ``==`` does not (``RenderSpec(dpi=200.0) == RenderSpec(dpi=200)``)."""
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


# --- geometry in pixels ------------------------------------------------------------------


def font_size_px(spec: RenderSpec) -> float:
    """The font's em size in pixels: points are 1/72 inch."""
    return spec.font_size_pt * spec.dpi / 72


def margin_px(spec: RenderSpec) -> int:
    """Each margin's width in pixels (``spec`` is taken as valid)."""
    return round(spec.margin_in * spec.dpi)


def _page_width_px(spec: RenderSpec) -> int:
    return round(spec.page_width_in * spec.dpi)


def _text_width_px(spec: RenderSpec) -> int:
    return _page_width_px(spec) - 2 * margin_px(spec)


def text_width_px(spec: RenderSpec) -> int:
    """Width in pixels that lines are wrapped to: the page less both margins."""
    validate_spec(spec)
    return _text_width_px(spec)


# --- in words ----------------------------------------------------------------------------


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


# --- the REST+ grid ----------------------------------------------------------------------


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
