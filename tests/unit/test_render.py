"""Specification of the renderer: deterministic PNGs, text that is never clipped, pages that
scale with DPI, validated colours and the REST+ grid."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import subprocess
import sys
import zlib
from pathlib import Path

import PIL
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageFont, features

from rest_checks.fonts import font_info, font_names, load_font
from rest_checks.items import load_suite
from rest_checks.render import layout
from rest_checks.render.colours import colour_name, contrast_ratio, parse_colour
from rest_checks.render.drawing import (
    RENDERER_VERSION,
    clear_render_cache,
    render_image,
    render_png,
    text_palette,
)
from rest_checks.render.layout import line_width, wrap_lines
from rest_checks.render.specs import (
    DEFAULT_SPEC,
    REST_PLUS_GRID,
    RenderSpec,
    describe_spec,
    font_size_px,
    spec_label,
    spec_parts,
    text_width_px,
)
from rest_checks.strategies import page_texts, render_specs

# Letters with neither ascenders nor descenders in any of the fonts: lines of them never
# touch, so the lines in an image can be counted.
FLAT_LETTERS = "acemnorsuvwx"

RENDER_DIGESTS = Path(__file__).resolve().parents[1] / "data" / "render_digests.json"
SYSTEM = "2A + 3B - C = 7\nA - B + 4C = 11\n3A + 2B - 2C = 0"
PROPERTY = settings(max_examples=25, deadline=None)


def png_chunks(png: bytes) -> list[bytes]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, i = [], 8
    while i < len(png):
        length = int.from_bytes(png[i : i + 4], "big")
        chunks.append(png[i + 4 : i + 8])
        i += 12 + length
    return chunks


def ink_rows(image: Image.Image, bg: str) -> list[bool]:
    """For each row, whether any pixel differs from the background in any channel."""
    diff = ImageChops.difference(image, Image.new("RGB", image.size, parse_colour(bg)))
    red, green, blue = diff.split()
    data = ImageChops.lighter(ImageChops.lighter(red, green), blue).tobytes()
    width = image.size[0]
    return [data[y * width : (y + 1) * width].count(0) != width for y in range(image.size[1])]


def is_plain(image: Image.Image, box: tuple[int, int, int, int], colour: str) -> bool:
    region = image.crop(box)
    if region.size[0] == 0 or region.size[1] == 0:
        return True
    colours = region.getcolors(maxcolors=1 << 20)
    assert colours is not None
    return [rgb for _, rgb in colours] == [parse_colour(colour)]


# --- determinism -------------------------------------------------------------------------


@PROPERTY
@given(text=page_texts(), spec=render_specs())
def test_same_text_and_spec_give_identical_bytes(text: str, spec: RenderSpec) -> None:
    first = render_png(text, spec)
    clear_render_cache()  # fonts reloaded and the page drawn again from scratch
    second = render_png(text, spec)
    assert first == second


def test_png_holds_only_the_pixels() -> None:
    assert png_chunks(render_png(SYSTEM)) == [b"IHDR", b"PLTE", b"IDAT", b"IEND"]


def test_png_decodes_to_the_rendered_image() -> None:
    decoded = Image.open(io.BytesIO(render_png(SYSTEM)))
    assert decoded.mode == "P"
    assert decoded.convert("RGB").tobytes() == render_image(SYSTEM).tobytes()


def _grid_texts() -> list[str]:
    """The texts a run renders: whole items and their contexts, from every task source."""
    texts: list[str] = []
    for item in load_suite(["soebench", "arith", "mcq"], 2, 0):
        texts.extend((item.full_text(), item.context))
    return texts


@pytest.mark.parametrize("rendering", list(REST_PLUS_GRID))
def test_palette_png_has_exactly_the_pixels_of_the_rgb_rendering(rendering: str) -> None:
    spec = REST_PLUS_GRID[rendering]
    for text in _grid_texts():
        decoded = Image.open(io.BytesIO(render_png(text, spec)))
        assert decoded.mode == "P", f"{rendering}: {text[:40]!r}"
        rgb = render_image(text, spec)
        assert decoded.size == rgb.size
        assert decoded.convert("RGB").tobytes() == rgb.tobytes(), f"{rendering}: {text[:40]!r}"


@settings(max_examples=15, deadline=None)
@given(text=page_texts(), spec=render_specs())
def test_any_rendering_png_has_exactly_the_pixels_of_the_rgb_rendering(
    text: str, spec: RenderSpec
) -> None:
    decoded = Image.open(io.BytesIO(render_png(text, spec)))
    assert decoded.convert("RGB").tobytes() == render_image(text, spec).tobytes()


@pytest.mark.parametrize(
    ("fg", "bg"), [("#000000", "#ffffff"), ("#008000", "#ffffff"), ("#123456", "#fedcba")]
)
def test_text_palette_is_the_blend_pillow_draws(fg: str, bg: str) -> None:
    coverage = Image.frombytes("L", (256, 1), bytes(range(256)))
    painted = Image.new("RGB", (256, 1), parse_colour(bg))
    painted.paste(parse_colour(fg), (0, 0), coverage)
    assert painted.tobytes() == text_palette(parse_colour(fg), parse_colour(bg))


def test_page_whose_lines_overlap_stays_rgb_with_the_same_pixels() -> None:
    # At half the usual line spacing the cursive ascenders reach into the line above.
    spec = RenderSpec(font="dancing-script", line_spacing=0.5, fg="#123456", bg="#fedcba")
    decoded = Image.open(io.BytesIO(render_png(SYSTEM, spec)))
    assert decoded.mode == "RGB"
    assert decoded.tobytes() == render_image(SYSTEM, spec).tobytes()


def test_fresh_processes_render_identical_bytes() -> None:
    script = (
        "import hashlib, sys; from rest_checks.render.drawing import render_png; "
        "from rest_checks.render.specs import REST_PLUS_GRID; "
        f"print(hashlib.sha256(b''.join(render_png({SYSTEM!r}, s) "
        "for s in REST_PLUS_GRID.values())).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    }
    here = hashlib.sha256(b"".join(render_png(SYSTEM, s) for s in REST_PLUS_GRID.values()))
    assert digests == {here.hexdigest() + "\n"}


def test_changed_bytes_come_with_a_new_renderer_version() -> None:
    """The digests of the grid's renderings, recorded per renderer version and library
    versions: bytes that change while the versions stay the same fail here."""
    recorded = json.loads(RENDER_DIGESTS.read_text())
    environment = (
        f"renderer {RENDERER_VERSION}, Pillow {PIL.__version__}, "
        f"FreeType {features.version('freetype2')}, zlib {features.version('zlib')}"
    )
    digests = {
        name: hashlib.sha256(render_png(SYSTEM, spec)).hexdigest()
        for name, spec in REST_PLUS_GRID.items()
    }
    if environment not in recorded:
        pytest.skip(f"no digests recorded for {environment} in {RENDER_DIGESTS.name}")
    assert digests == recorded[environment], (
        "render_png's bytes changed: raise RENDERER_VERSION and record the new digests"
    )


def test_png_idat_is_a_valid_zlib_stream() -> None:
    png = render_png(SYSTEM)
    start = png.index(b"IDAT") + 4
    length = int.from_bytes(png[start - 8 : start - 4], "big")
    raw = zlib.decompress(png[start : start + length])
    width, height = render_image(SYSTEM).size
    assert len(raw) == height * (1 + width)  # one filter byte per row, one palette index


# --- wrapping ----------------------------------------------------------------------------


@PROPERTY
@given(text=page_texts(), spec=render_specs())
def test_wrapped_lines_fit_the_text_width(text: str, spec: RenderSpec) -> None:
    font = load_font(spec.font, font_size_px(spec))
    width = text_width_px(spec)
    for line in wrap_lines(text, font, width):
        assert line_width(font, line) <= width or len(line.strip()) == 1


@PROPERTY
@given(text=page_texts(), spec=render_specs())
def test_wrapping_keeps_every_character_in_order(text: str, spec: RenderSpec) -> None:
    font = load_font(spec.font, font_size_px(spec))
    lines = wrap_lines(text, font, text_width_px(spec))
    assert "".join(lines).replace(" ", "") == text.replace(" ", "").replace("\n", "")


@PROPERTY
@given(
    text=page_texts(alphabet="ABfgjTVWy0189+-=.,?()_/ \u0301"),
    spec=render_specs(),
    slack=st.integers(-40, 40),
)
def test_a_line_fits_exactly_when_its_measured_width_fits(
    text: str, spec: RenderSpec, slack: int
) -> None:
    # Wrapping measures the ink only near the edge; the answer must be the full measure's,
    # including widths within a few pixels of the line's.
    font = load_font(spec.font, font_size_px(spec))
    for line in text.split("\n"):
        width, advance = line_width(font, line), font.getlength(line)
        # Between the advance and the ink's reach is where measuring the advance alone errs.
        for limit in (width + slack / 8, width, advance, (advance + width) / 2):
            assert layout._fits(font, line, limit) == (width <= limit), (line, limit)


def greedy_wrap(font: ImageFont.FreeTypeFont, paragraph: str, width: float) -> list[str]:
    """Wrapping as defined: take each word while the whole line, measured in full, fits."""
    lines: list[str] = []
    current = ""
    for piece in re.findall(r"\s*\S+", paragraph.rstrip()):
        if current and line_width(font, current + piece) <= width:
            current += piece
            continue
        if current:
            lines.append(current)
            piece = piece.lstrip()
        *full, current = layout._split_long(font, piece, width)
        lines.extend(full)
    return [*lines, current]


@PROPERTY
@given(
    words=st.lists(st.text(alphabet="AVTWfjy.,0189+=() \u0301", min_size=1, max_size=12)),
    spec=render_specs(),
    width_em=st.floats(1, 40),
)
def test_wrapping_takes_each_word_while_the_measured_line_fits(
    words: list[str], spec: RenderSpec, width_em: float
) -> None:
    font = load_font(spec.font, font_size_px(spec))
    paragraph = " ".join(words)
    width = width_em * font_size_px(spec)
    assert wrap_lines(paragraph, font, width) == greedy_wrap(font, paragraph, width)


def test_explicit_newlines_and_blank_lines_are_kept() -> None:
    font = load_font("dejavu-sans", 20)
    assert wrap_lines("a\n\nb\n", font, 500) == ["a", "", "b", ""]
    assert wrap_lines("a\r\nb\rc", font, 500) == ["a", "b", "c"]


def test_indent_is_kept_and_trailing_spaces_dropped() -> None:
    font = load_font("dejavu-sans", 20)
    assert wrap_lines("    x = 1   ", font, 500) == ["    x = 1"]


def test_long_line_wraps_at_spaces() -> None:
    font = load_font("dejavu-sans", 20)
    text = "alpha beta gamma delta epsilon zeta eta theta"
    width = font.getlength("alpha beta gamma")
    lines = wrap_lines(text, font, width)
    assert len(lines) > 1
    assert " ".join(lines) == text
    assert all(line == line.strip() for line in lines)


def test_word_longer_than_a_line_is_broken_between_characters() -> None:
    font = load_font("liberation-mono", 20)
    word = "x" * 50
    width = font.getlength("x" * 12)
    lines = wrap_lines(f"ab {word} cd", font, width)
    assert lines[0] == "ab"
    assert "".join(lines[1:]).replace(" ", "") == word + "cd"
    assert all(line_width(font, line) <= width for line in lines)
    assert max(len(line) for line in lines) == 12


def test_wrap_width_counts_ink_beyond_the_advance() -> None:
    # Cursive "f" reaches past its advance width; a line that fits by advance alone
    # would push ink into the right margin.
    font = load_font("dancing-script", 40)
    assert font.getbbox("of")[2] > font.getlength("of")
    width = font.getlength("of of")
    lines = wrap_lines("of of of of", font, width)
    assert lines == ["of"] * 4
    assert all(font.getbbox(line, anchor="la")[2] <= width for line in lines)


def test_combining_mark_stays_with_its_letter() -> None:
    font = load_font("dejavu-sans", 20)
    word = "e\u0301" * 30
    for line in wrap_lines(word, font, font.getlength("e" * 7)):
        assert not line.startswith("\u0301")


# --- pages -------------------------------------------------------------------------------


@PROPERTY
@given(text=page_texts(), spec=render_specs())
def test_margins_are_background_and_the_text_area_has_ink(text: str, spec: RenderSpec) -> None:
    image = render_image(text, spec)
    width, height = image.size
    margin = round(spec.margin_in * spec.dpi)
    assert width == round(spec.page_width_in * spec.dpi)
    assert is_plain(image, (0, 0, width, margin), spec.bg)  # top
    assert is_plain(image, (0, height - margin, width, height), spec.bg)  # bottom
    assert is_plain(image, (0, 0, margin, height), spec.bg)  # left
    assert is_plain(image, (width - margin, 0, width, height), spec.bg)  # right
    text_area = (margin, margin, width - margin, height - margin)
    assert is_plain(image, text_area, spec.bg) == (not text.strip())


@PROPERTY
@given(
    lines=st.lists(
        st.lists(st.text(FLAT_LETTERS, min_size=1, max_size=30), max_size=8).map(" ".join),
        min_size=1,
        max_size=6,
    ),
    spec=render_specs(),
)
def test_every_line_is_drawn(lines: list[str], spec: RenderSpec) -> None:
    text = "\n".join(lines)
    font = load_font(spec.font, font_size_px(spec))
    wrapped = wrap_lines(text, font, text_width_px(spec))
    rows = ink_rows(render_image(text, spec), spec.bg)
    bands = sum(1 for above, row in zip([False, *rows], rows, strict=False) if row and not above)
    assert bands == sum(1 for line in wrapped if line.strip())


def test_page_grows_with_the_number_of_lines() -> None:
    heights = [render_image("\n".join(["x"] * n)).size[1] for n in (1, 2, 10)]
    assert heights[0] < heights[1] < heights[2]
    assert render_image("").size == render_image("x").size


@pytest.mark.parametrize("font", font_names())
def test_image_size_scales_with_dpi(font: str) -> None:
    low = render_image(SYSTEM, RenderSpec(font=font, dpi=50)).size
    high = render_image(SYSTEM, RenderSpec(font=font, dpi=200)).size
    assert high[0] == 4 * low[0]
    assert high[1] / low[1] == pytest.approx(4, rel=0.05)


def test_text_is_drawn_in_the_foreground_colour() -> None:
    image = render_image("HELLO", RenderSpec(fg="#ff0000", bg="#0000ff"))
    colours = {rgb for _, rgb in image.getcolors(maxcolors=1 << 20) or []}
    assert (255, 0, 0) in colours
    assert (0, 0, 255) in colours
    assert all(isinstance(rgb, tuple) and rgb[1] == 0 for rgb in colours)  # red-blue blends


@settings(max_examples=15, deadline=None)
@given(text=st.text(max_size=40))
def test_any_unicode_text_renders(text: str) -> None:
    png = render_png(text, RenderSpec(dpi=50))
    assert Image.open(io.BytesIO(png)).size[0] == round(6.5 * 50)


def test_lone_surrogate_is_refused() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        render_png("x\ud800y")


def test_repeated_render_is_served_from_the_cache() -> None:
    clear_render_cache()
    assert render_png(SYSTEM) is render_png(SYSTEM)


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize("colour", ["red", "#fff", "#gggggg", "000000", "#0000000", ""])
def test_malformed_colour_is_refused_naming_the_field(colour: str) -> None:
    with pytest.raises(ValueError, match=r"RenderSpec\.fg: colour .* '#rrggbb'"):
        render_png("x", RenderSpec(fg=colour))
    with pytest.raises(ValueError, match=r"RenderSpec\.bg"):
        render_png("x", RenderSpec(bg=colour))


def test_colour_is_parsed_in_either_case() -> None:
    assert parse_colour("#FFa500") == (255, 165, 0)


def test_unknown_font_error_lists_the_known_fonts() -> None:
    with pytest.raises(ValueError, match=r"unknown font 'comic-sans'.*dejavu-sans"):
        render_png("x", RenderSpec(font="comic-sans"))


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (RenderSpec(dpi=0), "dpi"),
        (RenderSpec(dpi=200.0), "dpi"),  # type: ignore[arg-type]
        (RenderSpec(font_size_pt=0), "font_size_pt"),
        (RenderSpec(line_spacing=-1), "line_spacing"),
        (RenderSpec(margin_in=-0.1), "margin_in"),
        (RenderSpec(page_width_in=1, margin_in=0.5), "no room"),
    ],
)
def test_unrenderable_spec_is_refused(spec: RenderSpec, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        render_png("x", spec)


def test_oversized_page_is_refused() -> None:
    with pytest.raises(ValueError, match="over the limit"):
        render_png("x\n" * 2000, RenderSpec(dpi=2000))


# --- colours -----------------------------------------------------------------------------


def test_contrast_ratio_of_black_on_white_is_21() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)


@given(rgb=st.tuples(*[st.integers(0, 255)] * 3))
@settings(max_examples=25)
def test_contrast_ratio_of_a_colour_with_itself_is_1(rgb: tuple[int, int, int]) -> None:
    assert contrast_ratio(rgb, rgb) == pytest.approx(1.0)


def test_contrast_ratio_matches_known_wcag_values() -> None:
    # Published WCAG figures: red on white 4.0, blue on white 8.6, #767676 on white 4.54.
    assert contrast_ratio("#ff0000", "#ffffff") == pytest.approx(4.0, abs=0.01)
    assert contrast_ratio("#0000ff", "#ffffff") == pytest.approx(8.59, abs=0.01)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio("#ffffff", "#ff0000") == contrast_ratio("#ff0000", "#ffffff")


# --- REST+ grid, descriptions and labels -------------------------------------------------


def test_rest_plus_grid_has_three_fonts_by_three_resolutions_and_colours() -> None:
    black_on_white = {n: s for n, s in REST_PLUS_GRID.items() if s.fg == "#000000"}
    assert {(s.font, s.dpi) for s in black_on_white.values()} == {
        (font, dpi) for font in font_names() for dpi in (50, 100, 200)
    }
    assert set(REST_PLUS_GRID) - set(black_on_white) == {
        "red-text",
        "yellow-text",
        "green-text",
        "blue-text",
    }
    assert REST_PLUS_GRID["dejavu-sans-200dpi"] == DEFAULT_SPEC
    assert REST_PLUS_GRID["red-text"] == RenderSpec(fg="#ff0000")


def test_black_on_white_grid_variants_are_labelled_by_their_names() -> None:
    for name, spec in REST_PLUS_GRID.items():
        if spec.fg == "#000000":
            assert spec_label(spec) == name


def test_describe_spec_in_words() -> None:
    spec = RenderSpec(font="liberation-mono", dpi=50, fg="#ff0000")
    assert describe_spec(spec) == "Courier-like mono (Liberation Mono), 50 DPI, red on white"
    odd = RenderSpec(font="dancing-script", fg="#123456", bg="#fefefe", font_size_pt=10)
    assert describe_spec(odd) == "cursive (Dancing Script), 200 DPI, #123456 on #fefefe, 10 pt"


def test_spec_label_example() -> None:
    spec = RenderSpec(font="dancing-script", dpi=50, fg="#FF0000")
    assert spec_label(spec) == "dancing-script-50dpi-ff0000-on-ffffff"


@PROPERTY
@given(a=render_specs(), b=render_specs())
def test_spec_labels_are_id_safe_and_tell_specs_apart(a: RenderSpec, b: RenderSpec) -> None:
    for spec in (a, b):
        assert re.fullmatch(r"[a-z0-9.-]+", spec_label(spec))
    assert (spec_label(a) == spec_label(b)) == (a == b)


def test_a_spec_unlike_the_default_in_every_field_is_worded_and_labelled_in_full() -> None:
    spec = RenderSpec(
        font="dancing-script",
        dpi=72,
        fg="#FFFFFF",
        bg="#0000FF",
        page_width_in=8,
        margin_in=0.25,
        font_size_pt=10.5,
        line_spacing=1.5,
    )
    assert describe_spec(spec) == (
        "cursive (Dancing Script), 72 DPI, white on blue, 10.5 pt, 8 in wide page, "
        "0.25 in margins, line spacing 1.5"
    )
    assert spec_label(spec) == "dancing-script-72dpi-ffffff-on-0000ff-10.5pt-w8in-m0.25in-ls1.5"
    covered = [name for part in spec_parts(spec) for name in part.fields]
    assert sorted(covered) == sorted(f.name for f in dataclasses.fields(RenderSpec))


# How each label fragment after the font, DPI and colours reads in a description.
LABEL_TO_WORDS = (
    (re.compile(r"([0-9.]+)pt"), "{} pt"),
    (re.compile(r"w([0-9.]+)in"), "{} in wide page"),
    (re.compile(r"m([0-9.]+)in"), "{} in margins"),
    (re.compile(r"ls([0-9.]+)"), "line spacing {}"),
)


def words_for_label(label: str) -> list[str]:
    """The description a label implies, read from the label alone."""
    font = max((name for name in font_names() if label.startswith(f"{name}-")), key=len)
    dpi, *rest = label[len(font) + 1 :].split("-")
    assert dpi.endswith("dpi")
    words = [font_info(font).description, f"{dpi.removesuffix('dpi')} DPI"]
    if len(rest) >= 3 and rest[1] == "on":
        fg, _, bg, *rest = rest
        words.append(f"{colour_name('#' + fg)} on {colour_name('#' + bg)}")
    else:
        words.append("black on white")
    for fragment in rest:
        matches = [(m, w) for p, w in LABEL_TO_WORDS if (m := p.fullmatch(fragment))]
        assert len(matches) == 1, fragment
        match, template = matches[0]
        words.append(template.format(match.group(1)))
    return words


@PROPERTY
@given(spec=render_specs(), line_spacing=st.sampled_from([1.25, 1.0, 1.5, 2.0]))
def test_label_and_description_tell_of_the_same_spec(spec: RenderSpec, line_spacing: float) -> None:
    spec = dataclasses.replace(spec, line_spacing=line_spacing)
    # Every part of the label has its phrase in the description, in the same order, and the
    # description says nothing more.
    assert words_for_label(spec_label(spec)) == describe_spec(spec).split(", ")
    parts = spec_parts(spec)
    assert describe_spec(spec) == ", ".join(part.words for part in parts)
    assert spec_label(spec) == "-".join(part.label for part in parts if part.label)
