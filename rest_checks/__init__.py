"""rest-checks: cross-modal consistency checks for multimodal LLMs, as a pytest suite.

The flow: items -> render -> prompts -> model -> answers -> metrics -> baseline gate / report.
"""

from rest_checks.items.base import Item
from rest_checks.prompts import Request, build_requests
from rest_checks.render import DEFAULT_SPEC, RenderSpec

__version__ = "0.1.0"

__all__ = ["DEFAULT_SPEC", "Item", "RenderSpec", "Request", "__version__", "build_requests"]
