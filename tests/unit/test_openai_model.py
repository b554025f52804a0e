"""The OpenAI-compatible backend against a real Chat Completions server on loopback."""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

from rest_checks.items.base import Item
from rest_checks.models.base import ModelAuthError, ModelError, identity_key
from rest_checks.models.openai_api import (
    OpenAIModel,
    QuotaExhaustedError,
    backoff_delay,
    is_local_url,
    parse_retry_after,
    public_url,
)
from rest_checks.models.registry import ModelOptions, load, resolve
from rest_checks.prompts import Request, build_requests
from rest_checks.render.drawing import render_png
from rest_checks.testing import ChatCompletionsServer, Reply, ServerState, request_text
from rest_checks.testing.chat_server import failing_on

KEY = "sk-test-5f3a9c1e7b2d4068"
FAST = {"retry_base_delay": 0.01, "retry_max_delay": 0.05, "timeout": 5.0}


def echo_number(request_json: Any, state: ServerState) -> str:
    """Answer 'question N' with N, so a reply can be matched to its request."""
    match = re.search(r"question (\d+)", request_text(request_json))
    return f"Reasoning...\nANSWER: {match.group(1) if match else 'none'}"


def text_request(i: int) -> Request:
    return Request(f"item-{i:04d}", "text", f"Solve question {i}.", None, 1024)


@pytest.fixture
def server() -> Iterator[ChatCompletionsServer]:
    with ChatCompletionsServer(echo_number, api_key=KEY) as srv:
        yield srv


def make_model(
    server: ChatCompletionsServer | str,
    *,
    key: str = KEY,
    concurrency: int = 8,
    **settings: Any,
) -> OpenAIModel:
    return OpenAIModel(
        "test-model",
        spec="openai:test-model",
        base_url=server if isinstance(server, str) else server.base_url,
        api_key=key,
        concurrency=concurrency,
        settings={**FAST, **settings},
    )


# -- a correct exchange ---------------------------------------------------------------------
def test_openai_model_text_request_is_one_user_message(server: ChatCompletionsServer) -> None:
    [response] = make_model(server).generate([text_request(7)])

    assert response.text == "Reasoning...\nANSWER: 7"
    assert response.extra["finish_reason"] == "stop"
    [received] = server.state.completions
    assert received.json["model"] == "test-model"
    assert received.json["messages"] == [{"role": "user", "content": "Solve question 7."}]
    assert received.json["temperature"] == 0
    assert received.json["max_tokens"] == 1024
    assert "max_completion_tokens" not in received.json


def test_openai_model_image_request_sends_exact_png_then_text(
    server: ChatCompletionsServer,
) -> None:
    png = render_png("2A + 3B = 7\nA - B = 1")
    request = Request("soebench-0001", "image", "Solve question 3.", png, 2048)

    [response] = make_model(server).generate([request])

    assert response.text.endswith("ANSWER: 3")
    [received] = server.state.completions
    assert received.images == [png]
    [message] = received.json["messages"]
    parts = message["content"]
    assert [p["type"] for p in parts] == ["image_url", "text"]
    assert parts[0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert parts[1]["text"] == "Solve question 3."
    assert received.json["max_tokens"] == 2048


def test_openai_model_sends_an_items_three_modalities_as_built(
    server: ChatCompletionsServer,
) -> None:
    item = Item(
        "soebench-0009",
        "soebench",
        "A + B = 3\nA - B = 1",
        "Solve for A and B.",
        "A=2, B=1",
        "solution",
    )
    requests = build_requests(item, with_ocr=False)

    # One at a time, so the server sees them in order.
    make_model(server, concurrency=1).generate(list(requests.values()))

    text, image, mixed = server.state.completions
    assert text.images == [] and text.json["messages"][0]["content"] == requests["text"].prompt
    assert image.images == [render_png(item.full_text())]
    assert mixed.images == [render_png(item.context)]
    assert "Solve for A and B." in request_text(mixed.json)
    assert {r.json["max_tokens"] for r in (text, image, mixed)} == {2048}


def test_openai_model_rejects_image_that_is_not_png(server: ChatCompletionsServer) -> None:
    request = Request("x", "image", "p", b"\xff\xd8\xff\xe0 jpeg", 1024)
    with pytest.raises(ModelError, match="not PNG"):
        make_model(server).generate([request])
    assert server.state.completions == []


# -- concurrency ------------------------------------------------------------------------------
def test_openai_model_returns_results_in_request_order(server: ChatCompletionsServer) -> None:
    rng = random.Random(0)

    def shuffled_latency(request_json: Any, state: ServerState) -> Reply:
        # Replies finish out of order; answers must still line up with requests.
        return Reply(content=echo_number(request_json, state), delay=rng.uniform(0, 0.05))

    server.respond = shuffled_latency
    responses = make_model(server, concurrency=8).generate([text_request(i) for i in range(40)])

    assert [r.text.rsplit(" ", 1)[-1] for r in responses] == [str(i) for i in range(40)]


def test_openai_model_keeps_at_most_concurrency_requests_in_flight(
    server: ChatCompletionsServer,
) -> None:
    server.latency = 0.1
    started = time.monotonic()
    make_model(server, concurrency=4).generate([text_request(i) for i in range(16)])
    elapsed = time.monotonic() - started

    assert 2 <= server.state.max_in_flight <= 4
    # Sequential calls would take 1.6 s; four at a time about 0.4 s.
    assert elapsed < 1.2


# -- retries ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "reply",
    [Reply.rate_limited(0.3), Reply.rate_limited(300, ms=True)],
    ids=["retry-after-seconds", "retry-after-ms"],
)
def test_openai_model_waits_as_long_as_retry_after_says(
    server: ChatCompletionsServer, reply: Reply
) -> None:
    server.script(reply)
    [response] = make_model(server).generate([text_request(1)])

    assert response.text.endswith("ANSWER: 1")
    first, second = server.state.completions
    assert first.status == 429 and second.status == 200
    assert second.received_at - first.received_at >= 0.3


@pytest.mark.parametrize(
    "fault",
    [Reply.error(500), Reply.error(503), Reply.malformed(), Reply(status=200, body="{}")],
    ids=["500", "503", "malformed-json", "no-choices"],
)
def test_openai_model_retries_server_faults_then_answers(
    server: ChatCompletionsServer, fault: Reply
) -> None:
    server.script(fault, fault)
    [response] = make_model(server).generate([text_request(5)])

    assert response.text.endswith("ANSWER: 5")
    assert [r.status for r in server.state.completions] == [fault.status, fault.status, 200]


def test_openai_model_retries_a_timeout_then_answers(server: ChatCompletionsServer) -> None:
    server.script(Reply.stall(1.0))
    started = time.monotonic()
    [response] = make_model(server, timeout=0.3).generate([text_request(2)])

    assert response.text.endswith("ANSWER: 2")
    assert len(server.state.completions) == 2
    assert time.monotonic() - started < 0.9


def test_openai_model_retries_a_refused_connection_then_gives_up() -> None:
    with ChatCompletionsServer() as srv:
        base_url = srv.base_url
    model = make_model(base_url, max_retries=2)  # the port is closed now
    [response] = model.generate([text_request(1)])

    assert response.text == ""
    assert response.error is not None
    assert re.search(r"failed after 3 attempt\(s\).*connection failed", response.error)


def test_openai_model_gives_up_after_the_retry_bound_with_status_and_body(
    server: ChatCompletionsServer,
) -> None:
    server.script(*[Reply.error(502, "upstream overloaded")] * 4)
    [response] = make_model(server, max_retries=3).generate([text_request(1)])

    assert response.error is not None
    assert "request item-0001 (text) failed after 4 attempt(s)" in response.error
    assert "HTTP 502" in response.error and "upstream overloaded" in response.error
    assert len(server.state.completions) == 4


def test_openai_model_gives_up_on_endless_malformed_replies(
    server: ChatCompletionsServer,
) -> None:
    server.script(*[Reply.malformed()] * 3)
    [response] = make_model(server, max_retries=2).generate([text_request(1)])

    assert response.error is not None
    assert "malformed reply: body is not JSON" in response.error
    assert len(server.state.completions) == 3


def test_openai_model_does_not_retry_a_bad_request(server: ChatCompletionsServer) -> None:
    server.script(
        Reply(status=400, body='{"error": {"message": "Unsupported value: temperature"}}')
    )
    [response] = make_model(server).generate([text_request(1)])

    assert response.error is not None
    assert re.search(r"HTTP 400.*Unsupported value.*temperature = \"omit\"", response.error)
    assert len(server.state.completions) == 1


def test_openai_model_fails_at_once_on_a_retry_after_beyond_its_limit(
    server: ChatCompletionsServer,
) -> None:
    server.script(Reply.rate_limited(3600))
    started = time.monotonic()
    [response] = make_model(server).generate([text_request(1)])

    assert response.error is not None and "asks to wait 3600 s" in response.error
    assert len(server.state.completions) == 1
    assert time.monotonic() - started < 2


def test_openai_model_failed_request_does_not_stop_the_others(
    server: ChatCompletionsServer,
) -> None:
    server.respond = failing_on("question 3.", Reply.error(500, "no luck"), echo_number)
    requests = [text_request(i) for i in range(10)]

    responses = make_model(server, concurrency=4, max_retries=2).generate(requests)

    assert len(responses) == 10
    failed = responses[3]
    assert failed.text == "" and failed.error is not None
    assert "request item-0003 (text) failed after 3 attempt(s)" in failed.error
    assert "HTTP 500" in failed.error and "no luck" in failed.error
    for i, response in enumerate(responses):
        if i != 3:
            assert response.error is None
            assert response.text == f"Reasoning...\nANSWER: {i}"
    # Every other request was sent once; the failing one as often as retries allow.
    asked = [request_text(r.json) for r in server.state.completions]
    assert asked.count("Solve question 3.") == 3
    assert len(asked) == 9 + 3


@pytest.mark.parametrize(
    "fault",
    [
        Reply(status=400, body='{"error": {"message": "bad image"}}'),
        Reply.rate_limited(3600),
        Reply.malformed(),
    ],
    ids=["bad-request", "retry-after-too-long", "malformed"],
)
def test_openai_model_each_final_failure_stays_with_its_request(
    server: ChatCompletionsServer, fault: Reply
) -> None:
    server.respond = failing_on("question 1.", fault, echo_number)
    responses = make_model(server, concurrency=2, max_retries=1).generate(
        [text_request(i) for i in range(4)]
    )

    assert [r.error is None for r in responses] == [True, False, True, True]
    assert [r.text.rsplit(" ", 1)[-1] for r in responses] == ["0", "", "2", "3"]


def test_openai_model_logs_every_retry_as_a_warning_with_its_reason(
    server: ChatCompletionsServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="rest_checks.models.openai_api")
    server.script(Reply.error(503, "warming up"), Reply.rate_limited(0.05))
    [response] = make_model(server).generate([text_request(1)])

    assert response.error is None
    retries = [r for r in caplog.records if "retry" in r.getMessage()]
    assert [r.levelno for r in retries] == [logging.WARNING] * 2
    first, second = (r.getMessage() for r in retries)
    assert first.startswith("request item-0001 (text): HTTP 503")
    assert "warming up" in first and "retry 1 of 6" in first
    assert "HTTP 429" in second and "retry 2 of 6" in second


def test_chat_server_reports_a_failing_responder_as_a_server_error(
    server: ChatCompletionsServer,
) -> None:
    def broken(request_json: Any, state: ServerState) -> str:
        raise KeyError("no such item")

    server.respond = broken
    [response] = make_model(server, max_retries=0).generate([text_request(1)])
    assert response.error is not None
    assert re.search(r"HTTP 500.*respond\(\) raised KeyError", response.error)


# -- credentials --------------------------------------------------------------------------------
def test_openai_model_wrong_key_stops_at_once(server: ChatCompletionsServer) -> None:
    model = make_model(server, key="sk-wrong-0123456789abcdef", concurrency=1)
    with pytest.raises(ModelAuthError, match="OPENAI_API_KEY"):
        model.generate([text_request(i) for i in range(5)])
    assert len(server.state.requests) == 1
    assert not server.state.requests[0].authorized


def test_openai_model_refused_key_mid_batch_raises_and_sends_nothing_after_it(
    server: ChatCompletionsServer,
) -> None:
    server.respond = failing_on("question 5.", Reply.refused(), echo_number)
    model = make_model(server, concurrency=1)

    with pytest.raises(ModelAuthError, match=r"refused the API key.*OPENAI_API_KEY"):
        model.generate([text_request(i) for i in range(20)])

    time.sleep(0.1)  # anything still queued would go out now
    asked = [request_text(r.json) for r in server.state.completions]
    assert asked == [f"Solve question {i}." for i in range(6)]


def test_openai_model_refused_key_stops_waiting_retries_and_queued_requests(
    server: ChatCompletionsServer,
) -> None:
    def slow(request_json: Any, state: ServerState) -> Reply:
        return Reply(content=echo_number(request_json, state), delay=0.05)

    # Request 1 is told to come back in a second; request 5 has its key refused.
    server.respond = failing_on(
        "question 5.", Reply.refused(), failing_on("question 1.", Reply.rate_limited(1), slow)
    )
    model = make_model(server, concurrency=4)

    started = time.monotonic()
    with pytest.raises(ModelAuthError):
        model.generate([text_request(i) for i in range(20)])
    assert time.monotonic() - started < 0.8  # nobody waited for the retry

    time.sleep(max(0.0, started + 1.4 - time.monotonic()))  # the retry would be out now
    asked = [request_text(r.json) for r in server.state.completions]
    numbers = sorted(int(re.findall(r"\d+", text)[0]) for text in asked)
    # Requests 0-3 went first, then 4-6 took the free places. A thread that finished
    # before the refusal of 5 was seen may have sent one more (7 or 8 on a loaded
    # machine), but nothing queued further back was sent, and request 1 not again.
    assert {0, 1, 2, 3, 5} <= set(numbers) <= set(range(5 + 4))
    assert len(numbers) == len(set(numbers))


def test_openai_model_exhausted_quota_stops_the_batch(server: ChatCompletionsServer) -> None:
    server.respond = failing_on("question 2.", Reply.quota_exhausted(), echo_number)
    model = make_model(server, concurrency=1)

    with pytest.raises(QuotaExhaustedError, match="quota is exhausted") as info:
        model.generate([text_request(i) for i in range(6)])

    assert isinstance(info.value, ModelAuthError)  # it stops a run like a refused key
    assert len(server.state.completions) == 3


def test_openai_model_never_reveals_the_key(
    server: ChatCompletionsServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "sk-wrong-0123456789abcdef"
    messages: list[str] = []

    good = make_model(server, max_retries=1)
    # A careless server that echoes the key back in its error text.
    server.script(Reply.error(500, f"bad key {KEY}"), Reply.error(500, f"bad key {KEY}"))
    [failure] = good.generate([text_request(1)])
    assert failure.error is not None
    messages.append(failure.error)
    with pytest.raises(ModelAuthError) as refused:
        make_model(server, key=wrong).generate([text_request(1)])
    messages.append(str(refused.value))
    good.generate([text_request(2)])  # and a normal exchange, for the logs

    texts = [*messages, repr(good), str(good.identity()), caplog.text]
    texts += [str(r.args) for r in caplog.records]
    for text in texts:
        assert KEY not in text and wrong not in text
    assert "***" in messages[0]
    assert any("contacting" in r.getMessage() for r in caplog.records)


def test_openai_model_without_key_for_a_remote_server_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REST_TEST_KEY", raising=False)
    with pytest.raises(ModelError, match="set the environment variable REST_TEST_KEY"):
        OpenAIModel(
            "gpt-4o-mini",
            spec="gpt-4o-mini",
            base_url="https://api.example.com/v1",
            api_key_env="REST_TEST_KEY",
        )


def test_openai_model_takes_the_key_from_its_environment_variable(
    server: ChatCompletionsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REST_TEST_KEY", KEY)
    model = OpenAIModel(
        "test-model",
        spec="openai:test-model",
        base_url=server.base_url,
        api_key_env="REST_TEST_KEY",
    )
    assert model.generate([text_request(4)])[0].text.endswith("ANSWER: 4")
    assert KEY not in repr(model)


def test_openai_model_needs_no_key_for_a_local_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REST_TEST_KEY", raising=False)
    with ChatCompletionsServer(echo_number, api_key=None) as srv:
        model = OpenAIModel(
            "m", spec="openai:m", base_url=srv.base_url, api_key_env="REST_TEST_KEY"
        )
        assert model.generate([text_request(9)])[0].text.endswith("ANSWER: 9")


def test_openai_model_reads_the_base_url_from_the_environment(
    server: ChatCompletionsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    model = OpenAIModel("test-model", spec="openai:test-model", api_key=KEY)
    assert model.identity()["base_url"] == server.base_url
    assert model.generate([text_request(6)])[0].text.endswith("ANSWER: 6")


# -- identity and settings ----------------------------------------------------------------------
def test_openai_model_identity_holds_answer_settings_but_not_concurrency(
    server: ChatCompletionsServer,
) -> None:
    a = make_model(server, concurrency=1, seed=3)
    b = make_model(server, concurrency=32, seed=3)
    c = make_model(server, seed=4)

    assert identity_key(a.identity()) == identity_key(b.identity())
    assert identity_key(a.identity()) != identity_key(c.identity())
    identity = a.identity()
    assert identity["backend"] == "openai" and identity["name"] == "test-model"
    assert identity["settings"]["temperature"] == 0
    assert identity["settings"]["max_tokens"] == "per-request"
    assert "concurrency" not in str(identity)


def test_openai_model_identity_is_unchanged_by_timeout_and_retry_settings(
    server: ChatCompletionsServer,
) -> None:
    plain = OpenAIModel("test-model", spec="openai:test-model", base_url=server.base_url)
    tuned = OpenAIModel(
        "test-model",
        spec="openai:test-model",
        base_url=server.base_url,
        api_key=KEY,
        settings={"timeout": 5, "max_retries": 2, "retry_after_max": 10},
    )

    assert tuned.settings.timeout == 5
    assert tuned.generate([text_request(3)])[0].text.endswith("ANSWER: 3")
    # Cached replies are keyed by the identity: pinned here so that it stays stable.
    assert (
        tuned.identity()
        == plain.identity()
        == {
            "backend": "openai",
            "name": "test-model",
            "base_url": server.base_url,
            "settings": {
                "temperature": 0.0,
                "top_p": None,
                "seed": None,
                "max_tokens": "per-request",
                "max_tokens_param": "max_tokens",
                "image_detail": None,
                "image_position": "before-text",
            },
        }
    )


def test_openai_model_timeout_must_be_a_positive_number(server: ChatCompletionsServer) -> None:
    with pytest.raises(ModelError, match="timeout must be a finite number"):
        make_model(server, timeout=0)


def test_openai_model_settings_reach_the_request(server: ChatCompletionsServer) -> None:
    model = make_model(server, temperature=0.7, top_p=0.9, seed=11, max_tokens=64)
    model.generate([text_request(1)])
    [received] = server.state.completions
    assert (received.json["temperature"], received.json["top_p"]) == (0.7, 0.9)
    assert (received.json["seed"], received.json["max_tokens"]) == (11, 64)


def test_openai_model_reasoning_models_get_max_completion_tokens_and_no_temperature(
    server: ChatCompletionsServer,
) -> None:
    model = OpenAIModel(
        "gpt-5-mini", spec="gpt-5-mini", base_url=server.base_url, api_key=KEY, settings=FAST
    )
    model.generate([text_request(1)])
    [received] = server.state.completions
    assert received.json["max_completion_tokens"] == 1024
    assert "max_tokens" not in received.json and "temperature" not in received.json
    assert model.identity()["settings"]["max_tokens_param"] == "max_completion_tokens"


def test_openai_model_rejects_unknown_settings(server: ChatCompletionsServer) -> None:
    with pytest.raises(ModelError, match=r"unknown setting.*'temprature'"):
        make_model(server, temprature=0.5)
    with pytest.raises(ModelError, match="max_retries must be a whole number"):
        make_model(server, max_retries="many")


def test_openai_model_loads_through_the_registry_with_user_settings(
    server: ChatCompletionsServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    models_file = tmp_path / "rest_models.toml"
    models_file.write_text(
        '[models.local]\nbackend = "openai"\nname = "test-model"\nseed = 5\n'
        'api_key_env = "REST_TEST_KEY"\n'
    )
    monkeypatch.setenv("REST_TEST_KEY", KEY)
    options = ModelOptions(base_url=server.base_url, concurrency=4, models_file=models_file)

    model = load(resolve("local", options), options)

    assert isinstance(model, OpenAIModel) and model.concurrency == 4
    assert model.generate([text_request(8)])[0].text.endswith("ANSWER: 8")
    assert server.state.completions[0].json["seed"] == 5


# -- helpers --------------------------------------------------------------------------------------
def test_parse_retry_after_reads_seconds_milliseconds_and_dates() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "250", "Retry-After": "9"}) == 0.25
    assert parse_retry_after({"Retry-After": formatdate(now + 30, usegmt=True)}, now=now) == 30
    assert parse_retry_after({"Retry-After": formatdate(now - 30, usegmt=True)}, now=now) == 0
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


def test_backoff_delay_grows_within_its_cap_and_honours_retry_after() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, 0.5, 4.0, None, rng) for n in range(1, 12) for _ in range(20)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert max(delays) > 2.0  # later attempts reach towards the cap
    assert all(backoff_delay(1, 0.5, 4.0, 3.0, rng) >= 3.0 for _ in range(20))


def test_public_url_drops_credentials_and_query() -> None:
    assert public_url("https://user:pw@host.example:8443/v1/?key=abc#x") == (
        "https://host.example:8443/v1"
    )
    assert is_local_url("http://127.0.0.1:9/v1") and is_local_url("http://localhost/v1")
    assert not is_local_url("https://api.openai.com/v1")
