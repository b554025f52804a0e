"""A batch the processor or ``generate`` fails on: its requests carry the error, the other
batches are answered, and through the run each failed request's case is a model error (as
an API request that fails for good is), never the whole session's."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest.importorskip("torch")
pytest.importorskip("transformers")

from rest_checks.items.soebench import generate_soebench
from rest_checks.model_gateway import ModelCalls
from rest_checks.models.hf import HFModel
from rest_checks.prompts import Request, build_requests
from rest_checks.render.specs import RenderSpec
from tests.tiny_models.qwen2_vl import build_tiny_qwen2_vl

PIXELS = {"min_pixels": 4 * 28 * 28, "max_pixels": 256 * 28 * 28, "max_new_tokens": 3}
SMALL = RenderSpec(dpi=50)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> HFModel:
    directory = build_tiny_qwen2_vl(tmp_path_factory.mktemp("tiny-qwen-failures"))
    m = HFModel(str(directory), spec="hf:tiny", device="cpu", batch_size=2, settings=PIXELS)
    m.load()
    return m


def requests() -> list[Request]:
    out: list[Request] = []
    for item in generate_soebench(3, seed=5):
        out.extend(build_requests(item, SMALL, with_ocr=False).values())
    return out


class FailingOn:
    """The model's processor, except that a batch holding ``marker`` raises ``error``."""

    def __init__(self, processor: Any, marker: str, error: Exception) -> None:
        self._processor = processor
        self._marker = marker
        self._error = error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._processor, name)

    def __call__(self, *, text: list[str], **kwargs: Any) -> Any:
        if any(self._marker in t for t in text):
            raise self._error
        return self._processor(text=text, **kwargs)


def test_images_go_to_the_processor_one_list_per_row(model: HFModel) -> None:
    seen: list[Any] = []
    real = model._processor

    class Recording(FailingOn):
        def __call__(self, *, text: list[str], **kwargs: Any) -> Any:
            seen.append(kwargs.get("images"))
            return real(text=text, **kwargs)

    model._processor = Recording(real, "", ValueError())
    try:
        images = [r for r in requests() if r.image_png is not None][:3]
        replies = model.generate(images)
    finally:
        model._processor = real
    assert all(r.error is None for r in replies)
    rows = [row for batch in seen for row in batch]
    assert len(rows) == 3 and all(isinstance(row, list) and len(row) == 1 for row in rows)


def test_a_failing_batch_errors_its_requests_only(model: HFModel) -> None:
    asked = requests()
    marker = asked[3].prompt  # the second item's text prompt, in a batch of text requests
    real = model._processor
    model._processor = FailingOn(real, marker, ValueError("Found [1, 1] tokens and [2] images"))
    try:
        replies = model.generate(asked)
    finally:
        model._processor = real
    failed = [r for r, reply in zip(asked, replies, strict=True) if reply.error is not None]
    assert asked[3] in failed
    assert all(r.image_png is None for r in failed) and len(failed) <= model.batch_size
    for reply in replies:
        if reply.error is not None:
            assert "ValueError: Found [1, 1] tokens and [2] images" in reply.error
            assert "hf:tiny" in reply.error
    answered = [reply for reply in replies if reply.error is None]
    assert len(answered) == len(asked) - len(failed)
    assert all(reply.extra["new_tokens"] >= 0 for reply in answered)


def test_a_failing_generate_errors_its_batch_and_nothing_is_cached(
    model: HFModel, tmp_path: Path
) -> None:
    from rest_checks.response_store import ResponseCache

    asked = [r for r in requests() if r.image_png is not None]
    real = model._model.generate
    calls = {"n": 0}

    def generate(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(**kwargs)

    model._model.generate = generate
    try:
        model_calls = ModelCalls(model, ResponseCache(tmp_path))
        replies = model_calls.generate(asked)
    finally:
        del model._model.generate
    errors = [reply.error for reply in replies if reply.error is not None]
    assert len(errors) == model.batch_size
    assert all("out of memory" in e for e in errors)
    # A failed reply is never stored: asked again, it is answered.
    again = ModelCalls(model, ResponseCache(tmp_path)).generate(asked)
    assert all(reply.error is None for reply in again)
