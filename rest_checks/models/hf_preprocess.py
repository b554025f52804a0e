"""Requests made ready for a transformers processor, whatever the model's family.

The prompt goes through the processor's own chat template, with the image first and the
prompt text after it; the page reaches the processor as the RGB pixels its palette PNG
encodes, padded to a square where the family's original preprocessing fits images that way
(``hf_images``), and each row's image in a list of its own, the form every family takes.
Requests are batched by kind (without an image, then with one) and by size, so that rows of
a batch pad little.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rest_checks.models import hf_images
from rest_checks.models.base import ModelError
from rest_checks.models.hf_loading import Loaded
from rest_checks.prompts import Request


@dataclass
class Prepared:
    """One request made ready for the processor."""

    index: int
    request: Request
    chat_text: str
    image: Any  # PIL.Image.Image | None
    max_new_tokens: int

    @property
    def size_key(self) -> tuple[int, int]:
        pixels = self.image.width * self.image.height if self.image is not None else 0
        return pixels, len(self.chat_text)


def batches(prepared: Sequence[Prepared], batch_size: int) -> list[list[Prepared]]:
    """Requests outside the run's fixed order (or all, when none was given): without an
    image, then with one; smaller first; ``batch_size`` each."""
    out: list[list[Prepared]] = []
    for with_image in (False, True):
        group = sorted(
            (p for p in prepared if (p.image is not None) == with_image),
            key=lambda p: (p.size_key, p.index),
        )
        out.extend(group[i : i + batch_size] for i in range(0, len(group), batch_size))
    return out


def on_fresh_page(request: Request) -> Request:
    """``request`` on a page of its own: the run's order, which holds the original, never
    holds the bytes rendered for it."""
    page = request.image
    return request if page is None else dataclasses.replace(request, page=page.fresh())


class Preprocessor:
    """Prepares and encodes requests with the processor of ``loaded`` (read at each call,
    so a model loaded again is used at once)."""

    def __init__(
        self, loaded: Loaded, *, image_fit: str, dtype: str, max_new_tokens_cap: int | None
    ) -> None:
        self.loaded = loaded
        self.image_fit = image_fit
        self.dtype = dtype
        self.max_new_tokens_cap = max_new_tokens_cap

    def max_new_tokens_for(self, request: Request) -> int:
        if self.max_new_tokens_cap is None:
            return request.max_tokens
        return min(request.max_tokens, self.max_new_tokens_cap)

    def chat_text(self, prompt: str, with_image: bool) -> str:
        """The prompt after the processor's chat template, ready for generation."""
        content: list[dict[str, Any]] = [{"type": "image"}] if with_image else []
        content.append({"type": "text", "text": prompt})
        messages = [{"role": "user", "content": content}]
        text = self.loaded.processor.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False
        )
        return str(text)

    def prepare(self, index: int, request: Request) -> Prepared:
        """``request`` with its chat text, its page as the processor takes it and its
        answer budget; a ``ModelError`` naming the request when its image is unreadable."""
        image: Any = None
        if request.image_png is not None:
            from PIL import Image

            try:
                with Image.open(io.BytesIO(request.image_png)) as page:
                    # Pages are palette PNGs; every processor gets the RGB pixels they encode.
                    image = page.convert("RGB")
            except (OSError, ValueError) as exc:
                raise ModelError(
                    f"request {request.item_id}/{request.modality}: image is not a readable "
                    f"PNG: {exc}"
                ) from exc
            if self.image_fit == hf_images.FIT_PAD_SQUARE:
                image = hf_images.pad_to_square(image, self.loaded.pad_colour)
        return Prepared(
            index,
            request,
            self.chat_text(request.prompt, image is not None),
            image,
            self.max_new_tokens_for(request),
        )

    def encode(self, texts: list[str], images: list[Any]) -> Any:
        """The processor's tensors for one batch, on the model's input device and dtype."""
        # One list of images per row: a flat list is one sample with every image to the
        # processors of Gemma 3, Idefics3/SmolVLM and Mllama, and every family takes this.
        inputs = self.loaded.processor(
            text=texts,
            images=[[image] for image in images] or None,
            padding=True,
            return_tensors="pt",
        )
        import torch

        return inputs.to(self.loaded.input_device, dtype=getattr(torch, self.dtype))
