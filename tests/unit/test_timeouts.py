"""``--rest-timeout`` bounds a whole reply, headers to last byte, and only a finite number
of seconds bounds anything; a server that moved is named as a redirect."""

from __future__ import annotations

import argparse
import json
import threading
import time

import pytest

from rest_checks.config import OPTIONS_BY_DEST
from rest_checks.models.base import ModelError
from rest_checks.models.openai_api import OpenAIModel
from rest_checks.options import SettingError, positive_seconds, resolve_option
from rest_checks.prompts import Request
from rest_checks.testing import ChatCompletionsServer, Reply

ASK = Request("i-1", "text", "Solve.", None, 64)


def model_for(server: ChatCompletionsServer, **settings: object) -> OpenAIModel:
    return OpenAIModel(
        "test-model",
        spec="openai:test-model",
        base_url=server.base_url,
        settings={"retry_base_delay": 0.01, "retry_max_delay": 0.02, **settings},
    )


def test_a_reply_that_trickles_in_is_cut_at_the_timeout() -> None:
    with ChatCompletionsServer(api_key=None) as server:
        # About 300 bytes at one every 0.2 s: a minute, each read well within the timeout.
        server.script(Reply.trickling(0.2))
        model = model_for(server, timeout=1.0, max_retries=1)
        started = time.monotonic()
        [response] = model.generate([ASK])
        took = time.monotonic() - started
        model.close()
    assert response.error is None, "the retry got the whole reply"
    assert 1.0 <= took < 3.0
    assert len(server.state.completions) == 2


def test_a_reply_that_never_finishes_in_time_is_a_timeout_error() -> None:
    with ChatCompletionsServer(api_key=None) as server:
        server.script(Reply.trickling(0.1), Reply.trickling(0.1))
        model = model_for(server, timeout=0.5, max_retries=1)
        started = time.monotonic()
        [response] = model.generate([ASK])
        took = time.monotonic() - started
        model.close()
    assert response.error is not None and "no reply within 0.5 s" in response.error
    assert took < 2.5


def test_a_stop_switch_drops_a_read_in_flight_at_once() -> None:
    with ChatCompletionsServer(api_key=None) as server:
        server.script(Reply.stall(30))
        model = model_for(server, timeout=60, max_retries=0)
        stop = threading.Event()
        outcome: list[object] = []

        def ask() -> None:
            try:
                outcome.append(model._with_retries(lambda: post(model, stop), "ask", stop))
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=ask)
        thread.start()
        time.sleep(0.5)
        stopped = time.monotonic()
        stop.set()
        thread.join(timeout=5)
        took = time.monotonic() - stopped
        model.close()
    assert not thread.is_alive()
    assert took < 1.0
    assert outcome and isinstance(outcome[0], Exception)


def post(model: OpenAIModel, stop: threading.Event) -> str:
    body = json.dumps(model._payload(ASK)).encode()
    return model._sender.post("chat/completions", body, 60, stop)


@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "Infinity", "0", "-1", "soon"])
def test_a_timeout_that_bounds_nothing_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        positive_seconds(text)
    option = OPTIONS_BY_DEST["rest_timeout"]
    with pytest.raises(SettingError, match="REST_TIMEOUT"):
        resolve_option(option, None, {"REST_TIMEOUT": text}, None)
    with pytest.raises(SettingError, match="rest_timeout"):
        resolve_option(option, None, {}, text)


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 0, -3])
def test_a_model_timeout_that_bounds_nothing_is_refused(value: float) -> None:
    with pytest.raises(ModelError, match="timeout must be a finite number"):
        OpenAIModel(
            "m", spec="openai:m", base_url="http://127.0.0.1:9/v1", settings={"timeout": value}
        )


def test_the_command_line_refuses_an_infinite_timeout(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("--rest-timeout", "inf", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--rest-timeout*not a finite number of seconds*"])


def test_a_redirect_is_named_as_one() -> None:
    with ChatCompletionsServer(api_key=None) as server:
        server.script(Reply.redirect("https://new.example.com/v1/chat/completions"))
        model = model_for(server, max_retries=0)
        [response] = model.generate([ASK])
        model.close()
    assert response.error is not None
    assert "redirects to https://new.example.com/v1/chat/completions (HTTP 301)" in response.error
    assert "a model this server serves" not in response.error
