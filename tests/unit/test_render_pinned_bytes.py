"""Pinned bytes of pages of every kind: the grid's digests (test_render.py) cover one text
in thirteen renderings; these cover what the layout does beyond it (wrapping, words broken
between characters, combining marks, tabs and line ends, cursive overhang, a page that
widens for one glyph, lines whose ink overlaps and so stay RGB, an empty page) and the page
keys, which the response cache and the baselines are keyed by.

Recorded per renderer and library versions in ``tests/data/page_digests.json``; record a
new environment with ``python tests/unit/test_render_pinned_bytes.py``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import PIL
import pytest
from PIL import features

from rest_checks.render.drawing import RENDERER_VERSION, render_png
from rest_checks.render.page_keys import page_key
from rest_checks.render.specs import RenderSpec

PAGE_DIGESTS = Path(__file__).resolve().parents[1] / "data" / "page_digests.json"

PARAGRAPH = (
    "A train leaves the station at 9:40 and travels 126 km at a steady speed, arriving at "
    "11:25. A second train covers the same distance 15 minutes faster. What is the speed "
    "of the second train, in km/h?"
)

# name -> (text, spec): each a case the thirteen grid renderings of one short text miss.
PAGES: dict[str, tuple[str, RenderSpec]] = {
    "wrapped-paragraph": (PARAGRAPH + "\n\n    (indented) " + PARAGRAPH, RenderSpec()),
    "line-ends-and-tabs": (
        "first\r\nsecond\rthird\n\tfourth\twith\ttabs   \n\n\nlast  ",
        RenderSpec(dpi=100),
    ),
    "word-broken-between-characters": (
        "x" * 40 + "e\u0301" * 30 + " Δ = b² − 4ac ⇒ ∑ᵢ aᵢ " + "ΑΒΓΔ" * 25,
        RenderSpec(font="liberation-mono", page_width_in=2.5, margin_in=0.25, font_size_pt=9),
    ),
    "cursive-overhang-50dpi": (
        "fjord jiffy fluff " * 12,
        RenderSpec(font="dancing-script", dpi=50, fg="#0000ff"),
    ),
    "overlapping-lines-stay-rgb": (
        "Jolly fjords\nglyphs that jut\nQuite tight",
        RenderSpec(font="dancing-script", line_spacing=0.5, fg="#123456", bg="#fedcba"),
    ),
    "page-widened-for-one-glyph": (
        "W M W",
        RenderSpec(dpi=100, page_width_in=0.3, margin_in=0.1, font_size_pt=24),
    ),
    "empty-page": ("", RenderSpec(fg="#ff0000", bg="#ffff00", line_spacing=2.0)),
}


def environment() -> str:
    """The versions that determine a page's bytes, as the recorded digests are keyed."""
    return (
        f"renderer {RENDERER_VERSION}, Pillow {PIL.__version__}, "
        f"FreeType {features.version('freetype2')}, zlib {features.version('zlib')}"
    )


def current_digests() -> dict[str, dict[str, str]]:
    return {
        "png_sha256": {
            name: hashlib.sha256(render_png(text, spec)).hexdigest()
            for name, (text, spec) in PAGES.items()
        },
        "page_key": {name: page_key(text, spec) for name, (text, spec) in PAGES.items()},
    }


def recorded_digests() -> dict[str, dict[str, str]]:
    recorded = json.loads(PAGE_DIGESTS.read_text(encoding="utf-8"))
    if environment() not in recorded:
        pytest.skip(f"no digests recorded for {environment()} in {PAGE_DIGESTS.name}")
    digests: dict[str, dict[str, str]] = recorded[environment()]
    return digests


def test_pages_of_every_kind_keep_their_bytes() -> None:
    assert current_digests()["png_sha256"] == recorded_digests()["png_sha256"], (
        "render_png's bytes changed: raise RENDERER_VERSION and record the new digests"
    )


def test_page_keys_stay_the_same() -> None:
    # A changed key empties every cache and refuses every baseline: it must be deliberate.
    assert current_digests()["page_key"] == recorded_digests()["page_key"]


if __name__ == "__main__":
    recorded = json.loads(PAGE_DIGESTS.read_text(encoding="utf-8")) if PAGE_DIGESTS.exists() else {}
    recorded[environment()] = current_digests()
    PAGE_DIGESTS.write_text(
        json.dumps(recorded, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"recorded {len(PAGES)} pages for {environment()} in {PAGE_DIGESTS}")
