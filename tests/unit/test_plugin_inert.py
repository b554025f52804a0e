"""The installed plugin stays out of runs that do not ask for REST, and starts for those
that do: a REST option, the suite named with ``--pyargs``, or collected REST tests."""

from __future__ import annotations

import json

import pytest
from hypothesis import _settings as hypothesis_settings_module

UNRELATED = """
from hypothesis import settings


def test_adds():
    assert 1 + 1 == 2


def test_hypothesis_profile_is_the_projects_own():
    assert settings.get_current_profile_name() == "default"
"""

SUITE = "from rest_checks.suite import test_cross_modal, test_rest_plus, test_render_invariance\n"

# Settings no REST run could start with: an unknown model, a key that is not there, a
# count that is no number.
HOSTILE_ENV = {"REST_MODEL": "openai:x", "REST_N": "many", "REST_SUITE": "nothing.csv"}


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:randomly", *args)


# Hypothesis loads a "ci" profile of its own where one of these is set (CI=true in our CI):
# the unrelated project's profile is then Hypothesis's choice, not "default".
CI_VARIABLES = tuple(getattr(hypothesis_settings_module, "_CI_VARS", {"CI": None}))


def rest_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("HYPOTHESIS_PROFILE", raising=False)
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_unrelated_run_is_untouched_even_with_rest_settings_in_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_app=UNRELATED)
    rest_env(monkeypatch, **HOSTILE_ENV)
    result = run(pytester)
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.OK
    assert "rest-checks:" not in result.stdout.str() + result.stderr.str()
    assert "rest-checks summary" not in result.stdout.str()
    for made in (".rest-cache", ".rest-images", "baselines"):
        assert not (pytester.path / made).exists(), made


def test_unrelated_run_is_untouched_under_xdist(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_app=UNRELATED)
    rest_env(monkeypatch, **HOSTILE_ENV)
    result = run(pytester, "-n", "2")
    result.assert_outcomes(passed=2)
    assert "rest-checks" not in result.stdout.str().replace("rest-checks-0", "")


def test_a_rest_option_on_the_command_line_starts_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_app=UNRELATED.replace('"default"', '"ci"'))
    rest_env(monkeypatch)
    result = run(pytester, "--model", "mock:oracle", "--rest-n", "1")
    result.stdout.fnmatch_lines(["rest-checks: model=mock:oracle *items=3"])
    # The run loaded the suite's profile, which the project's own test now sees.
    result.assert_outcomes(passed=2)


def test_collected_rest_tests_start_the_run_without_any_option(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_rest=SUITE)
    rest_env(monkeypatch, REST_MODEL="mock:oracle", REST_N="1")
    result = run(pytester)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "collected *",
            "rest-checks: model=mock:oracle suite=soebench,arith,mcq n=1 seed=0 items=3",
            "*rest-checks summary*",
            "*RER*100.0%*",
        ]
    )


def test_collected_rest_tests_start_the_xdist_controller_at_the_end(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_rest=SUITE)
    rest_env(monkeypatch, REST_MODEL="mock:oracle", REST_N="1", REST_JSON="out.json")
    result = run(pytester, "-n", "2")
    result.assert_outcomes(passed=3)
    # The controller collects nothing: the header opens its summary instead.
    result.stdout.fnmatch_lines(
        ["*rest-checks summary*", "rest-checks: model=mock:oracle *items=3", "*RER*100.0%*"]
    )
    assert json.loads((pytester.path / "out.json").read_text())["n_items"] == 3


def test_a_bad_setting_met_during_collection_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_rest=SUITE)
    rest_env(monkeypatch, REST_MODEL="no-such-model")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*rest-checks: unknown model 'no-such-model'*"])


def test_the_suite_runs_by_module_name_with_baselines_in_this_project(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    rest_env(monkeypatch)
    args = ("--pyargs", "rest_checks.suite", "--rest-n", "1", "--model", "mock:oracle")
    run(pytester, *args, "--snapshot-update", "--rest-baselines-dir", "gate").assert_outcomes(
        passed=3
    )
    assert (pytester.path / "gate" / "mock_oracle.json").is_file()
    again = run(pytester, *args, "--rest-baselines-dir", "gate")
    again.assert_outcomes(passed=3)
    again.stdout.fnmatch_lines([f"rest-checks: baseline {pytester.path}/gate/mock_oracle.json"])


@pytest.mark.parametrize(
    ("choice", "profile"), [((), "ci"), (("--hypothesis-profile", "dev"), "dev")]
)
def test_an_installed_suite_gets_the_suites_hypothesis_profiles(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    choice: tuple[str, ...],
    profile: str,
) -> None:
    # No conftest here registers a profile: the plugin brings them.
    rest_env(monkeypatch, REST_MODEL="mock:oracle")
    result = run(
        pytester,
        "--pyargs",
        "rest_checks.suite",
        "--rest-n=1",
        "--rest-suite=soebench",
        "--rest-plus",
        "--rest-plus-n=1",
        "--rest-json=out.json",
        "-k",
        "invariance",
        *choice,
    )
    result.assert_outcomes(passed=1)
    data = json.loads((pytester.path / "out.json").read_text())
    assert data["signature"]["hypothesis_profile"] == profile
    if profile == "ci":  # 6 renderings at most, and the text question
        assert data["calls"]["model"] <= 7
