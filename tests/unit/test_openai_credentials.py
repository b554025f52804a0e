"""Credentials never travel in a URL, and the request timeout is the run's option."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from rest_checks.models.base import ModelError
from rest_checks.models.openai_api import OpenAIModel, credentials_in
from rest_checks.models.registry import ModelOptions, load, resolve
from rest_checks.prompts import Request
from rest_checks.testing import ChatCompletionsServer, Reply

SECRET = "sk-live-9d8c7b6a5f4e3d2c"


@pytest.mark.parametrize(
    "url",
    [
        f"http://user:{SECRET}@127.0.0.1:8000/v1",
        f"https://{SECRET}@api.example.com/v1",
        f"https://api.example.com/v1?api-key={SECRET}",
        f"https://api.example.com/v1?x=1&access_token={SECRET}",
        f"https://api.example.com/v1?sig={SECRET}",
    ],
)
def test_a_base_url_holding_a_credential_is_refused_without_showing_it(url: str) -> None:
    assert credentials_in(url) is not None
    with pytest.raises(ModelError) as refused:
        OpenAIModel("m", spec="openai:m", base_url=url, api_key_env="MY_KEY_VAR")
    message = str(refused.value)
    assert SECRET not in message
    assert "MY_KEY_VAR" in message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/v1",
        "https://example.openai.azure.com/openai/v1?api-version=2024-10-21",
        "https://api.example.com/v1?region=eu",
    ],
)
def test_a_base_url_without_credentials_is_accepted(url: str) -> None:
    assert credentials_in(url) is None


def test_the_environment_base_url_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:9/v1?key={SECRET}")
    with pytest.raises(ModelError, match="query parameter 'key'") as refused:
        OpenAIModel("m", spec="openai:m")
    assert SECRET not in str(refused.value)


def test_rest_timeout_bounds_each_reply_and_each_retry_is_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with ChatCompletionsServer(api_key=None) as server:
        server.script(Reply(content="ANSWER: 1", delay=2.0))  # one stall, then normal replies
        options = ModelOptions(base_url=server.base_url, timeout=0.3)
        model = load(resolve("openai:test-model", options), options)
        assert isinstance(model, OpenAIModel)
        assert model.settings.timeout == 0.3
        model.settings = replace(model.settings, retry_base_delay=0.01, retry_max_delay=0.02)
        with caplog.at_level(logging.WARNING):
            [response] = model.generate([Request("i-1", "text", "Solve.", None, 64)])
    assert response.error is None
    assert any(
        r.levelno == logging.WARNING and "no reply within 0.3 s" in r.getMessage()
        for r in caplog.records
    )
