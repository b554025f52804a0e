"""How a page reaches a transformers model's vision tower whole.

Two families of image processor are in use:

- dynamic-resolution processors (Qwen2-VL, Qwen2.5-VL) resize the page within a pixel
  budget (``min_pixels``/``max_pixels``), keeping its aspect ratio and all of its content;
  the budget is pinned by the backend and checked after loading (``pixel_budget_of``);
- fixed-square processors (CLIP's, shipped with llava-hf's LLaVA-1.5) resize the shortest
  side and then cut a centre square: on a wide page, everything left and right of the middle
  is lost. The original LLaVA-1.5 pads the image to a square first, with the processor's
  mean colour; we do the same (``pad_to_square``) and switch the crop off, so no pixel of
  the page is ever cut.

Only Pillow is imported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PIL import Image

#: Model types whose original preprocessing pads the image to a square (LLaVA-1.5).
PAD_TO_SQUARE_MODEL_TYPES = ("llava",)
#: The identity's name of each way an image is fitted.
FIT_PAD_SQUARE = "pad-square"
FIT_PROCESSOR = "processor"


def crops(image_processor_config: Mapping[str, Any]) -> bool:
    """Whether an image processor with this config cuts a centre crop from the image."""
    return bool(image_processor_config.get("do_center_crop", False))


def image_fit(model_type: str, image_processor_config: Mapping[str, Any]) -> str:
    """``"pad-square"`` for LLaVA-1.5-style models and for any processor that would crop;
    ``"processor"`` (the processor's own resize, which keeps the whole page) otherwise."""
    if model_type in PAD_TO_SQUARE_MODEL_TYPES or crops(image_processor_config):
        return FIT_PAD_SQUARE
    return FIT_PROCESSOR


def mean_colour(image_mean: Sequence[float] | None) -> tuple[int, int, int]:
    """The processor's normalisation mean as an RGB colour (what original LLaVA pads with);
    mid-grey when the processor has none."""
    if not image_mean or len(image_mean) != 3:
        return (128, 128, 128)
    r, g, b = (int(float(v) * 255) for v in image_mean)
    return (r, g, b)


def pad_to_square(image: Image.Image, colour: tuple[int, int, int]) -> Image.Image:
    """The image centred on a square canvas of ``colour`` whose side is its longer side.

    A square image is returned unchanged; the page itself is never scaled or cut here.
    """
    rgb = image.convert("RGB")
    width, height = rgb.size
    if width == height:
        return rgb
    side = max(width, height)
    canvas = Image.new("RGB", (side, side), colour)
    canvas.paste(rgb, ((side - width) // 2, (side - height) // 2))
    return canvas


def pixel_budget_of(image_processor: Any) -> tuple[int | None, int | None]:
    """``(min_pixels, max_pixels)`` an image processor will resize within.

    transformers 5 keeps them as ``size.shortest_edge``/``size.longest_edge`` (a ``SizeDict``
    or a plain dict); older processors had ``min_pixels``/``max_pixels`` attributes.
    """
    size = getattr(image_processor, "size", None)
    if isinstance(size, Mapping):
        low, high = size.get("shortest_edge"), size.get("longest_edge")
    else:
        low, high = getattr(size, "shortest_edge", None), getattr(size, "longest_edge", None)
    if low is None and high is None:
        low = getattr(image_processor, "min_pixels", None)
        high = getattr(image_processor, "max_pixels", None)
    return (None if low is None else int(low), None if high is None else int(high))
