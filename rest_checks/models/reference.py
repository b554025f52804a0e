"""The embedded reference model: a real OCR engine followed by an exact reader.

It needs no GPU and no network. Images are read by RapidOCR (``rapidocr-onnxruntime``,
whose ONNX models ship inside the wheel); the transcription, or the prompt's own text for
the text modality, goes to the exact reader (``rest_checks.reader``), which answers only
from what it read and calculates without error.

Its text answers are therefore always right, and any difference between its text, image
and mixed answers comes from reading alone. Its inconsistency measures how legible a
rendering is: it is the OCR control of the suite (PAPER.md), and the guard that tells a
fair perturbation (one a careful reader still reads) from an unreadable one. A REST+
variant on which the reference model itself fails says nothing about a model under test.

Requests by modality:

- ``text``: the reader answers from the prompt's content (the instruction paragraph
  dropped);
- ``image``: from the OCR transcription of the image;
- ``mixed``: from the transcription, a newline, then the prompt's text part;
- ``ocr``: the response is the transcription itself, lines in reading order.

OCR results are cached in memory by the SHA-256 of the image bytes, so the ``image`` and
``ocr`` requests of one rendering (the same PNG) are read once. RapidOCR is imported and
loaded on the first image only, so text-only use never pays for it. The ONNX Runtime
thread count does not enter the identity: it changes speed, not what is read.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from rest_checks.answers import format_answer
from rest_checks.models.base import Model, ModelError, Response
from rest_checks.progress import say
from rest_checks.prompts import FINAL_ANSWER_PREFIX, Request
from rest_checks.reader import READER_VERSION, Reading, read_text

OCR_PACKAGE = "rapidocr-onnxruntime"
THREADS_ENV = "REST_REFERENCE_OCR_THREADS"

#: RapidOCR settings that differ from its defaults; they change what is read, so they are
#: part of the identity. The detector scales each image so that its shorter side is this
#: many pixels (default 736), and grows each box it finds by this ratio (default 1.6).
#: Measured on 24 items x 4 renderings (DejaVu Sans at 50/100/200 DPI, Liberation Mono at
#: 50 DPI), items read right / CPU s per image: defaults 71/96 at 1.2 s; 736 with 2.0
#: 81/96 at 1.1 s; 480 with 1.6 77/96 at 0.8 s; 480 with 2.0 84/96 at 0.7 s. The larger
#: ratio stops the detector from cutting off the minus sign that starts a line. The
#: text-direction classifier is off: rendered text is always upright, and the classifier
#: turned a correctly detected line upside down (multiple-choice item mcq-0031 at 200 DPI).
OCR_SETTINGS: dict[str, Any] = {
    "det_limit_side_len": 480,
    "det_unclip_ratio": 2.0,
    "use_cls": False,
}

#: Two boxes are on one line when their vertical overlap is at least this share of the
#: shorter box's height.
LINE_OVERLAP = 0.5

# An engine takes PNG bytes and returns RapidOCR's result rows: [box, text, score], where
# box is four [x, y] corners; or None when it found no text.
OcrEngine = Callable[[bytes], Any]


@dataclass(frozen=True)
class TextBox:
    """One piece of text the OCR engine found, with its bounding box in pixels."""

    text: str
    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        return max(self.bottom - self.top, 1e-6)


def boxes_from_rapidocr(result: Any) -> list[TextBox]:
    """RapidOCR's ``[[corners, text, score], ...]`` (or ``None``) as ``TextBox`` records."""
    boxes: list[TextBox] = []
    for row in result or ():
        corners, text = row[0], str(row[1])
        xs = [float(point[0]) for point in corners]
        ys = [float(point[1]) for point in corners]
        boxes.append(TextBox(text, min(xs), min(ys), max(xs), max(ys)))
    return boxes


def group_lines(boxes: Sequence[TextBox]) -> list[list[TextBox]]:
    """Boxes grouped into lines by vertical overlap, top to bottom, each left to right."""
    lines: list[list[TextBox]] = []
    spans: list[tuple[float, float]] = []
    for box in sorted(boxes, key=lambda b: (b.top, b.left)):
        for index, (top, bottom) in enumerate(spans):
            overlap = min(bottom, box.bottom) - max(top, box.top)
            if overlap >= LINE_OVERLAP * min(bottom - top, box.height):
                lines[index].append(box)
                spans[index] = (min(top, box.top), max(bottom, box.bottom))
                break
        else:
            lines.append([box])
            spans.append((box.top, box.bottom))
    order = sorted(range(len(lines)), key=lambda i: spans[i][0])
    return [sorted(lines[i], key=lambda b: b.left) for i in order]


def reading_order_text(boxes: Sequence[TextBox]) -> str:
    """The transcription: one line per text line, pieces of a line joined by a space."""
    return "\n".join(" ".join(box.text for box in line) for line in group_lines(boxes))


def prompt_content(prompt: str) -> str:
    """The part of a prompt that carries the question: what follows the instruction
    paragraph (the one that asks for the ``ANSWER:`` line), or all of it if there is none.
    The instruction itself holds example answers that must not be read as the question."""
    head, sep, rest = prompt.partition("\n\n")
    if sep and FINAL_ANSWER_PREFIX in head:
        return rest
    return prompt if FINAL_ANSWER_PREFIX not in prompt else ""


def ocr_version() -> str:
    """The installed RapidOCR package and version, without importing it."""
    try:
        return f"{OCR_PACKAGE} {metadata.version(OCR_PACKAGE)}"
    except metadata.PackageNotFoundError:
        return f"{OCR_PACKAGE} (not installed)"


def default_ocr_threads() -> int | None:
    """Threads per ONNX Runtime session: ``REST_REFERENCE_OCR_THREADS`` if set; else one
    inside a pytest-xdist worker, where the workers already fill the cores (one thread
    read the most images per CPU-second); else ONNX Runtime's own choice, which has the
    shortest wall time for a single process on an idle machine."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ModelError(f"{THREADS_ENV}={value!r}: expected a positive whole number")
        return int(value)
    return 1 if os.environ.get("PYTEST_XDIST_WORKER") else None


def load_rapidocr(threads: int | None = None) -> OcrEngine:
    """Import and load RapidOCR (its ONNX models ship in the wheel); ``threads`` per ONNX
    Runtime session, ``None`` for ONNX Runtime's default."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        raise ModelError(
            f"the reference model reads images with {OCR_PACKAGE}, which is not "
            f"installed: pip install 'rest-checks[reference]' ({exc})"
        ) from exc
    kwargs: dict[str, Any] = dict(OCR_SETTINGS)
    if threads is not None:
        kwargs.update(intra_op_num_threads=threads, inter_op_num_threads=1)
    engine = RapidOCR(**kwargs)

    def run(png: bytes) -> Any:
        result, _elapsed = engine(png)
        return result

    return run


def answer_line(reading: Reading) -> str:
    """The final ``ANSWER:`` line, written as a model would write the answer."""
    if reading.answer is None or reading.answer_type is None:
        raise ValueError("a reading without an answer has no answer line")
    return f"{FINAL_ANSWER_PREFIX} {format_answer(reading.answer, reading.answer_type)}"


class ReferenceModel(Model):
    """OCR (RapidOCR) + exact reader; see the module docstring."""

    def __init__(
        self,
        spec: str = "reference",
        *,
        ocr_threads: int | None = None,
        engine_factory: Callable[[], OcrEngine] | None = None,
    ) -> None:
        self.spec = spec
        self._threads = ocr_threads if ocr_threads is not None else default_ocr_threads()
        self._engine_factory = engine_factory or (lambda: load_rapidocr(self._threads))
        self._engine: OcrEngine | None = None
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()
        #: How many images the OCR engine actually read (cache hits excluded).
        self.ocr_calls = 0

    def identity(self) -> dict[str, Any]:
        return {
            "backend": "reference",
            "name": "reference",
            "ocr": ocr_version(),
            "ocr_settings": dict(OCR_SETTINGS),
            "reader": READER_VERSION,
        }

    @property
    def ocr_loaded(self) -> bool:
        return self._engine is not None

    def _get_engine(self) -> OcrEngine:
        if self._engine is None:
            threads = self._threads if self._threads is not None else "default"
            say(f"loading the reference model's OCR ({ocr_version()}, {threads} thread(s))")
            self._engine = self._engine_factory()
        return self._engine

    def transcribe(self, png: bytes) -> str:
        """The image's text in reading order; cached by the SHA-256 of the bytes."""
        key = hashlib.sha256(png).hexdigest()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
            engine = self._get_engine()
            try:
                result = engine(png)
            except Exception as exc:
                raise ModelError(f"OCR failed on an image ({len(png)} bytes): {exc}") from exc
            self.ocr_calls += 1
            text = reading_order_text(boxes_from_rapidocr(result))
            self._cache[key] = text
            return text

    def close(self) -> None:
        """Drop the OCR engine and the transcription cache."""
        with self._lock:
            self._engine = None
            self._cache.clear()

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        return [self._answer(request) for request in requests]

    def _image(self, request: Request) -> bytes:
        if request.image_png is None:
            raise ModelError(f"{request.item_id}: the {request.modality} request carries no image")
        return request.image_png

    def _answer(self, request: Request) -> Response:
        modality = request.modality
        if modality == "ocr":
            return Response(self.transcribe(self._image(request)))
        if modality == "text":
            content = prompt_content(request.prompt)
        elif modality == "image":
            content = self.transcribe(self._image(request))
        elif modality == "mixed":
            content = self.transcribe(self._image(request)) + "\n" + prompt_content(request.prompt)
        else:
            raise ModelError(f"{request.item_id}: unknown modality {modality!r}")
        reading = read_text(content, request.item)
        if reading.answer is None:
            return Response(f"{reading.note}\nI could not read the question, so I give no answer.")
        return Response(f"{reading.note}\n{answer_line(reading)}")
