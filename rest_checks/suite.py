"""The REST suite: run it with ``pytest --pyargs rest_checks.suite --model SPEC`` (or
``rest-checks run --model SPEC``) from any repository; a checkout of rest-checks collects the
same tests through ``tests/test_rest_suite.py``.

Each benchmark item is one case that asks the model in text, image and mixed form and
asserts the three final answers agree. With ``--rest-plus``, the first items of each task
are also rendered on the fixed REST+ grid and under Hypothesis-drawn renderings.

The parameters (``rest_item``, ``rest_plus_item``, ``rest_rendering``) and the ``rest``
fixture come from the pytest plugin (``rest_checks.plugin``). The marks sit on each test,
not on the module, so that a module importing the tests carries them too.
"""

from __future__ import annotations

import pytest
from hypothesis import given

from rest_checks.items.base import Item
from rest_checks.render.specs import RenderSpec
from rest_checks.run import RestRun
from rest_checks.strategies import render_specs


@pytest.mark.rest
def test_cross_modal(rest_item: Item, rest: RestRun) -> None:
    """Text, image and mixed give the same final answer."""
    rest.conclude(rest.cross_modal(rest_item))


@pytest.mark.rest
@pytest.mark.rest_plus
def test_rest_plus(rest_plus_item: Item, rest_rendering: str, rest: RestRun) -> None:
    """The same, with the images drawn in one of the REST+ grid's renderings."""
    rest.conclude(rest.cross_modal(rest_plus_item, rendering=rest_rendering))


@pytest.mark.rest
@pytest.mark.rest_plus
def test_render_invariance(rest_plus_item: Item, rest: RestRun) -> None:
    """Any legible rendering (contrast above WCAG 4.5) gives the answer the text gives."""
    with rest.invariance_case(rest_plus_item) as text_answer:

        @given(spec=render_specs())
        def image_matches_text(spec: RenderSpec) -> None:
            rest.check_rendering(rest_plus_item, spec, text_answer)

        image_matches_text()
