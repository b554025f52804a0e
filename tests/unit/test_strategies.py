"""The Hypothesis strategies draw only valid renderings and shrink towards the default."""

from __future__ import annotations

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from rest_checks.fonts import font_names, font_path
from rest_checks.render.colours import contrast_ratio
from rest_checks.render.specs import DEFAULT_SPEC, RenderSpec, validate_spec
from rest_checks.strategies import anchored_integers, colour_pairs, page_texts, render_specs

PROPERTY = settings(max_examples=25, deadline=None)


@PROPERTY
@given(data=st.data(), min_contrast=st.sampled_from([1.0, 3.0, 4.5, 7.0, 15.0, 21.0]))
def test_colour_pairs_reach_the_contrast_asked_for(
    data: st.DataObject, min_contrast: float
) -> None:
    fg, bg = data.draw(colour_pairs(min_contrast))
    assert contrast_ratio(fg, bg) >= min_contrast


@PROPERTY
@given(spec=render_specs())
def test_render_specs_are_valid_and_use_repository_fonts(spec: RenderSpec) -> None:
    validate_spec(spec)
    assert spec.font in font_names()
    assert font_path(spec.font).parent.name == "fonts"
    assert 36 <= spec.dpi <= 300
    assert contrast_ratio(spec.fg, spec.bg) >= 4.5
    assert 0.1 <= spec.margin_in <= 1.0
    assert 3.0 <= spec.page_width_in <= 8.5
    assert 10.0 <= spec.font_size_pt <= 14.0
    assert spec.line_spacing == DEFAULT_SPEC.line_spacing


@PROPERTY
@given(spec=render_specs(fonts=["dancing-script"], min_dpi=50, max_dpi=100, min_contrast=7))
def test_render_specs_respect_their_arguments(spec: RenderSpec) -> None:
    assert spec.font == "dancing-script"
    assert 50 <= spec.dpi <= 100
    assert contrast_ratio(spec.fg, spec.bg) >= 7


def test_render_specs_shrink_to_the_default_spec() -> None:
    assert find(render_specs(), lambda spec: True) == DEFAULT_SPEC


def test_dpi_shrinks_to_the_highest_failing_value_not_the_minimum() -> None:
    assert find(render_specs(), lambda spec: spec.dpi < 100).dpi == 99
    assert find(render_specs(), lambda spec: spec.dpi > 250).dpi == 251


def test_colour_pairs_shrink_to_black_on_white() -> None:
    assert find(colour_pairs(), lambda pair: True) == ("#000000", "#ffffff")


def test_colour_pairs_include_light_text_on_dark_backgrounds() -> None:
    fg, bg = find(colour_pairs(), lambda pair: contrast_ratio(pair[0], "#000000") > 10)
    assert contrast_ratio(fg, bg) >= 4.5


def test_colour_pairs_are_varied() -> None:
    # Every draw is usable: no filtering, so Hypothesis reports no invalid examples.
    seen: list[tuple[str, str]] = []

    @settings(max_examples=50, deadline=None, database=None)
    @given(colour_pairs(7.0))
    def collect(pair: tuple[str, str]) -> None:
        seen.append(pair)

    collect()
    assert len(set(seen)) >= 40


@PROPERTY
@given(value=anchored_integers(10, 20, 15))
def test_anchored_integers_stay_in_range(value: int) -> None:
    assert 10 <= value <= 20


def test_anchored_integers_shrink_to_the_anchor_clamped_into_range() -> None:
    assert find(anchored_integers(10, 20, 15), lambda v: True) == 15
    assert find(anchored_integers(10, 20, 99), lambda v: True) == 20


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fonts": ["comic-sans"]},
        {"fonts": []},
        {"min_dpi": 300, "max_dpi": 36},
        {"min_contrast": 22},
        {"min_contrast": 0.5},
    ],
)
def test_render_specs_refuse_impossible_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        find(render_specs(**kwargs), lambda spec: True)  # type: ignore[arg-type]


@PROPERTY
@given(text=page_texts(max_lines=3))
def test_page_texts_have_at_most_the_lines_asked_for(text: str) -> None:
    assert text.count("\n") < 3
