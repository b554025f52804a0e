"""The one place that turns an item into the requests a model sees.

Four requests per item and rendering: ``text`` (everything as text), ``image`` (everything
rendered, a fixed instruction as text), ``mixed`` (the context rendered, the question and
options as text) and ``ocr`` (the same image as ``image``, asking for a transcription).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rest_checks.items.base import Item
from rest_checks.modalities import FINAL_ANSWER_PREFIX, Modality
from rest_checks.pages import KeyedPage, PngPage, RenderedPage
from rest_checks.render.specs import DEFAULT_SPEC, RenderSpec

_FORMAT_BY_TYPE = {
    "choice": "the letter of the correct option, e.g. 'ANSWER: B'",
    "number": "a single number, e.g. 'ANSWER: 42'",
    "solution": "the value of every variable, e.g. 'ANSWER: A = 1, B = -2'",
}

_REASONING = (
    "Think step by step and show your reasoning. Then finish with exactly one final line "
    "of the form '{prefix} <answer>', where <answer> is {fmt}."
)

TEXT_TEMPLATE = "{reasoning}\n\n{content}"
IMAGE_TEMPLATE = "The question is shown in the image. {reasoning}"
MIXED_TEMPLATE = (
    "Part of the question is shown in the image; the rest follows. {reasoning}\n\n{content}"
)
OCR_TEMPLATE = (
    "Transcribe all the text in the image exactly as written, line by line. "
    "Output only the transcription."
)

# Answer budgets from the paper: SoEBench needs longer chains of thought.
DEFAULT_MAX_TOKENS = 1024
MAX_TOKENS_BY_TASK = {"soebench": 2048}


@dataclass(frozen=True)
class Request:
    """One call to a model: a text prompt and, for the visual modalities, one PNG image.

    The image is a ``KeyedPage``, rendered only when a backend reads ``image_png`` (given bytes
    become a ``PngPage``), so building a request and looking it up in the cache are cheap.
    """

    item_id: str
    modality: Modality
    prompt: str
    page: KeyedPage | bytes | None = field(default=None, repr=False)
    max_tokens: int = DEFAULT_MAX_TOKENS
    # The item travels along for readers that check their transcription against it
    # (the reference model); it is never part of the cache key or of what a model is sent.
    item: Item | None = field(default=None, compare=False, repr=False)
    # A short name for the rendering ("default", "courier-50dpi", ...), for reports only.
    rendering: str = field(default="default", compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.page, (bytes, bytearray)):
            object.__setattr__(self, "page", PngPage(bytes(self.page)))

    @property
    def image(self) -> KeyedPage | None:
        """The page this request shows, or None for a text request."""
        return self.page if isinstance(self.page, KeyedPage) else None

    @property
    def image_png(self) -> bytes | None:
        """The exact PNG bytes a model is sent (rendered here on first use)."""
        return self.page.png() if isinstance(self.page, KeyedPage) else None


def reasoning_instruction(item: Item) -> str:
    return _REASONING.format(prefix=FINAL_ANSWER_PREFIX, fmt=_FORMAT_BY_TYPE[item.answer_type])


def max_tokens_for(item: Item) -> int:
    return MAX_TOKENS_BY_TASK.get(item.task, DEFAULT_MAX_TOKENS)


def text_request(item: Item) -> Request:
    prompt = TEXT_TEMPLATE.format(reasoning=reasoning_instruction(item), content=item.full_text())
    return Request(item.id, "text", prompt, None, max_tokens_for(item), item)


def image_request(
    item: Item, spec: RenderSpec = DEFAULT_SPEC, rendering: str = "default"
) -> Request:
    prompt = IMAGE_TEMPLATE.format(reasoning=reasoning_instruction(item))
    page = RenderedPage(item.full_text(), spec)
    return Request(item.id, "image", prompt, page, max_tokens_for(item), item, rendering)


def mixed_request(
    item: Item, spec: RenderSpec = DEFAULT_SPEC, rendering: str = "default"
) -> Request:
    # An item without a separate question (rare) falls back to rendering everything.
    if not item.question_text():
        return image_request(item, spec, rendering)
    prompt = MIXED_TEMPLATE.format(
        reasoning=reasoning_instruction(item), content=item.question_text()
    )
    page = RenderedPage(item.context, spec)
    return Request(item.id, "mixed", prompt, page, max_tokens_for(item), item, rendering)


def ocr_request(item: Item, spec: RenderSpec = DEFAULT_SPEC, rendering: str = "default") -> Request:
    page = RenderedPage(item.full_text(), spec)
    return Request(item.id, "ocr", OCR_TEMPLATE, page, DEFAULT_MAX_TOKENS, item, rendering)


def build_requests(
    item: Item,
    spec: RenderSpec = DEFAULT_SPEC,
    *,
    with_ocr: bool = True,
    rendering: str = "default",
) -> dict[Modality, Request]:
    """The text, image, mixed (and OCR) requests for one item under one rendering;
    ``rendering`` names it in reports (the text request is the same call in every one)."""
    requests: dict[Modality, Request] = {
        "text": text_request(item),
        "image": image_request(item, spec, rendering),
        "mixed": mixed_request(item, spec, rendering),
    }
    if with_ocr:
        requests["ocr"] = ocr_request(item, spec, rendering)
    return requests
