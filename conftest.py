"""Hypothesis profiles for the REST suite's render-perturbation checks and the harness's own
tests (defined in ``rest_checks/hypothesis_profiles.py``).

Choose one with ``--hypothesis-profile NAME`` or ``HYPOTHESIS_PROFILE=NAME``. The default
is ``ci``: a regression gate must give the same verdict on the same model, so the renderings
tried are the same every run unless you ask for ``dev`` (random renderings, failures
remembered and replayed first) or ``thorough``. Model calls are slow and uneven, so no
profile has a deadline.
"""

from __future__ import annotations

import os

from rest_checks.hypothesis_profiles import chosen_profile, load_profile, register_profiles

register_profiles()
load_profile(chosen_profile(os.environ))
