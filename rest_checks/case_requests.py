"""What one case asks the model: the rendering a case's name stands for, and the requests
of a cross-modal (or REST+) case with the run's answer budget."""

from __future__ import annotations

from dataclasses import replace

from rest_checks.items.base import Item
from rest_checks.modalities import Modality
from rest_checks.parity import PARITY_LADDER, is_parity
from rest_checks.prompts import Request, build_requests
from rest_checks.render.specs import DEFAULT_SPEC, REST_PLUS_GRID, RenderSpec


def rendering_spec(rendering: str) -> RenderSpec:
    """The spec a rendering's name stands for: ``default``, a REST+ grid or parity name."""
    if rendering == "default":
        return DEFAULT_SPEC
    return PARITY_LADDER[rendering] if is_parity(rendering) else REST_PLUS_GRID[rendering]


def case_requests(
    item: Item, rendering: str, with_ocr: bool = True, max_tokens: int | None = None
) -> dict[Modality, Request]:
    """The requests of one cross-modal case; only the rendering differs across renderings.
    ``max_tokens`` (``--rest-max-tokens``) replaces the answer budget of each task."""
    requests = build_requests(
        item, rendering_spec(rendering), with_ocr=with_ocr, rendering=rendering
    )
    return {m: with_budget(r, max_tokens) for m, r in requests.items()}


def with_budget(request: Request, max_tokens: int | None) -> Request:
    """``request`` with the answer budget ``max_tokens`` (when given; the OCR request
    keeps its own: a transcription is not an answer)."""
    if max_tokens is None or request.modality == "ocr":
        return request
    return replace(request, max_tokens=max_tokens)
