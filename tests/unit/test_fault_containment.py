"""A fault stays with its own case, end to end: pytest runs (``-n 0`` and ``-n 2``) against
a real Chat Completions server on loopback that fails one request for good, or refuses the
key. The run goes on, lists the error, writes its results and keeps every finished reply;
a refused key stops it cleanly, naming the variable to set."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from suite_runs import make_suite, run_suite

from rest_checks.items.suites import load_suite
from rest_checks.testing import ChatCompletionsServer, Reply, request_text
from rest_checks.testing.chat_server import failing_on

VICTIM = next(i for i in load_suite(["arith"], n=4, seed=0) if i.id == "arith-0002")
# The story is sent as text only in the text request: exactly one request fails.
MARKER = VICTIM.full_text()[:60]
MODELS_FILE = """
[models.loopback]
backend = "openai"
name = "test-model"
base_url = "{url}"
api_key_env = "LOOPBACK_TEST_KEY"
max_retries = 2
retry_base_delay = 0.01
retry_max_delay = 0.02
"""
# Arithmetic only: the server answers 42 to everything, which is consistent there.
RUN = ["--model", "loopback", "--rest-suite", "arith", "--rest-n", "4"]


@pytest.fixture
def server() -> Iterator[ChatCompletionsServer]:
    with ChatCompletionsServer(failing_on(MARKER, Reply.error(500, "boom")), api_key="k-1") as srv:
        yield srv


@pytest.fixture
def suite(
    pytester: pytest.Pytester, server: ChatCompletionsServer, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    monkeypatch.setenv("LOOPBACK_TEST_KEY", "k-1")
    make_suite(pytester)
    (pytester.path / "rest_models.toml").write_text(
        MODELS_FILE.format(url=server.base_url), encoding="utf-8"
    )
    return pytester


def run(pytester: pytest.Pytester, workers: int, *args: str) -> pytest.RunResult:
    return run_suite(pytester, *RUN, *args, workers=workers)


@pytest.mark.parametrize("workers", [0, 2])
def test_a_request_that_fails_for_good_errors_its_own_case_only(
    suite: pytest.Pytester, server: ChatCompletionsServer, workers: int
) -> None:
    result = run(suite, workers, "--rest-json", "out.json")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 1
    assert "INTERNALERROR" not in output
    result.assert_outcomes(passed=3, failed=1)
    results = json.loads((suite.path / "out.json").read_text(encoding="utf-8"))
    assert [(e["id"], e["modality"]) for e in results["errors"]] == [("arith-0002", "text")]
    # Not a whole run: one case has no reply. But it went to its end.
    assert results["n_items"] == 3 and results["complete"] is False
    assert results["coverage"]["ended_early"] is False and results["coverage"]["errors"] == 1

    # Every finished reply was kept: a rerun asks again only for the failed request.
    before = len(server.state.completions)
    again = run(suite, workers)
    assert again.ret == 1
    asked_again = server.state.completions[before:]
    assert asked_again
    assert all(MARKER in request_text(r.json) for r in asked_again)


@pytest.mark.parametrize("workers", [0, 2])
def test_a_refused_key_stops_the_run_naming_the_variable(
    suite: pytest.Pytester, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPBACK_TEST_KEY", "k-wrong")
    result = run(suite, workers, "--rest-no-cache")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret not in (0, 1)  # stopped, not merely failed
    assert "INTERNALERROR" not in output
    assert "LOOPBACK_TEST_KEY" in output
    assert "k-wrong" not in output
    assert "passed" not in output
