"""The suite's Hypothesis profiles: what each draws, and a project's own profiles win."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from rest_checks.hypothesis_profiles import chosen_profile, register_profiles


@pytest.fixture
def restore_profiles() -> Iterator[None]:
    yield
    register_profiles()


def test_ci_draws_the_same_six_renderings_every_run() -> None:
    register_profiles()
    ci = settings.get_profile("ci")
    assert ci.max_examples == 6
    assert ci.derandomize is True
    assert ci.database is None
    assert ci.deadline is None


def test_a_projects_own_profile_of_the_same_name_is_kept(restore_profiles: None) -> None:
    settings.register_profile("thorough", max_examples=3)
    register_profiles(keep_existing=True)
    assert settings.get_profile("thorough").max_examples == 3
    register_profiles()
    assert settings.get_profile("thorough").max_examples == 100


def test_the_environment_chooses_and_ci_is_the_default() -> None:
    assert chosen_profile({}) == "ci"
    assert chosen_profile({"HYPOTHESIS_PROFILE": "dev"}) == "dev"


def test_hypothesis_own_ci_profile_gives_way_to_the_suites() -> None:
    # Hypothesis registers a "ci" profile of its own (100 examples) and loads it when it
    # sees CI=true. A fresh process, as an installed suite starts, must still get ours.
    import subprocess
    import sys

    code = (
        "from hypothesis import settings\n"
        "before = settings.get_profile('ci').max_examples\n"
        "from rest_checks.hypothesis_profiles import register_profiles\n"
        "register_profiles(keep_existing=True)\n"
        "print(before, settings.get_profile('ci').max_examples)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "CI": "true"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["100", "6"]
