"""rest-checks: cross-modal consistency checks for multimodal LLMs, as a pytest suite.

The flow: items -> render -> prompts -> model -> answers -> metrics -> baseline gate / report.

The names below are imported on first use, so that importing one layer (``metrics``, say)
does not pull in rendering and Pillow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rest_checks.items.base import Item
    from rest_checks.prompts import Request, build_requests
    from rest_checks.render.specs import DEFAULT_SPEC, RenderSpec

__version__ = "0.1.0"

_LAZY = {
    "Item": "rest_checks.items.base",
    "Request": "rest_checks.prompts",
    "build_requests": "rest_checks.prompts",
    "DEFAULT_SPEC": "rest_checks.render.specs",
    "RenderSpec": "rest_checks.render.specs",
}

__all__ = ["DEFAULT_SPEC", "Item", "RenderSpec", "Request", "__version__", "build_requests"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rest_checks' has no attribute {name!r}")
