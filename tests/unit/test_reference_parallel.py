"""The reference model reads the distinct images of a batch side by side, each with its own
engine, and answers exactly as it does one page at a time. A stand-in engine replaces
RapidOCR: these tests are about scheduling, not reading."""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from typing import Any

import pytest

from rest_checks.items import generate_arith
from rest_checks.models.base import Collected, ModelError
from rest_checks.models.reference import (
    ReferenceModel,
    default_ocr_threads,
    default_ocr_workers,
)
from rest_checks.prompts import Request, image_request, ocr_request


class PageEngine:
    """Reads a page whose bytes are its text; with a barrier, waits until as many pages
    are being read at once as the barrier has parties (or fails after a timeout)."""

    def __init__(self, barrier: threading.Barrier | None, log: list[bytes]) -> None:
        self._barrier = barrier
        self._log = log

    def __call__(self, png: bytes) -> Any:
        if self._barrier is not None:
            self._barrier.wait(timeout=10)
        self._log.append(png)
        if png == b"unreadable":
            raise RuntimeError("not an image")
        return [[[[0, 0], [10, 0], [10, 10], [0, 10]], png.decode(), 0.99]]


class EngineFactory:
    def __init__(self, barrier: threading.Barrier | None = None) -> None:
        self.barrier = barrier
        self.engines: list[PageEngine] = []
        self.read: list[bytes] = []

    def __call__(self) -> PageEngine:
        engine = PageEngine(self.barrier, self.read)
        self.engines.append(engine)
        return engine


def _requests(pages: list[bytes]) -> list[Request]:
    item = generate_arith(1, seed=3)[0]
    requests: list[Request] = []
    for page in pages:
        requests.append(replace(image_request(item), page=page))
        requests.append(replace(ocr_request(item), page=page))
    return requests


def test_distinct_pages_of_a_batch_are_read_at_once_by_separate_engines() -> None:
    factory = EngineFactory(threading.Barrier(2))
    model = ReferenceModel(ocr_workers=2, engine_factory=factory)
    responses = model.generate(_requests([b"page one", b"page two"]))
    assert len(factory.engines) == 2  # the barrier let both through: read side by side
    assert [r.text for r in responses[1::2]] == ["page one", "page two"]


def test_answers_are_the_same_side_by_side_and_one_at_a_time() -> None:
    pages = [f"2 + {n} = ?".encode() for n in range(7)]
    one = ReferenceModel(ocr_workers=1, engine_factory=EngineFactory()).generate(_requests(pages))
    many = ReferenceModel(ocr_workers=3, engine_factory=EngineFactory()).generate(_requests(pages))
    assert [r.text for r in many] == [r.text for r in one]


def test_each_distinct_page_is_read_once() -> None:
    factory = EngineFactory()
    model = ReferenceModel(ocr_workers=2, engine_factory=factory)
    model.generate(_requests([b"a", b"b", b"a", b"b"]))
    model.generate(_requests([b"b", b"c"]))
    assert sorted(factory.read) == [b"a", b"b", b"c"]
    assert model.ocr_calls == 3


def test_engines_are_reused_across_batches() -> None:
    factory = EngineFactory()
    model = ReferenceModel(ocr_workers=2, engine_factory=factory)
    for batch in range(5):
        model.generate(_requests([f"{batch}-{n}".encode() for n in range(4)]))
    assert 1 <= len(factory.engines) <= 2


def test_a_page_that_fails_to_read_is_a_model_error_naming_it() -> None:
    model = ReferenceModel(ocr_workers=2, engine_factory=EngineFactory())
    with pytest.raises(ModelError, match=r"OCR failed on an image \(10 bytes\): not an image"):
        model.generate(_requests([b"fine", b"unreadable"]))


def test_one_page_at_a_time_inside_an_xdist_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REST_REFERENCE_OCR_THREADS", raising=False)
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    assert default_ocr_workers() == 1
    assert default_ocr_threads(default_ocr_workers()) == 1


def test_one_page_per_core_with_one_thread_each_outside_xdist(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REST_REFERENCE_OCR_THREADS", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    assert default_ocr_workers() == len(os.sched_getaffinity(0))
    assert default_ocr_threads(2) == 1
    assert default_ocr_threads(1) is None  # one page: ONNX Runtime's own choice


def test_thread_setting_overrides_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REST_REFERENCE_OCR_THREADS", "3")
    assert default_ocr_threads(4) == 3


def test_a_run_streams_pages_side_by_side_and_hands_over_each_reply() -> None:
    # The run asks through ``stream`` (every reply stored as it arrives), not ``generate``.
    factory = EngineFactory(threading.Barrier(2))
    model = ReferenceModel(ocr_workers=2, engine_factory=factory)
    sink = Collected(4)
    model.stream(_requests([b"page one", b"page two"]), sink)
    assert len(factory.engines) == 2  # the barrier let both through: read side by side
    assert [r.text for r in sink.replies()[1::2]] == ["page one", "page two"]
    assert sorted(factory.read) == [b"page one", b"page two"]  # each page read once
