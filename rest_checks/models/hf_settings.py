"""Settings of a local transformers model, read and checked once where it is built.

Each value follows its rule in ``setting_rules`` (the rules a models file is read with);
what is left here is which keys the hf backend takes and what they imply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rest_checks.models import setting_rules
from rest_checks.models.base import ModelError
from rest_checks.models.pixels import PIXEL_BUDGETS

SETTINGS = (
    "min_pixels",
    "max_pixels",
    "revision",
    "max_new_tokens",
    "attn_implementation",
    "max_memory",
    "fast_path",
    "trust_remote_code",
)


@dataclass(frozen=True)
class HFSettings:
    """A model's ``settings`` (see ``HFModel``), checked."""

    revision: str | None = None
    # A cap on every request's own answer budget.
    max_new_tokens_cap: int | None = None
    attn_implementation: str | None = None
    # Opt-in: a static KV cache and PyTorch's scaled-dot-product attention.
    fast_path: bool = False
    max_memory: dict[str, Any] | None = None
    # Opt-in only, never asked on the terminal: False makes transformers refuse remote
    # code instead of prompting for it.
    trust_remote_code: bool = False
    # The pixel budget as given; ``pixel_budget`` decides it once the model type is known.
    min_pixels: int | None = None
    max_pixels: int | None = None


def hf_settings_from(spec: str, settings: Mapping[str, Any]) -> HFSettings:
    """``settings`` checked: only the keys of ``SETTINGS``, each by its rule."""
    setting_rules.check_settings(f"model {spec!r}", settings, SETTINGS, kind="hf setting")
    fast_path = bool(settings.get("fast_path", False))
    attn = settings.get("attn_implementation")
    return HFSettings(
        revision=settings.get("revision"),
        max_new_tokens_cap=settings.get("max_new_tokens"),
        attn_implementation="sdpa" if fast_path and attn is None else attn,
        fast_path=fast_path,
        max_memory=settings.get("max_memory"),
        trust_remote_code=bool(settings.get("trust_remote_code", False)),
        min_pixels=settings.get("min_pixels"),
        max_pixels=settings.get("max_pixels"),
    )


def pixel_budget(spec: str, model_type: str, settings: HFSettings) -> tuple[int, int] | None:
    """The pixel budget pinned for a Qwen2-VL-family model (the settings' or the default
    of ``models.pixels.PIXEL_BUDGETS``); ``None`` for other model types, which take none."""
    if model_type not in PIXEL_BUDGETS:
        if settings.min_pixels is not None or settings.max_pixels is not None:
            raise ModelError(
                f"model {spec!r}: min_pixels/max_pixels apply to Qwen2-VL-family models only, "
                f"not to model type {model_type!r}"
            )
        return None
    pixels = PIXEL_BUDGETS[model_type]
    least = pixels["min_pixels"] if settings.min_pixels is None else settings.min_pixels
    most = pixels["max_pixels"] if settings.max_pixels is None else settings.max_pixels
    if not 0 < least <= most:
        raise ModelError(
            f"model {spec!r}: need 0 < min_pixels <= max_pixels, got {least} and {most}"
        )
    return int(least), int(most)
