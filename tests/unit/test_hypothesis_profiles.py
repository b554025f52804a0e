"""The suite's Hypothesis profiles: what each draws, and a project's own profiles win."""

from __future__ import annotations

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
