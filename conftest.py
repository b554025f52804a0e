"""Hypothesis profiles for the render-perturbation checks and the harness's own tests.

Choose one with ``--hypothesis-profile NAME`` or ``HYPOTHESIS_PROFILE=NAME``. The default
is ``ci``: a regression gate must give the same verdict on the same model, so the renderings
tried are the same every run unless you ask for ``dev`` (random renderings, failures
remembered and replayed first) or ``thorough``. Model calls are slow and uneven, so no
profile has a deadline.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    # One failure, shrunk to its simplest rendering, is what a report should show.
    "report_multiple_bugs": False,
}

# dev: a few random examples; the example database replays earlier failures first.
settings.register_profile("dev", max_examples=8, **_COMMON)
# ci: the same examples every run, nothing remembered between runs.
settings.register_profile("ci", max_examples=6, derandomize=True, database=None, **_COMMON)
# thorough: for a nightly job or a release decision.
settings.register_profile("thorough", max_examples=100, **_COMMON)

settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
