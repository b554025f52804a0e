"""The REST suite users run with ``pytest --model SPEC`` in this checkout.

The tests live in the package (``rest_checks/suite.py``), so that an installed wheel carries
them (``pytest --pyargs rest_checks.suite``); this module collects the same tests here.
"""

from __future__ import annotations

from rest_checks.suite import test_cross_modal, test_render_invariance, test_rest_plus

__all__ = ["test_cross_modal", "test_render_invariance", "test_rest_plus"]
