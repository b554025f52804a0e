"""The image pixel budgets pinned for Qwen2-VL-family models (Qwen2-VL, Qwen2.5-VL, Qwen3-VL).

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

# Qwen3-VL: 16-pixel patches merged 2 x 2, so a visual token is 32 x 32 pixels (factor 32);
# the same 256 to 1280 visual tokens as the Qwen2-VL budget.
QWEN3_MIN_PIXELS = 256 * 32 * 32
QWEN3_MAX_PIXELS = 1280 * 32 * 32
QWEN3_PIXEL_BUDGET: Mapping[str, int] = MappingProxyType(
    {"min_pixels": QWEN3_MIN_PIXELS, "max_pixels": QWEN3_MAX_PIXELS}
)
#: Model type -> the budget pinned for it.
PIXEL_BUDGETS: Mapping[str, Mapping[str, int]] = MappingProxyType(
    {
        "qwen2_vl": QWEN_PIXEL_BUDGET,
        "qwen2_5_vl": QWEN_PIXEL_BUDGET,
        "qwen3_vl": QWEN3_PIXEL_BUDGET,
        "qwen3_vl_moe": QWEN3_PIXEL_BUDGET,
    }
)
#: Model types whose image processor takes the budget as ``size`` (shortest_edge and
#: longest_edge, in pixels) rather than as min_pixels/max_pixels.
BUDGET_AS_SIZE = ("qwen3_vl", "qwen3_vl_moe")
