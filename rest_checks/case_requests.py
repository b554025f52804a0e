"""What one case asks the model: its rendering, its requests, its key.

A case is an item and the name of its rendering ("default", a REST+ grid name, a parity
step), or None for the Hypothesis check, which needs only the text answer ahead.
"""

from __future__ import annotations

from dataclasses import replace

from rest_checks.config import RestSettings
from rest_checks.items.base import Item
from rest_checks.modalities import Modality
from rest_checks.parity import PARITY_LADDER, is_parity
from rest_checks.prompts import Request, build_requests, text_request
from rest_checks.render.specs import DEFAULT_SPEC, REST_PLUS_GRID, RenderSpec

Case = tuple[Item, str | None]


def rendering_spec(rendering: str) -> RenderSpec:
    """The spec a rendering's name stands for: ``default``, a REST+ grid or parity name."""
    if rendering == "default":
        return DEFAULT_SPEC
    return PARITY_LADDER[rendering] if is_parity(rendering) else REST_PLUS_GRID[rendering]


def plus_renderings(settings: RestSettings) -> dict[str, RenderSpec]:
    """The renderings each REST+ item is drawn in: the grid, and the parity ladder with
    ``--rest-parity``."""
    return {**REST_PLUS_GRID, **(PARITY_LADDER if settings.parity else {})}


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


def requests_for(
    item: Item, rendering: str | None, with_ocr: bool, max_tokens: int | None
) -> list[Request]:
    """What one case will ask: a rendering's requests, or (``None``) the text one."""
    if rendering is None:
        return [with_budget(text_request(item), max_tokens)]
    return list(case_requests(item, rendering, with_ocr, max_tokens).values())


def request_count(rendering: str | None, with_ocr: bool) -> int:
    """How many requests ``requests_for`` makes for a case of ``rendering``."""
    return 1 if rendering is None else 3 + with_ocr
