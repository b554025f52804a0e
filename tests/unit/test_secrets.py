"""The API key reaches no output: not when a server refuses it and quotes it back (under
``-l`` tracebacks and in JUnit XML, with or without xdist), not when it is put where the
name of its variable belongs, and a models file never holds it."""

from __future__ import annotations

import logging

import pytest
from suite_runs import make_suite, run_suite

from rest_checks.models.base import ModelAuthError, ModelError
from rest_checks.models.openai_api import OpenAIModel, scrub
from rest_checks.prompts import Request
from rest_checks.testing import ChatCompletionsServer

SECRET = "sk-proj-Zq81xR7vT2mB9wK4nL6pD3sF"


def test_a_refusal_that_quotes_the_key_carries_no_key_in_the_error() -> None:
    with ChatCompletionsServer(api_key="the-right-key", echo_refused_key=True) as server:
        model = OpenAIModel("test-model", spec="openai:m", base_url=server.base_url, api_key=SECRET)
        with pytest.raises(ModelAuthError) as refused:
            model.generate([Request("i-1", "text", "Solve.", None, 64)])
        model.close()
    error = refused.value
    assert "refused the API key" in str(error)
    # Nothing the exception holds or points to carries the key: message, repr, the
    # exceptions chained to it, and every frame's locals of its traceback.
    seen = [str(error), repr(error), repr(error.__context__), repr(error.__cause__)]
    tb = error.__traceback__
    while tb is not None:
        seen.extend(repr(v) for v in tb.tb_frame.f_locals.values())
        tb = tb.tb_next
    assert not [text for text in seen if SECRET in text]
    assert "Bearer ***" in str(error)


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        (f"Authorization: Bearer {SECRET}", "Authorization: Bearer ***"),
        (f'{{"auth": "bearer {SECRET}"}}', '{"auth": "bearer ***"}'),
        ("header was 'Bearer   other-token-123', refused", "header was 'Bearer   ***', refused"),
        (f"key={SECRET}; retry", "key=***; retry"),  # the key itself, however quoted
        ("no credentials here", "no credentials here"),
    ],
)
def test_server_text_is_scrubbed_of_the_key_and_any_bearer_token(text: str, wanted: str) -> None:
    assert scrub(text, SECRET) == wanted


def test_a_malformed_reply_that_quotes_the_key_is_scrubbed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from rest_checks.testing import Reply

    with ChatCompletionsServer(api_key=None) as server:
        server.script(*[Reply.malformed(f'{{"echo": "Bearer {SECRET}"')] * 2)
        model = OpenAIModel(
            "test-model",
            spec="openai:m",
            base_url=server.base_url,
            api_key=SECRET,
            settings={"max_retries": 1, "retry_base_delay": 0.01},
        )
        with caplog.at_level(logging.WARNING):
            [response] = model.generate([Request("i-1", "text", "Solve.", None, 64)])
        model.close()
    assert response.error is not None and "malformed" in response.error
    assert SECRET not in response.error
    assert "retry 1 of 1" in caplog.text and SECRET not in caplog.text


@pytest.mark.parametrize("value", [SECRET, "sk-abc123", "Bearer xyz", "my key", "1KEY"])
def test_a_key_where_its_variable_name_belongs_is_refused_without_showing_it(
    value: str,
) -> None:
    with pytest.raises(ModelError) as refused:
        OpenAIModel("m", spec="openai:m", base_url="http://127.0.0.1:9/v1", api_key_env=value)
    assert value not in str(refused.value)
    assert "api_key_env" in str(refused.value)


def test_the_key_variable_option_refuses_a_key_without_showing_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = make_suite(pytester)
    on_command_line = run_suite(suite, "--model", "openai:m", "--rest-api-key-env", SECRET)
    monkeypatch.setenv("REST_API_KEY_ENV", SECRET)
    in_environment = run_suite(suite, "--model", "openai:m")
    for result in (on_command_line, in_environment):
        shown = result.stdout.str() + result.stderr.str()
        assert result.ret == pytest.ExitCode.USAGE_ERROR, shown
        assert "name of an environment variable" in shown
        assert SECRET not in shown


def test_a_models_file_holding_a_key_is_refused_naming_the_key_variable(
    pytester: pytest.Pytester,
) -> None:
    suite = make_suite(pytester)
    (suite.path / "rest_models.toml").write_text(
        f'[models.mine]\nbackend = "openai"\nname = "m"\n\napi_key = "{SECRET}"\n',
        encoding="utf-8",
    )
    result = run_suite(suite, "--model", "mine")
    shown = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, shown
    assert "api_key_env" in shown and "rest_models.toml:5" in shown
    assert SECRET not in shown


@pytest.mark.parametrize("workers", [0, 2])
def test_a_refusal_quoting_the_key_shows_it_nowhere_in_a_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    suite = make_suite(pytester)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with ChatCompletionsServer(api_key="the-right-key", echo_refused_key=True) as server:
        result = run_suite(
            suite,
            "--model",
            "openai:test-model",
            "--model-base-url",
            server.base_url,
            "--rest-n",
            "1",
            "--rest-suite",
            "arith",
            "--rest-no-cache",
            "-l",
            "--tb",
            "long",
            "--junitxml",
            "junit.xml",
            workers=workers,
        )
        assert server.state.completions, "the run reached the server"
    shown = result.stdout.str() + result.stderr.str()
    assert result.ret != 0
    assert "refused the API key" in shown
    assert SECRET not in shown
    assert SECRET not in (suite.path / "junit.xml").read_text(encoding="utf-8")
