"""Asking ahead with and without a cache folder, under -n 0 and as an xdist worker's share,
and the counts of what happened to the requests: sent, from the disk cache, read back,
retried, failed."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from test_plugin import FAST, HYPOTHESIS_CONFTEST, SUITE
from test_run import CountingModel, full_run, settings

from rest_checks.model_gateway import CallCounter, ModelCalls
from rest_checks.models.base import Response
from rest_checks.models.mock import MockModel
from rest_checks.pages import KeyedPage
from rest_checks.prompts import Request
from rest_checks.render_ahead import RenderAhead
from rest_checks.run import RestRun
from rest_checks.testing import ChatCompletionsServer, Reply
from rest_checks.testing.chat_server import failing_on


def server_model(server: ChatCompletionsServer, concurrency: int, retries: int = 1) -> Any:
    from rest_checks.models.openai_api import OpenAIModel

    return OpenAIModel(
        "test-model",
        spec="openai:test-model",
        base_url=server.base_url,
        concurrency=concurrency,
        settings={"max_retries": retries, "retry_base_delay": 0.01, "retry_max_delay": 0.02},
    )


def cases(run: RestRun) -> list[tuple[Any, str | None]]:
    return [(item, "default") for item in run.items()]


def test_a_worker_without_a_cache_asks_its_share_ahead_many_items_at_once(
    tmp_path: Path,
) -> None:
    # 4 arith + 4 soebench items; a worker's share of two is 4 cases, 16 requests. Asked
    # case by case, at most one item's 4 requests would be in flight at a time.
    with ChatCompletionsServer(api_key=None, latency=0.2, max_concurrent=32) as server:
        run = RestRun(settings(tmp_path, rest_n=4), server_model(server, concurrency=16))
        run.plan(cases(run))
        assert run.prefetch((0, 2)) == (4, 16)
        assert server.state.max_in_flight > 4
        asked = len(server.state.completions)
        assert asked == 16
        mine = [item for n, (item, _) in enumerate(cases(run)) if n % 2 == 0]
        for item in mine:
            run.cross_modal(item)
        run.close()
        assert len(server.state.completions) == asked  # every case read what was asked ahead
    assert run.calls.counter == CallCounter(model_calls=16, memory_hits=16)


def test_workers_without_a_cache_share_their_replies_through_a_folder_of_the_run(
    tmp_path: Path,
) -> None:
    controller = RestRun(settings(tmp_path), CountingModel())
    folder = controller.run_folder()
    assert Path(folder).is_dir()
    workers = [RestRun(settings(tmp_path), CountingModel()) for _ in range(2)]
    for index, worker in enumerate(workers):
        worker.use_items(controller.items_payload())
        worker.use_run_id(controller.calls.run_id)  # as the plugin hands it on
        worker.use_run_folder(folder, index, 2)
        worker.plan(cases(worker))
        worker.prefetch((index, 2))
    # The scheduler gives worker 0 every case, its own share and worker 1's: it asks
    # nothing more, and reads worker 1's replies from the folder.
    asked = [len(w.calls.model.requests) for w in workers]  # type: ignore[attr-defined]
    assert sum(asked) == 4 * len(controller.items())
    for item in workers[0].items():
        assert workers[0].cross_modal(item).consistent
    assert len(workers[0].calls.model.requests) == asked[0]  # type: ignore[attr-defined]
    for worker in workers:
        controller.merge(worker.payload())
        worker.close()
    # Replies of this run, read again, are read back: no cache hit under --rest-no-cache.
    total = 4 * len(controller.items())
    assert controller.calls.counter == CallCounter(model_calls=total, memory_hits=total)
    controller.close()
    assert not Path(folder).exists()


def test_workers_with_a_cache_read_each_others_replies_back_not_as_cache_hits(
    tmp_path: Path,
) -> None:
    options = {"rest_no_cache": False, "rest_cache": "cache"}
    controller = RestRun(settings(tmp_path, **options), CountingModel())
    workers = [RestRun(settings(tmp_path, **options), CountingModel()) for _ in range(2)]
    for index, worker in enumerate(workers):
        worker.use_items(controller.items_payload())
        worker.use_run_id(controller.calls.run_id)
        worker.plan(cases(worker))
        worker.prefetch((index, 2))
    for worker in workers:  # each runs every case: its share and the other's
        for item in worker.items():
            assert worker.cross_modal(item).consistent
        controller.merge(worker.payload())
        worker.close()
    total = 4 * len(controller.items())
    # Every request sent once, by one worker; read back by both: nothing came from an
    # earlier run, so nothing is a cache hit.
    assert controller.calls.counter == CallCounter(model_calls=total, memory_hits=2 * total)
    controller.close()
    # The next run (another run id) finds them all in the cache.
    again = RestRun(settings(tmp_path, **options), CountingModel())
    full_run(again)
    assert again.calls.counter == CallCounter(cache_hits=total)


def test_with_a_cache_the_workers_keep_their_replies_in_it_not_in_the_run_folder(
    tmp_path: Path,
) -> None:
    options = {"rest_no_cache": False, "rest_cache": "cache"}
    controller = RestRun(settings(tmp_path, **options), CountingModel())
    worker = RestRun(settings(tmp_path, **options), CountingModel())
    worker.use_run_folder(controller.run_folder(), 0, 2)
    full_run(worker)
    assert worker.calls.cache is not None and worker.calls.cache.directory == tmp_path / "cache"
    assert sorted(p.name for p in Path(controller.run_folder()).iterdir()) == [
        "gw0.asking",
        "gw0.done",
    ]
    worker.close()
    controller.close()


@pytest.mark.parametrize("cached", [False, True])
def test_the_counts_of_a_run_and_of_its_rerun(tmp_path: Path, cached: bool) -> None:
    options = {"rest_no_cache": False, "rest_cache": "cache"} if cached else {}
    first = RestRun(settings(tmp_path, **options), CountingModel())
    full_run(first)
    requests = 4 * len(first.items())
    # Each request sent once, asked ahead and read back once by its case.
    assert first.calls.counter == CallCounter(model_calls=requests, memory_hits=requests)
    again = RestRun(settings(tmp_path, **options), CountingModel())
    full_run(again)
    if cached:  # every reply from the disk cache, counted once though looked up twice
        assert again.calls.counter == CallCounter(cache_hits=requests)
    else:
        assert again.calls.counter == first.calls.counter
    results = again.finish()
    assert any("calls: " in line for line in results.lines)


def test_retried_and_failed_requests_are_counted(tmp_path: Path) -> None:
    asks = [Request(f"i-{n}", "text", f"Solve {n}.", None, 64) for n in range(4)]
    doomed = Request("i-9", "text", "Solve DOOMED.", None, 64)
    respond = failing_on("DOOMED", Reply.error(400, "bad request"))
    with ChatCompletionsServer(respond, api_key=None) as server:
        server.script(*[Reply.rate_limited(0)] * 3)
        calls = ModelCalls(server_model(server, 4, retries=5), None)
        replies = calls.generate([*asks, doomed])
        assert [r.error is None for r in replies] == [True] * 4 + [False]
        assert calls.counter.to_json() == {
            "model": 5,
            "cache": 0,
            "memory": 0,
            "retried": 3,
            "failed": 1,
        }
        # Asked again, every reply is read back, the failed one too: nothing is sent.
        calls.generate([*asks, doomed])
        calls.close()
        assert len(server.state.completions) == 5 + 3
    assert calls.counter.to_json()["memory"] == 5
    assert calls.counter.to_json()["model"] == 5


def test_worker_counts_merge_into_one_counter() -> None:
    merged = CallCounter(1, 2, 3, 4, 5)
    merged.add(CallCounter.from_json(CallCounter(10, 20, 30, 40, 50).to_json()))
    assert merged == CallCounter(11, 22, 33, 44, 55)


class SlowPage(KeyedPage):
    """A page that says when it was drawn."""

    def __init__(self, name: str, drawn: list[str]) -> None:
        super().__init__()
        self.name = name
        self.drawn = drawn
        self._lock_drawn = threading.Lock()

    @property
    def key(self) -> str:
        return self.name

    def _produce(self) -> bytes:
        with self._lock_drawn:
            self.drawn.append(self.name)
        return b"\x89PNG" + self.name.encode()

    def fresh(self) -> SlowPage:
        return SlowPage(self.name, self.drawn)


def test_the_pages_of_the_first_requests_in_flight_are_drawn_before_any_is_sent() -> None:
    drawn: list[str] = []
    requests = [
        (f"k{n}", Request(f"i-{n}", "image", "Solve.", SlowPage(str(n), drawn), 64))
        for n in range(40)
    ]
    calls = ModelCalls(MockModel("oracle"), None, render_ahead=2)
    batch = RenderAhead(calls, requests)
    batch.prime(8)
    try:
        assert set(drawn) >= {str(n) for n in range(8)}
        assert len(drawn) < 40  # the rest as the replies come
        batch.reply(0, Response("ANSWER: 1"))
        assert calls.counter.model_calls == 1
    finally:
        batch.close()
    batch.reply(1, Response("ANSWER: 1"))  # after the batch was given up: stored, no page
    assert calls.counter.model_calls == 2


@pytest.mark.parametrize("workers", [0, 2])
def test_a_run_without_a_cache_says_what_happened_to_its_requests(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    # 6 items x 4 requests, each sent once and read back once by its case; none counted
    # as a cache hit; the folder the workers shared is gone at the end.
    pytester.makeconftest(HYPOTHESIS_CONFTEST)
    pytester.makepyfile(test_rest_suite=SUITE)
    temp = pytester.mkdir("temp")
    monkeypatch.setenv("TMPDIR", str(temp))
    dist = ["-n", str(workers)] if workers else ["-p", "no:xdist"]
    result = pytester.runpytest_subprocess(
        *FAST, *dist, "--model", "mock:oracle", "--rest-no-cache", "--rest-json", "out.json"
    )
    result.assert_outcomes(passed=6)
    calls = json.loads((pytester.path / "out.json").read_text(encoding="utf-8"))["calls"]
    if workers == 0:
        assert calls == {"model": 24, "cache": 0, "memory": 24, "retried": 0, "failed": 0}
        said = "*calls: 24 to the model, 0 from the disk cache, 24 read back, 0 retried, 0 failed"
        result.stdout.fnmatch_lines([said])
    else:
        # A worker that runs a case of the other's share before the other has answered it
        # asks it again (and reads back nothing of it): every read is one or the other.
        assert calls["model"] >= 24 and calls["model"] + calls["memory"] == 2 * 24
        assert (calls["cache"], calls["retried"], calls["failed"]) == (0, 0, 0)
    assert not list(temp.glob("rest-checks-run-*"))


def test_a_cached_rerun_under_xdist_counts_each_reply_once(pytester: pytest.Pytester) -> None:
    # 6 items x 4 requests, each read by one case: the rerun finds 24 in the cache, not
    # one worker's share found while asking ahead plus the same again read by the other.
    pytester.makeconftest(HYPOTHESIS_CONFTEST)
    pytester.makepyfile(test_rest_suite=SUITE)
    args = [*FAST, "-n", "2", "--model", "mock:oracle", "--rest-cache", "cache"]
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=6)
    result = pytester.runpytest_subprocess(*args, "--rest-json", "out.json")
    result.assert_outcomes(passed=6)
    calls = json.loads((pytester.path / "out.json").read_text(encoding="utf-8"))["calls"]
    assert calls == {"model": 0, "cache": 24, "memory": 0, "retried": 0, "failed": 0}
