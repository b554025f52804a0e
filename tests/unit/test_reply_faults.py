"""Replies that carry no answer are errors of their case (retried, never cached, not asked
again by the case once they failed for good); a runaway reply is cut and marked; a
request counts once, however often the run reads its reply."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from rest_checks.model_gateway import ModelCalls
from rest_checks.models.base import Model, Response
from rest_checks.models.openai_api import MAX_REPLY_CHARS, OpenAIModel
from rest_checks.prompts import Request
from rest_checks.response_store import ResponseCache
from rest_checks.testing import ChatCompletionsServer, Reply

ASK = Request("i-1", "text", "Solve.", None, 64)


def model_for(server: ChatCompletionsServer, retries: int = 1) -> OpenAIModel:
    return OpenAIModel(
        "test-model",
        spec="openai:test-model",
        base_url=server.base_url,
        settings={"max_retries": retries, "retry_base_delay": 0.01, "retry_max_delay": 0.02},
    )


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        (Reply.no_content(), "content null"),
        (Reply.no_content(refusal="I cannot help with that."), "I cannot help with that."),
        (Reply.no_content(finish_reason="length"), "'length'"),
        (Reply(content=""), "content ''"),
        (Reply(content=" \n\t "), "content"),
    ],
)
def test_a_reply_without_text_is_an_error_retried_and_never_cached(
    tmp_path: Path, reply: Reply, said: str
) -> None:
    with ChatCompletionsServer(api_key=None, respond=lambda req, state: reply) as server:
        calls = ModelCalls(model_for(server), ResponseCache(tmp_path / "cache"))
        [response] = calls.generate([ASK])
        calls.close()
        assert len(server.state.completions) == 2, "asked once and retried once"
    assert response.error is not None and "no text" in response.error and said in response.error
    assert not list((tmp_path / "cache").rglob("*.json"))


def test_a_reply_without_text_that_heals_gives_the_answer() -> None:
    with ChatCompletionsServer(api_key=None) as server:
        server.script(Reply.no_content())
        model = model_for(server)
        [response] = model.generate([ASK])
        model.close()
    assert response.error is None and "ANSWER: 42" in response.text


def test_a_runaway_reply_is_cut_and_marked() -> None:
    huge = "ANSWER: 7\n" + "x" * (2 * MAX_REPLY_CHARS)
    with ChatCompletionsServer(api_key=None, respond=lambda req, state: huge) as server:
        model = model_for(server)
        [response] = model.generate([ASK])
        model.close()
    assert len(response.text) == MAX_REPLY_CHARS
    assert response.text.startswith("ANSWER: 7")
    assert response.extra["cut_from_chars"] == len(huge)


def test_a_request_that_failed_for_good_is_not_asked_again_by_its_case(tmp_path: Path) -> None:
    with ChatCompletionsServer(
        api_key=None, respond=lambda req, state: Reply.malformed()
    ) as server:
        calls = ModelCalls(model_for(server, retries=2), ResponseCache(tmp_path / "cache"))
        calls.ensure([ASK])  # asked ahead: three attempts
        asked_ahead = len(server.state.completions)
        [response] = calls.generate([ASK])  # the case: no second round
        calls.close()
        assert asked_ahead == 3
        assert len(server.state.completions) == 3
    assert response.error is not None and "malformed" in response.error


class Oracle(Model):
    spec = "oracle"

    def identity(self) -> dict[str, Any]:
        return {"backend": "oracle"}

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        return [Response(f"ANSWER: {r.prompt}") for r in requests]


def test_a_request_counts_once_however_often_its_reply_is_read(tmp_path: Path) -> None:
    asked = [Request(f"i-{n}", "text", f"{n}", None, 8) for n in range(80)]
    first = ModelCalls(Oracle(), ResponseCache(tmp_path / "cache"))
    first.ensure(asked)  # asked ahead
    first.generate(asked)  # read by the tests
    first.generate(asked[:10])  # and again
    assert (first.counter.model_calls, first.counter.cache_hits) == (80, 0)

    rerun = ModelCalls(Oracle(), ResponseCache(tmp_path / "cache"))
    rerun.ensure(asked)
    rerun.generate(asked)
    assert (rerun.counter.model_calls, rerun.counter.cache_hits) == (0, 80)
