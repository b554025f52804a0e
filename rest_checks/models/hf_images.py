"""How a page reaches a transformers model's vision tower whole, as each family's original
preprocessing has it.

- dynamic-resolution processors (Qwen2-VL, Qwen2.5-VL, Qwen3-VL) resize the page within a
  pixel budget (``min_pixels``/``max_pixels``; factor 28 for Qwen2/2.5, 32 for Qwen3),
  keeping its aspect ratio and all of its content; the budget is pinned by the backend and
  checked after loading (``pixel_budget_of``);
- anyres processors (LLaVA-NeXT, LLaVA-OneVision) tile the page on their own grid, and
  Pixtral (also Mistral3) reads it at its own aspect ratio: they get the page as it is,
  even where a published config says ``do_center_crop`` (a crop of square tiles cuts
  nothing);
- fixed-square processors (CLIP's, shipped with llava-hf's LLaVA-1.5) resize the shortest
  side and then cut a centre square: on a wide page, everything left and right of the middle
  is lost. The original LLaVA-1.5 pads the image to a square first, with the processor's
  mean colour; we do the same (``pad_to_square``) and switch the crop off, so no pixel of
  the page is ever cut. Any other processor that would crop is padded the same way.
- every other processor (Gemma 3, Idefics3/SmolVLM, Mllama, InternVL) resizes or tiles
  without cropping and gets the page as it is.

Only Pillow is imported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PIL import Image

#: Model types whose original preprocessing pads the image to a square (LLaVA-1.5).
PAD_TO_SQUARE_MODEL_TYPES = ("llava",)
#: Model types (or vision tower types) that read the page at its own shape: anyres tiling
#: and Pixtral. They are never padded, whatever ``do_center_crop`` says.
AS_IS_MODEL_TYPES = ("llava_next", "llava_onevision", "pixtral", "mistral3")
#: The identity's name of each way an image is fitted.
FIT_PAD_SQUARE = "pad-square"
FIT_PROCESSOR = "processor"


def crops(image_processor_config: Mapping[str, Any]) -> bool:
    """Whether an image processor with this config cuts a centre crop from the image."""
    return bool(image_processor_config.get("do_center_crop", False))


def image_fit(
    model_type: str, image_processor_config: Mapping[str, Any], vision_type: str | None = None
) -> str:
    """``"processor"`` (the processor's own resize or tiling, which keeps the whole page)
    for anyres families and Pixtral, and for every processor that does not crop;
    ``"pad-square"`` for LLaVA-1.5-style models (CLIP towers) and any other processor that
    would crop."""
    processor_type = str(image_processor_config.get("image_processor_type", ""))
    if (
        model_type in AS_IS_MODEL_TYPES
        or vision_type in AS_IS_MODEL_TYPES
        or processor_type.startswith("Pixtral")
    ):
        return FIT_PROCESSOR
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
