"""The embedded reference model: a real OCR engine followed by an exact reader.

It needs no GPU and no network. Images are read by RapidOCR (the ``rapidocr`` package,
whose ONNX models ship inside the wheel); the transcription, or the prompt's own text for
the text modality, goes to the exact reader (``rest_checks.reader``), which answers only
from what it read and calculates without error.

Its text answers are therefore always right, and any difference between its text, image
and mixed answers comes from reading alone. Its inconsistency measures how legible a
rendering is: it is the OCR control of the suite (docs/paper.md), and the guard that tells a
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
loaded on the first image only, so text-only use never pays for it. The distinct images of
one batch of requests are read side by side, one page per core, each by its own engine
with one ONNX Runtime thread (inside a pytest-xdist worker one page at a time: the workers
already fill the cores). Neither count enters the identity: each changes speed, not what
is read.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from rest_checks.answers import format_answer
from rest_checks.models.base import Collected, Model, ModelError, ReplySink, Response
from rest_checks.pages import KeyedPage
from rest_checks.progress import say
from rest_checks.prompts import FINAL_ANSWER_PREFIX, Request
from rest_checks.reader import READER_VERSION, Reading, read_text
from rest_checks.xdist_worker import is_xdist_worker

OCR_PACKAGE = "rapidocr"
THREADS_ENV = "REST_REFERENCE_OCR_THREADS"

#: How the OCR reads a page; each setting changes what is read, so all are part of the
#: identity. RapidOCR 3 with the PP-OCRv6 small detection and recognition models that ship
#: inside its wheel (nothing is downloaded), the text-direction classifier off (rendered
#: text is always upright; the classifier once turned a correctly detected line of
#: mcq-0031 upside down).
#:
#: Each page is read at a size suited to its resolution, found from the page itself: the
#: median height of its lines of ink. The detector sees the page scaled so that this
#: height is ``det_line_px`` pixels, and each line it finds is cut for the recogniser from
#: the page scaled to ``rec_line_px``. A fixed detector size does not suit every
#: resolution: the former setting (shorter side scaled to 480 pixels, PP-OCRv4) blew
#: 200 DPI text up to about 55 pixels a line, where the detector cut lines in two and the
#: recogniser read the character at the seam twice ("5C + 3D+ 2 2E = 59"). The detector
#: still cuts Liberation Mono lines at their wide spaces, so pieces of one line less than
#: ``join_gap`` line heights apart are read as one (:func:`join_line_pieces`).
#:
#: Measured with ``benchmarks/reference_cost.py`` on 30 items per task: see the table in
#: that benchmark's docstring.
OCR_SETTINGS: dict[str, Any] = {
    "det_model": "PP-OCRv6_det_small.onnx",
    "rec_model": "PP-OCRv6_rec_small.onnx",
    "det_line_px": 16,
    "rec_line_px": 28,
    "det_unclip_ratio": 1.6,
    "join_gap": 1.5,
    "text_score": 0.5,
    "use_cls": False,
}

#: A pixel is ink when one of its channels differs from the page's colour by more than
#: this (so yellow on white, faint in luminance, is ink by its blue channel).
INK_CONTRAST = 64
#: Pages are never scaled by more than this factor either way.
MAX_PAGE_SCALE = 8.0

#: Two boxes are on one line when their vertical overlap is at least this share of the
#: shorter box's height.
LINE_OVERLAP = 0.5

# An engine takes PNG bytes and returns result rows: [box, text, score], where box is
# four [x, y] corners in the page's pixels; or None when it found no text.
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
    """Result rows ``[[corners, text, score], ...]`` (or ``None``) as ``TextBox`` records."""
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


def default_ocr_workers() -> int:
    """Pages read at once: one inside a pytest-xdist worker, where the workers already
    fill the cores; else one per core this process may run on."""
    if is_xdist_worker():
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def default_ocr_threads(workers: int = 1) -> int | None:
    """Threads per ONNX Runtime session: ``REST_REFERENCE_OCR_THREADS`` if set; else one
    where pages are read side by side (``workers`` > 1) or inside a pytest-xdist worker
    (one thread reads the most images per CPU-second); else ONNX Runtime's own choice,
    which has the shortest wall time for a single page on an idle machine."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ModelError(f"{THREADS_ENV}={value!r}: expected a positive whole number")
        return int(value)
    return 1 if workers > 1 or is_xdist_worker() else None


def ink_line_height(rgb: Any) -> float | None:
    """The median height in pixels of the lines of ink on a page (an RGB array, rows
    first), or ``None`` for a blank page. A line is a run of pixel rows that hold ink; the
    page's colour is that of its top row (a margin, on every rendering)."""
    import numpy as np

    pixels = np.asarray(rgb, dtype=np.int16)
    background = np.median(pixels[0], axis=0)
    ink_rows = (np.abs(pixels - background).max(axis=2) > INK_CONTRAST).any(axis=1)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], ink_rows.astype(np.int8), [0]))))
    if edges.size == 0:
        return None
    return float(np.median(edges[1::2] - edges[0::2]))


def join_line_pieces(pieces: Sequence[TextBox], gap: float) -> list[TextBox]:
    """Pieces of one line that the detector found apart, joined when they overlap or the
    gap between them is at most ``gap`` times their height; in reading order.

    The detector cuts a line at a wide space (Liberation Mono's are a full character
    wide), and the two pieces it grows around its cut overlap: read apart, the character
    at the seam is read twice or in part ("5C + 3D+ 2 2E = 59", "5C + 3D ) + 2E = 59").
    Read as one, the line has no seam.
    """
    joined: list[TextBox] = []
    for line in group_lines(pieces):
        current = line[0]
        for piece in line[1:]:
            if piece.left - current.right <= gap * min(current.height, piece.height):
                current = TextBox(
                    "",
                    min(current.left, piece.left),
                    min(current.top, piece.top),
                    max(current.right, piece.right),
                    max(current.bottom, piece.bottom),
                )
            else:
                joined.append(current)
                current = piece
        joined.append(current)
    return joined


def scaled_page(page: Any, line_px: float, line_height: float) -> tuple[Any, float, float]:
    """``page`` (a PIL RGB image) scaled so that its lines are ``line_px`` pixels high,
    as BGR pixels (what RapidOCR takes), with the horizontal and vertical scale applied."""
    import numpy as np
    from PIL import Image

    scale = min(max(line_px / line_height, 1 / MAX_PAGE_SCALE), MAX_PAGE_SCALE)
    scaled = page
    if abs(scale - 1) > 0.05:
        size = (max(1, round(page.width * scale)), max(1, round(page.height * scale)))
        scaled = page.resize(size, Image.Resampling.LANCZOS)
    pixels = np.ascontiguousarray(np.asarray(scaled)[:, :, ::-1])
    return pixels, scaled.width / page.width, scaled.height / page.height


class PageReader:
    """Reads a PNG page with a loaded RapidOCR 3 engine, at a size suited to the page's
    resolution (see ``OCR_SETTINGS``): the detector on the page scaled to
    ``det_line_px``, the recogniser on each line it found, cut from the page scaled to
    ``rec_line_px``. Returns result rows ``[corners, text, score]`` in the page's pixels,
    or ``None`` when it found no text."""

    def __init__(self, engine: Any, settings: dict[str, Any] | None = None) -> None:
        self._engine = engine
        self._settings = dict(OCR_SETTINGS if settings is None else settings)

    def __call__(self, png: bytes) -> list[list[Any]] | None:
        import numpy as np
        from PIL import Image

        with Image.open(io.BytesIO(png)) as image:
            page = image.convert("RGB")
        line_height = ink_line_height(np.asarray(page))
        if line_height is None:
            return None
        settings = self._settings
        det_pixels, det_x, det_y = scaled_page(page, settings["det_line_px"], line_height)
        found = self._engine(
            det_pixels,
            use_det=True,
            use_cls=False,
            use_rec=False,
            unclip_ratio=settings["det_unclip_ratio"],
        )
        boxes = getattr(found, "boxes", None)
        if boxes is None or len(boxes) == 0:
            return None
        pieces = []
        for quad in np.asarray(boxes, dtype=np.float64):
            corners = quad / (det_x, det_y)
            xs, ys = corners[:, 0], corners[:, 1]
            pieces.append(TextBox("", xs.min(), ys.min(), xs.max(), ys.max()))
        rec_pixels, rec_x, rec_y = scaled_page(page, settings["rec_line_px"], line_height)
        height, width = rec_pixels.shape[:2]
        rows: list[list[Any]] = []
        for box in join_line_pieces(pieces, settings["join_gap"]):
            left, right = max(0, int(box.left * rec_x)), min(width, int(np.ceil(box.right * rec_x)))
            top, bottom = (
                max(0, int(box.top * rec_y)),
                min(height, int(np.ceil(box.bottom * rec_y))),
            )
            if right - left < 2 or bottom - top < 2:
                continue
            crop = np.ascontiguousarray(rec_pixels[top:bottom, left:right])
            read = self._engine(crop, use_det=False, use_cls=False, use_rec=True)
            texts, scores = getattr(read, "txts", None), getattr(read, "scores", None)
            if not texts or not scores:
                continue
            text, score = str(texts[0]), float(scores[0])
            if text.strip() and score >= settings["text_score"]:
                corners = [
                    [box.left, box.top],
                    [box.right, box.top],
                    [box.right, box.bottom],
                    [box.left, box.bottom],
                ]
                rows.append([corners, text, score])
        return rows or None


def load_rapidocr(threads: int | None = None) -> OcrEngine:
    """Import and load RapidOCR with the models inside its wheel; ``threads`` per ONNX
    Runtime session, ``None`` for ONNX Runtime's default."""
    try:
        import rapidocr
        from rapidocr import RapidOCR
    except ImportError as exc:
        raise ModelError(
            f"the reference model reads images with {OCR_PACKAGE}, which is not "
            f"installed: pip install 'rest-checks[reference]' ({exc})"
        ) from exc
    models = Path(rapidocr.__file__).resolve().parent / "models"
    paths = {key: models / OCR_SETTINGS[f"{key}_model"] for key in ("det", "rec")}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise ModelError(
            f"{ocr_version()} does not ship the models the reference model reads with "
            f"({', '.join(missing)}); install the version the 'reference' extra names"
        )
    params: dict[str, Any] = {
        "Global.log_level": "error",
        "Global.use_cls": OCR_SETTINGS["use_cls"],
        "Global.text_score": OCR_SETTINGS["text_score"],
        # The page comes in already scaled for the detector: it is not scaled again.
        "Det.limit_type": "max",
        "Det.limit_side_len": 4096,
        "Det.unclip_ratio": OCR_SETTINGS["det_unclip_ratio"],
        "Det.model_path": str(paths["det"]),
        "Rec.model_path": str(paths["rec"]),
    }
    if threads is not None:
        params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
        params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
    return PageReader(RapidOCR(params=params))


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
        ocr_workers: int | None = None,
        engine_factory: Callable[[], OcrEngine] | None = None,
    ) -> None:
        self.spec = spec
        self._workers = max(1, ocr_workers if ocr_workers is not None else default_ocr_workers())
        self._threads = (
            ocr_threads if ocr_threads is not None else default_ocr_threads(self._workers)
        )
        self._engine_factory = engine_factory or (lambda: load_rapidocr(self._threads))
        # Loaded engines not reading a page now; one per page read at once, at most.
        self._idle: list[OcrEngine] = []
        self._loaded = 0
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
        return self._loaded > 0

    def _take_engine(self) -> OcrEngine:
        """An idle engine, or a new one: a RapidOCR engine keeps per-call state, so two
        pages read at once need two."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
            if self._loaded == 0:
                threads = self._threads if self._threads is not None else "default"
                say(
                    f"loading the reference model's OCR ({ocr_version()}, up to "
                    f"{self._workers} page(s) at once, {threads} thread(s) each)"
                )
            self._loaded += 1
        try:
            return self._engine_factory()
        except BaseException:
            with self._lock:
                self._loaded -= 1
            raise

    def _read(self, png: bytes) -> str:
        engine = self._take_engine()
        try:
            result = engine(png)
        except Exception as exc:
            raise ModelError(f"OCR failed on an image ({len(png)} bytes): {exc}") from exc
        finally:
            with self._lock:
                self._idle.append(engine)
        return reading_order_text(boxes_from_rapidocr(result))

    def transcribe(self, png: bytes) -> str:
        """The image's text in reading order; cached by the SHA-256 of the bytes."""
        key = hashlib.sha256(png).hexdigest()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        text = self._read(png)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = text
                self.ocr_calls += 1
        return text

    def close(self) -> None:
        """Drop the OCR engines and the transcription cache."""
        with self._lock:
            self._idle.clear()
            self._loaded = 0
            self._cache.clear()

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        collected = Collected(len(requests))
        self.stream(requests, collected)
        return collected.replies()

    def stream(self, requests: Sequence[Request], sink: ReplySink) -> None:
        """Answer text requests at once and read the distinct pages side by side, one per
        worker; each page's requests are answered (and handed to ``sink``) as soon as that
        page is read, so a reply is stored while other pages are still being read."""
        by_page: dict[KeyedPage, list[int]] = {}
        for index, request in enumerate(requests):
            if request.image is None:
                sink.reply(index, self._answer(request))
            else:
                by_page.setdefault(request.image, []).append(index)

        def answer_page(indices: list[int]) -> None:
            for index in indices:
                sink.reply(index, self._answer(requests[index]))

        if self._workers < 2 or len(by_page) < 2:
            for indices in by_page.values():
                answer_page(indices)
            return
        with ThreadPoolExecutor(min(self._workers, len(by_page))) as pool:
            for done in [pool.submit(answer_page, indices) for indices in by_page.values()]:
                done.result()

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
