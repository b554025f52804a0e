"""The reference model end to end: real OCR (RapidOCR) on real renderings, then the reader.

OCR costs about half a second per image on one core, so the real-OCR tests share one model
(module scope) and read few images: three items at the REST default rendering, three
REST+ renderings the control once failed, one unreadable rendering and one small image
for the cache.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from rest_checks.answers import extract_final_answer
from rest_checks.items import builtin_mcq, generate_arith, generate_soebench
from rest_checks.items.base import Item
from rest_checks.items.suites import load_suite
from rest_checks.metrics import character_error_rate
from rest_checks.modalities import ANSWER_MODALITIES
from rest_checks.models.base import ModelError
from rest_checks.models.reference import (
    OCR_SETTINGS,
    READER_VERSION,
    PageReader,
    ReferenceModel,
    TextBox,
    ink_line_height,
    join_line_pieces,
    load_rapidocr,
    prompt_content,
    reading_order_text,
)
from rest_checks.prompts import (
    build_requests,
    image_request,
    ocr_request,
    text_request,
)
from rest_checks.render.drawing import render_png
from rest_checks.render.specs import DEFAULT_SPEC, REST_PLUS_GRID, RenderSpec

pytest.importorskip("rapidocr")


class SpyEngine:
    """Wraps an OCR engine and counts the images it is asked to read."""

    def __init__(self, load: Callable[[], Callable[[bytes], Any]]) -> None:
        self._load = load
        self._engine: Callable[[bytes], Any] | None = None
        self.calls = 0

    def factory(self) -> Callable[[bytes], Any]:
        self._engine = self._load()
        return self

    def __call__(self, png: bytes) -> Any:
        assert self._engine is not None
        self.calls += 1
        return self._engine(png)


def _no_ocr() -> Callable[[bytes], Any]:
    raise AssertionError("OCR must not be loaded for text requests")


def _items() -> list[Item]:
    # mcq-0031's question line was once read upside down by RapidOCR's direction classifier.
    mcq = next(item for item in builtin_mcq() if item.id == "mcq-0031")
    return [generate_soebench(1, seed=5)[0], generate_arith(1, seed=5)[0], mcq]


def _answer(text: str, item: Item) -> str | None:
    return extract_final_answer(text, item.answer_type)


@pytest.fixture(scope="module")
def spy() -> SpyEngine:
    return SpyEngine(load_rapidocr)


@pytest.fixture(scope="module")
def model(spy: SpyEngine) -> ReferenceModel:
    return ReferenceModel(engine_factory=spy.factory)


# -- without OCR -------------------------------------------------------------------------


def test_text_answers_are_right_without_loading_ocr() -> None:
    items = [
        *generate_soebench(5, seed=1),
        *generate_arith(5, seed=1),
        *builtin_mcq()[:10],
    ]
    model = ReferenceModel(engine_factory=_no_ocr)
    responses = model.generate([text_request(item) for item in items])
    assert [_answer(r.text, item) for r, item in zip(responses, items, strict=True)] == [
        item.expected for item in items
    ]
    assert not model.ocr_loaded


def test_identity_names_the_ocr_engine_and_reader_without_loading_ocr() -> None:
    model = ReferenceModel(engine_factory=_no_ocr)
    identity = model.identity()
    assert identity["backend"] == "reference"
    assert identity["name"] == "reference"
    assert re.fullmatch(r"rapidocr \d+(\.\d+)+", identity["ocr"])
    assert identity["reader"] == READER_VERSION
    assert identity["ocr_settings"] == OCR_SETTINGS
    assert not model.ocr_loaded


def test_image_without_text_gives_no_answer() -> None:
    model = ReferenceModel(engine_factory=lambda: lambda png: None)
    item = generate_soebench(1, seed=2)[0]
    response = model.generate([replace(image_request(item), page=b"blank")])[0]
    assert "could not read" in response.text
    assert "ANSWER" not in response.text
    assert _answer(response.text, item) is None


def test_loading_the_ocr_is_announced_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    model = ReferenceModel(engine_factory=lambda: lambda png: None)
    model.transcribe(b"one")
    model.transcribe(b"two")
    assert capsys.readouterr().err.count("loading the reference model's OCR") == 1


def test_a_visual_request_without_an_image_is_an_error() -> None:
    model = ReferenceModel(engine_factory=_no_ocr)
    request = replace(ocr_request(generate_soebench(1, seed=2)[0]), page=None)
    with pytest.raises(ModelError, match="soebench-0001: the ocr request carries no image"):
        model.generate([request])


def test_bad_thread_setting_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REST_REFERENCE_OCR_THREADS", "two")
    with pytest.raises(ModelError, match="REST_REFERENCE_OCR_THREADS='two'"):
        ReferenceModel()


def test_prompt_content_drops_the_instruction_with_its_example_answers() -> None:
    item = generate_soebench(1, seed=2)[0]
    content = prompt_content(text_request(item).prompt)
    assert content == item.full_text()
    assert "ANSWER" not in content


def test_reading_order_groups_boxes_into_lines() -> None:
    boxes = [
        TextBox("world", 120, 12, 200, 30),
        TextBox("second line", 10, 50, 150, 70),
        TextBox("hello", 10, 10, 100, 31),
        TextBox("third", 10, 90, 80, 108),
        TextBox("!", 210, 14, 220, 29),
    ]
    assert reading_order_text(boxes) == "hello world !\nsecond line\nthird"


def test_pieces_of_a_line_are_read_as_one() -> None:
    # The detector cut "5C + 3D + 2E = 59" at a wide space into two overlapping pieces.
    pieces = [
        TextBox("", 94, 223, 253, 264),
        TextBox("", 228, 218, 447, 264),
        TextBox("", 92, 260, 465, 306),  # the next line
        TextBox("", 600, 262, 700, 304),  # far to its right: a separate piece
    ]
    joined = join_line_pieces(pieces, gap=1.5)
    assert [(b.left, b.top, b.right, b.bottom) for b in joined] == [
        (94, 218, 447, 264),
        (92, 260, 465, 306),
        (600, 262, 700, 304),
    ]


def test_reading_order_of_nothing_is_empty() -> None:
    assert reading_order_text([]) == ""


def test_the_line_height_follows_the_resolution() -> None:
    # What the page is scaled by: its lines of ink, twice as high at twice the DPI.
    from io import BytesIO

    import numpy as np
    from PIL import Image

    item = generate_soebench(1, seed=2)[0]
    heights = {}
    for dpi in (50, 100, 200):
        png = render_png(item.full_text(), RenderSpec(dpi=dpi))
        heights[dpi] = ink_line_height(np.asarray(Image.open(BytesIO(png)).convert("RGB")))
    assert heights[50] is not None and heights[100] is not None and heights[200] is not None
    assert 1.8 <= heights[200] / heights[100] <= 2.2
    assert 1.6 <= heights[100] / heights[50] <= 2.4
    blank = np.full((40, 60, 3), 255, dtype=np.uint8)
    assert ink_line_height(blank) is None


def test_a_blank_page_is_not_sent_to_the_engine() -> None:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (200, 100), "white").save(buffer, format="PNG")

    def engine(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a blank page has nothing to read")

    assert PageReader(engine)(buffer.getvalue()) is None


def test_the_ocr_models_ship_in_the_wheel() -> None:
    # The engine is given the models' paths inside the installed package: nothing to fetch.
    import rapidocr

    models = Path(rapidocr.__file__).resolve().parent / "models"
    for key in ("det_model", "rec_model"):
        assert (models / OCR_SETTINGS[key]).is_file()


# -- with real OCR -----------------------------------------------------------------------


@pytest.mark.parametrize("item", _items(), ids=lambda item: item.task)
def test_rendered_item_is_answered_right_in_every_modality(
    model: ReferenceModel, spy: SpyEngine, item: Item
) -> None:
    requests = build_requests(item, DEFAULT_SPEC)
    calls_before = spy.calls
    responses = dict(zip(requests, model.generate(list(requests.values())), strict=True))
    answers = {m: _answer(responses[m].text, item) for m in ANSWER_MODALITIES}
    assert answers == dict.fromkeys(ANSWER_MODALITIES, item.expected), responses
    # The image and OCR requests show the same PNG: it is read once.
    assert spy.calls - calls_before == 2
    transcription = responses["ocr"].text
    # RapidOCR often drops the spaces of a line ("2A+3B-C=7"); CER ignores whitespace.
    assert character_error_rate(item.full_text(), transcription) <= 0.05, transcription
    assert len(transcription.splitlines()) >= len(item.full_text().split("\n\n"))


def _suite_item(item_id: str) -> Item:
    task = item_id.split("-")[0]
    number = int(item_id.split("-")[1])
    return load_suite([task], number, 0)[number - 1]


# REST+ renderings the control failed with its former OCR (RapidOCR 1.4 / PP-OCRv4, the
# shorter side of each page scaled to 480 pixels) and reader: Liberation Mono at 200 DPI
# read "5C + 3D + 2E = 59" as "5C + 3D+ 2 2E = 59" (a character read twice where the
# detector cut the line in two) and "One box" as "0ne box"; Dancing Script at 200 DPI read
# the variable "E" as "8" or "&".
@pytest.mark.parametrize(
    ("variant", "item_id"),
    [
        ("liberation-mono-200dpi", "soebench-0001"),
        ("liberation-mono-200dpi", "arith-0001"),
        ("dancing-script-200dpi", "soebench-0001"),
    ],
)
def test_legible_rest_plus_renderings_are_read_right(
    model: ReferenceModel, variant: str, item_id: str
) -> None:
    item = _suite_item(item_id)
    requests = build_requests(item, REST_PLUS_GRID[variant], rendering=variant)
    responses = dict(zip(requests, model.generate(list(requests.values())), strict=True))
    answers = {m: _answer(responses[m].text, item) for m in ANSWER_MODALITIES}
    assert answers == dict.fromkeys(ANSWER_MODALITIES, item.expected), responses


def test_ocr_is_cached_by_image_hash(model: ReferenceModel, spy: SpyEngine) -> None:
    item = generate_soebench(1, seed=9)[0]
    small = RenderSpec(dpi=100)
    image, ocr = image_request(item, small), ocr_request(item, small)
    assert image.image_png == ocr.image_png
    calls_before = spy.calls
    first = model.generate([image, ocr])
    assert spy.calls - calls_before == 1
    # Equal bytes in a new object hit the cache too.
    again = model.generate([replace(ocr, page=bytes(bytearray(ocr.image_png or b"")))])
    assert spy.calls - calls_before == 1
    assert again[0].text == first[1].text


def test_unreadable_rendering_gives_no_right_answer(model: ReferenceModel) -> None:
    item = generate_soebench(1, seed=5)[0]
    # 20 DPI: a 12 pt line is about 4 pixels high.
    tiny = image_request(item, RenderSpec(dpi=20))
    text, image = model.generate([text_request(item), tiny])
    assert _answer(text.text, item) == item.expected
    assert _answer(image.text, item) != item.expected
