"""Hypothesis profiles for the render-perturbation checks (and the harness's own tests).

``ci`` is the default: a regression gate must give the same verdict on the same model, so
the renderings tried are the same every run (6 derandomised examples, nothing remembered
between runs). ``dev`` draws 8 random renderings and replays earlier failures first from
the example database; ``thorough`` draws 100, for a nightly job or a release decision.
Model calls are slow and uneven, so no profile has a deadline.

The repository's root ``conftest.py`` registers and loads them for a checkout; the pytest
plugin does the same when a REST run starts, so an installed suite gets them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis.errors import InvalidArgument

PROFILE_ENV = "HYPOTHESIS_PROFILE"
DEFAULT_PROFILE = "ci"

_COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    # One failure, shrunk to its simplest rendering, is what a report should show.
    "report_multiple_bugs": False,
}

PROFILES: dict[str, dict[str, Any]] = {
    "dev": {"max_examples": 8, **_COMMON},
    "ci": {"max_examples": 6, "derandomize": True, "database": None, **_COMMON},
    "thorough": {"max_examples": 100, **_COMMON},
}


def _registered(name: str) -> settings | None:
    try:
        return settings.get_profile(name)
    except InvalidArgument:
        return None


# Hypothesis registers a ``ci`` profile of its own (100 examples, loaded by itself when it
# sees a CI environment). It is no project's choice, so ours replaces it: an installed
# suite must not make 100 paid model calls per item because CI=true is set.
_HYPOTHESIS_OWN = {name: _registered(name) for name in PROFILES}


def register_profiles(*, keep_existing: bool = False) -> None:
    """Register ``dev``, ``ci`` and ``thorough``. ``keep_existing``: leave a profile of the
    same name that a project registered itself alone."""
    for name, values in PROFILES.items():
        if keep_existing and is_registered(name):
            continue
        settings.register_profile(name, **values)


def is_registered(name: str) -> bool:
    """Whether a profile of this name was registered by a project or by this module (not
    by Hypothesis itself)."""
    profile = _registered(name)
    return profile is not None and profile is not _HYPOTHESIS_OWN.get(name)


def chosen_profile(environ: Mapping[str, str]) -> str:
    """The profile a run uses unless ``--hypothesis-profile`` says otherwise."""
    return environ.get(PROFILE_ENV) or DEFAULT_PROFILE


def current_profile() -> str:
    return settings.get_current_profile_name()


def load_profile(name: str) -> None:
    settings.load_profile(name)
