"""Pages: keyed by what determines their bytes, rendered only when sent, once per batch,
while earlier requests are out; the cache keys images by page so a cached case renders
nothing, and a fresh call still sends the exact rendered bytes."""

from __future__ import annotations

import dataclasses
import pickle
import shutil
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from rest_checks import pages
from rest_checks.fonts import DEFAULT_FONTS_DIR, FONTS_DIR_ENV, clear_font_cache
from rest_checks.items.arith import generate_arith
from rest_checks.model_gateway import ModelCalls
from rest_checks.models.base import Response
from rest_checks.models.mock import MockModel
from rest_checks.models.openai_api import OpenAIModel
from rest_checks.pages import PngPage, RenderedPage
from rest_checks.prompts import Request, build_requests
from rest_checks.render import drawing, page_keys
from rest_checks.render.drawing import render_png
from rest_checks.render.page_keys import page_key
from rest_checks.render.specs import DEFAULT_SPEC, RenderSpec
from rest_checks.response_store import ResponseCache, request_key
from rest_checks.testing import ChatCompletionsServer, request_images

TEXT = "Solve for A and B.\n3A + 2B = 12\nA - B = -1"


class RenderCounter:
    """Counts ``render_png`` calls made for pages (the renderer's own memory cleared)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, RenderSpec]] = []
        self._lock = threading.Lock()
        drawing.clear_render_cache(fonts=False)

        def counting(text: str, spec: RenderSpec = DEFAULT_SPEC) -> bytes:
            with self._lock:
                self.calls.append((text, spec))
            return render_png(text, spec)

        monkeypatch.setattr(pages, "render_png", counting)


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> Iterator[RenderCounter]:
    yield RenderCounter(monkeypatch)
    drawing.clear_render_cache(fonts=False)


def test_page_key_is_stable_and_computed_without_rendering(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = page_key(TEXT, DEFAULT_SPEC)

    def no_rendering(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a page key must not render")

    # Every drawing is laid out first; a cached rendering would be served by render_png.
    monkeypatch.setattr(drawing, "lay_out_page", no_rendering)
    monkeypatch.setattr(drawing, "render_png", no_rendering)
    assert page_key(TEXT, RenderSpec()) == key
    assert RenderedPage(TEXT).key == key


SPEC_CHANGES: dict[str, Any] = {
    "font": "liberation-mono",
    "dpi": 100,
    "fg": "#ff0000",
    "bg": "#fffff0",
    "page_width_in": 7.0,
    "margin_in": 0.25,
    "font_size_pt": 11.0,
    "line_spacing": 1.5,
}


def test_every_spec_field_changes_the_page_key() -> None:
    assert set(SPEC_CHANGES) == {f.name for f in dataclasses.fields(RenderSpec)}
    base = page_key(TEXT, DEFAULT_SPEC)
    keys = {
        page_key(TEXT, dataclasses.replace(DEFAULT_SPEC, **{k: v})) for k, v in SPEC_CHANGES.items()
    }
    assert base not in keys and len(keys) == len(SPEC_CHANGES)
    assert page_key(TEXT + " ", DEFAULT_SPEC) != base


def test_renderer_and_library_versions_change_the_page_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = page_key(TEXT)
    monkeypatch.setattr(drawing, "RENDERER_VERSION", drawing.RENDERER_VERSION + 1)
    assert page_key(TEXT) != base
    monkeypatch.undo()
    monkeypatch.setattr(drawing, "PNG_COMPRESS_LEVEL", drawing.PNG_COMPRESS_LEVEL + 1)
    assert page_key(TEXT) != base
    monkeypatch.undo()
    for library in ("pillow", "freetype", "zlib"):
        versions = {**page_keys._library_versions(), library: "0.0-other"}
        monkeypatch.setattr(page_keys, "_library_versions", lambda v=versions: v)
        assert page_key(TEXT) != base, library
        monkeypatch.undo()
    assert page_key(TEXT) == base


def test_a_changed_font_file_changes_the_page_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fonts = tmp_path / "fonts"
    shutil.copytree(DEFAULT_FONTS_DIR, fonts)
    monkeypatch.setenv(FONTS_DIR_ENV, str(fonts))
    clear_font_cache()
    try:
        base = page_key(TEXT)
        font = fonts / "DejaVuSans.ttf"
        font.write_bytes(font.read_bytes() + b"\0")
        assert page_key(TEXT) != base
    finally:
        monkeypatch.delenv(FONTS_DIR_ENV)
        clear_font_cache()


def test_the_cache_key_of_an_image_request_follows_its_page() -> None:
    identity = {"backend": "x"}
    a = Request("i", "image", "p", RenderedPage(TEXT))
    assert request_key(identity, a) == request_key(
        identity, Request("j", "ocr", "p", RenderedPage(TEXT))
    )
    other = Request("i", "image", "p", RenderedPage(TEXT, RenderSpec(dpi=100)))
    assert request_key(identity, other) != request_key(identity, a)
    # Given bytes are keyed by their hash, never equal to a rendered page's key.
    given = Request("i", "image", "p", render_png(TEXT))
    assert isinstance(given.page, PngPage) and given.image_png == render_png(TEXT)
    assert request_key(identity, given) != request_key(identity, a)


def test_requests_with_pages_survive_pickling() -> None:
    request = build_requests(generate_arith(1, seed=2)[0])["image"]
    copy = pickle.loads(pickle.dumps(request))
    assert copy == request and copy.image_png == request.image_png


class LookingModel(MockModel):
    """The oracle, looking at every page it is shown as a real model does (the mock alone
    answers from the item, so whether the pool renders a page first would be a race)."""

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        for request in requests:
            request.image_png  # noqa: B018 - read the bytes, rendering them if needed
        return super().generate(requests)


def test_a_cached_case_renders_nothing(tmp_path: Path, renders: RenderCounter) -> None:
    items = generate_arith(3, seed=1)
    requests = [r for item in items for r in build_requests(item).values()]
    first = ModelCalls(LookingModel("oracle"), ResponseCache(tmp_path))
    first.generate(requests)
    # image and ocr show the same page: 2 distinct pages per item, each rendered once.
    assert len(renders.calls) == len(set(renders.calls)) == 2 * len(items)
    renders.calls.clear()
    again = [r for item in items for r in build_requests(item).values()]
    rerun = ModelCalls(MockModel("oracle"), ResponseCache(tmp_path))
    rerun.generate(again)
    assert renders.calls == []
    assert rerun.counter.cache_hits == len(again) and rerun.counter.model_calls == 0


def test_a_fresh_call_sends_the_exact_rendered_bytes() -> None:
    items = generate_arith(2, seed=3)
    spec = RenderSpec(font="dancing-script", dpi=100)
    with ChatCompletionsServer(api_key=None) as server:
        model = OpenAIModel("test-model", spec="openai:test-model", base_url=server.base_url)
        calls = ModelCalls(model, None)
        calls.generate([r for item in items for r in build_requests(item, spec).values()])
        model.close()
        sent = [request_images(r.json) for r in server.state.completions]
    expected = {render_png(item.full_text(), spec) for item in items}
    expected |= {render_png(item.context, spec) for item in items}
    assert {png for images in sent for png in images} == expected
    assert sum(len(images) for images in sent) == 3 * len(items)


def test_pages_are_rendered_while_earlier_requests_are_out(renders: RenderCounter) -> None:
    items = generate_arith(12, seed=5)
    requests = [r for item in items for r in build_requests(item, with_ocr=False).values()]
    # For each image request: the requests that had arrived before it, and pages drawn.
    arrivals: list[tuple[int, int]] = []
    seen = [0]
    lock = threading.Lock()

    def respond(request_json: Any, state: Any) -> str:
        with lock:
            if request_images(request_json):
                arrivals.append((seen[0], len(renders.calls)))
            seen[0] += 1
        return "ANSWER: 1"

    ahead, concurrency = 3, 2
    with ChatCompletionsServer(respond, api_key=None, latency=0.05) as server:
        model = OpenAIModel(
            "test-model",
            spec="openai:test-model",
            base_url=server.base_url,
            concurrency=concurrency,
        )
        ModelCalls(model, None, render_ahead=ahead).generate(requests)
        model.close()
    pages_total = 2 * len(items)
    assert len(renders.calls) == pages_total
    # The first image went out long before the last page was drawn, and drawing never ran
    # more than the window ahead of the replies (plus the pages the senders hold).
    assert arrivals[0][1] < pages_total
    for before, rendered in arrivals:
        assert rendered <= before + ahead + concurrency + 1
