"""The image pixel budget pinned for Qwen2-VL-family models.

A module of constants that imports nothing, so that the registry's aliases and the
Hugging Face backend share the numbers without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# 256 to 1280 merged patches of 28 x 28 pixels: Qwen2-VL's recommended range.
QWEN_MIN_PIXELS = 256 * 28 * 28
QWEN_MAX_PIXELS = 1280 * 28 * 28
QWEN_PIXEL_BUDGET: Mapping[str, int] = MappingProxyType(
    {"min_pixels": QWEN_MIN_PIXELS, "max_pixels": QWEN_MAX_PIXELS}
)
