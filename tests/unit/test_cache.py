"""The response cache: keyed by what changes an answer, safe under concurrent writers,
and resumable after a kill."""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from rest_checks.model_gateway import ModelCalls
from rest_checks.models.base import Model, ReplySink, Response
from rest_checks.progress import Progress
from rest_checks.prompts import Request
from rest_checks.response_store import ResponseCache, request_key


def req(prompt: str, image: bytes | None = None, max_tokens: int = 1024) -> Request:
    return Request("item-1", "image" if image else "text", prompt, image, max_tokens)


class CountingModel(Model):
    """Echoes the prompt; fails once it has answered ``fail_after`` requests."""

    spec = "counting"

    def __init__(self, fail_after: int | None = None, settings: dict[str, Any] | None = None):
        self.seen: list[str] = []
        self.fail_after = fail_after
        self.settings = settings or {"temperature": 0}

    def identity(self) -> dict[str, Any]:
        return {"backend": "counting", "settings": self.settings}

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        out = []
        for request in requests:
            if self.fail_after is not None and len(self.seen) >= self.fail_after:
                raise KeyboardInterrupt("killed")
            self.seen.append(request.prompt)
            out.append(Response(f"echo {request.prompt}"))
        return out


def test_key_changes_with_identity_prompt_image_and_budget() -> None:
    identity = {"backend": "x", "settings": {"temperature": 0}}
    base = request_key(identity, req("p", b"png"))
    assert request_key(identity, req("p", b"png")) == base
    assert request_key({"backend": "x", "settings": {"temperature": 1}}, req("p", b"png")) != base
    assert request_key(identity, req("q", b"png")) != base
    assert request_key(identity, req("p", b"png2")) != base
    assert request_key(identity, req("p", b"png", max_tokens=2048)) != base


def test_key_ignores_item_id_and_modality() -> None:
    identity = {"backend": "x"}
    a = Request("item-1", "image", "p", b"png", 1024)
    b = Request("item-2", "ocr", "p", b"png", 1024)
    assert request_key(identity, a) == request_key(identity, b)


def test_second_run_is_served_from_the_cache(tmp_path: Path) -> None:
    requests = [req(f"prompt {i}") for i in range(10)]
    first = ModelCalls(CountingModel(), ResponseCache(tmp_path))
    answers = first.generate(requests)
    again = ModelCalls(CountingModel(), ResponseCache(tmp_path))
    assert again.generate(requests) == answers
    assert again.counter.model_calls == 0 and again.counter.cache_hits == 10
    assert again.model.seen == []  # type: ignore[attr-defined]


def test_duplicate_requests_in_one_batch_are_asked_once(tmp_path: Path) -> None:
    model = CountingModel()
    caching = ModelCalls(model, ResponseCache(tmp_path))
    answers = caching.generate([req("same"), req("same"), req("other")])
    assert model.seen == ["same", "other"]
    assert answers[0] == answers[1]


def test_a_killed_run_repeats_no_finished_call(tmp_path: Path) -> None:
    requests = [req(f"prompt {i}") for i in range(10)]
    dying = ModelCalls(CountingModel(fail_after=7), ResponseCache(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        dying.generate(requests)
    # Each of the seven replies was stored as it arrived, before the eighth was asked.
    assert len(list(tmp_path.rglob("*.json"))) == 7
    resumed_model = CountingModel()
    resumed = ModelCalls(resumed_model, ResponseCache(tmp_path))
    resumed.generate(requests)
    assert resumed_model.seen == [f"prompt {i}" for i in range(7, 10)]


class ThreadedModel(Model):
    """Answers from several threads at once, as the API backend does, and checks that a
    reply is on disk by the time the sink returns, before the thread takes its next."""

    spec = "threaded"

    def __init__(self, cache: ResponseCache) -> None:
        self.cache = cache
        self.unstored: list[str] = []

    def identity(self) -> dict[str, Any]:
        return {"backend": "threaded"}

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        raise AssertionError("ModelCalls streams")

    def stream(self, requests: Sequence[Request], sink: ReplySink) -> None:
        def answer(index: int) -> None:
            request = requests[index]
            sink.reply(index, Response(f"echo {request.prompt}"))
            if self.cache.get(request_key(self.identity(), request)) is None:
                self.unstored.append(request.prompt)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(answer, range(len(requests))))


def test_each_reply_is_stored_by_the_thread_that_received_it(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    model = ThreadedModel(cache)
    replies = ModelCalls(model, cache).generate([req(f"prompt {i}") for i in range(40)])
    assert [r.text for r in replies] == [f"echo prompt {i}" for i in range(40)]
    assert model.unstored == []


class FailingModel(CountingModel):
    def generate(self, requests: Sequence[Request]) -> list[Response]:
        self.seen.extend(r.prompt for r in requests)
        return [Response("", error="HTTP 500 every time") for _ in requests]


def test_a_failed_reply_is_never_stored(tmp_path: Path) -> None:
    calls = ModelCalls(FailingModel(), ResponseCache(tmp_path))
    (reply,) = calls.generate([req("p")])
    assert reply.error is not None
    assert calls.counter.errors == 1
    assert not list(tmp_path.rglob("*.json"))
    (again,) = calls.generate([req("p")])  # this run: served failed, not asked again
    assert again.error is not None
    assert calls.model.seen == ["p"]  # type: ignore[attr-defined]
    rerun = ModelCalls(calls.model, ResponseCache(tmp_path))  # a later run asks afresh
    rerun.generate([req("p")])
    assert calls.model.seen == ["p", "p"]  # type: ignore[attr-defined]


def test_progress_counts_cached_asked_and_failed_requests(tmp_path: Path) -> None:
    ModelCalls(CountingModel(), ResponseCache(tmp_path)).generate([req("a"), req("b")])
    progress = Progress()
    calls = ModelCalls(CountingModel(), ResponseCache(tmp_path))
    calls.generate([req("a"), req("b"), req("c"), req("c")], progress)
    assert (progress.total, progress.done, progress.disk) == (3, 3, 2)
    # The duplicate "c" is one call; its reply answers both requests, counted once asked.
    assert calls.counter.model_calls == 1 and calls.counter.cache_hits == 2


def test_a_damaged_entry_is_a_miss(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    key = request_key({"backend": "x"}, req("p"))
    cache.put(key, Response("fine"))
    next(tmp_path.rglob("*.json")).write_text("{not json")
    assert cache.get(key) is None


def _hammer(directory: str, worker: int) -> None:
    cache = ResponseCache(Path(directory))
    for i in range(200):
        key = request_key({"backend": "x"}, req(f"shared {i % 50}"))
        cache.put(key, Response(f"answer {i % 50}", extra={"worker": worker}))
        assert cache.get(key) is not None


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_hammer, args=(str(tmp_path), w)) for w in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    cache = ResponseCache(tmp_path)
    for i in range(50):
        response = cache.get(request_key({"backend": "x"}, req(f"shared {i}")))
        assert response is not None and response.text == f"answer {i}"
    assert not list(tmp_path.rglob(".tmp-*")), "no temporary file is left behind"


def test_without_a_disk_cache_a_batch_asked_ahead_still_serves_the_tests() -> None:
    model = CountingModel()
    caching = ModelCalls(model, None)
    requests = [req(f"prompt {i}") for i in range(4)]
    caching.generate(requests)
    caching.generate(requests[:2])
    assert len(model.seen) == 4
    # Replies this run received count as calls once, not again as hits when read back.
    assert (caching.counter.model_calls, caching.counter.cache_hits) == (4, 0)


def test_asking_ahead_reads_no_stored_reply_and_asks_for_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ModelCalls(CountingModel(), ResponseCache(tmp_path)).generate([req("a"), req("b")])
    model = CountingModel()
    calls = ModelCalls(model, ResponseCache(tmp_path))

    def no_reading(self: ResponseCache, key: str) -> None:
        raise AssertionError("asking ahead read a stored reply")

    with monkeypatch.context() as patch:
        patch.setattr(ResponseCache, "get", no_reading)
        progress = Progress()
        calls.ensure([req("a"), req("b"), req("c"), req("c")], progress)
    assert model.seen == ["c"]
    assert (progress.total, progress.done, progress.disk) == (3, 3, 2)
    # Stored replies count when a test reads them (under xdist maybe another worker's).
    assert calls.counter.cache_hits == 0 and calls.counter.model_calls == 1
    # The tests then read each reply from the disk, where it was stored as it came.
    assert [r.text for r in calls.generate([req("a"), req("c")])] == ["echo a", "echo c"]
    assert model.seen == ["c"]
    assert (calls.counter.cache_hits, calls.counter.memory_hits) == (1, 1)


def test_with_a_disk_cache_memory_keeps_only_the_first_replies(tmp_path: Path) -> None:
    # Beyond the bound, memory holds no second copy: a reply whose entry is gone is
    # asked again, while one kept in memory is not.
    model = CountingModel()
    calls = ModelCalls(model, ResponseCache(tmp_path), keep_in_memory=1)
    calls.generate([req("a"), req("b")])
    for entry in tmp_path.rglob("*.json"):
        entry.unlink()
    calls.generate([req("a"), req("b")])
    assert model.seen == ["a", "b", "b"]


def test_progress_of_an_asking_in_batches_knows_its_total_from_the_start() -> None:
    progress = Progress()
    progress.expect(10)
    progress.add(4, disk=1, merged=1)  # a batch of 5 requests, one a duplicate
    assert (progress.total, progress.done, progress.disk) == (9, 1, 1)
    progress.add(5, disk=3, memory=2)
    assert (progress.total, progress.done) == (9, 6)
