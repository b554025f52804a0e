"""The one door to the model: every call is served from the response cache
(``response_store``) or this run's memory where possible, the rest sent to the model.

Every reply is stored the moment it arrives, by the thread that received it and before
that thread sends its next request: a run killed at any moment loses at most the
requests in flight.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from rest_checks.models.base import Model, ModelError, Response
from rest_checks.pages import KeyedPage
from rest_checks.progress import Progress
from rest_checks.prompts import Request
from rest_checks.response_store import (
    CACHE_FORMAT,
    ResponseCache,
    identity_json,
    keyed_request,
    request_key,
)

__all__ = [
    "CACHE_FORMAT",
    "CallCounter",
    "ModelCalls",
    "ResponseCache",
    "identity_json",
    "keyed_request",
    "request_key",
]

log = logging.getLogger("rest_checks.cache")

# Replies kept in memory besides the disk cache (about 1 KB each): all of an ordinary
# run's, so its tests need not read them back; a larger run reads the rest from disk.
KEEP_IN_MEMORY = 20_000
# Pages are rendered by this many threads (Pillow releases the GIL while it encodes) ...
RENDER_WORKERS = 2
# ... at most this many ahead of the replies, so rendering overlaps the requests in flight
# without holding every page of a large batch in memory.
RENDER_AHEAD = 64


@dataclass
class CallCounter:
    """How many requests went to the model and how many the cache answered."""

    model_calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    errors: int = 0


class ModelCalls:
    """Every call to the model under test goes through here: served from the disk cache
    (or, without one, this run's memory) where possible, the misses sent to the model.

    Misses are streamed to the model (``Model.stream``) and each reply is stored as it
    arrives. Their pages are rendered by a small pool a bounded number ahead of the
    replies, each distinct page once. Without a disk cache, replies are kept in memory,
    so a batch asked ahead of the tests still serves them; with one, the first
    ``keep_in_memory`` replies of the run are kept in memory too and the rest are read
    back from disk when a test needs them, so a large run's memory stays bounded.
    """

    def __init__(
        self,
        model: Model,
        cache: ResponseCache | None,
        *,
        render_workers: int = RENDER_WORKERS,
        render_ahead: int = RENDER_AHEAD,
        keep_in_memory: int = KEEP_IN_MEMORY,
    ) -> None:
        self.model = model
        self.cache = cache
        self.keep_in_memory = keep_in_memory
        self.render_workers = max(1, render_workers)
        self.render_ahead = max(1, render_ahead)
        self.counter = CallCounter()
        self.identity = model.identity()
        self._identity_json = identity_json(self.identity)
        self._memory: dict[str, Response] = {}
        # Requests that failed for good in this run: served as failed to the case that
        # asks again (never cached on disk, so a later run asks them afresh).
        self._failed: dict[str, Response] = {}
        # Requests counted already (as a call or a cache hit): a reply asked ahead and
        # read again by its test counts once.
        self._counted: set[str] = set()
        self._lock = threading.Lock()

    def lookup(self, key: str) -> Response | None:
        """A stored reply (this process's memory, then the disk cache), or None; a request
        that failed for good earlier in this run comes back failed."""
        cached = self._memory.get(key) or self._failed.get(key)
        if cached is None and self.cache is not None:
            cached = self.cache.get(key)
        return cached

    def _stored(self, key: str) -> bool:
        return (
            key in self._memory
            or key in self._failed
            or (self.cache is not None and self.cache.has(key))
        )

    def all_stored(self, requests: Sequence[Request]) -> bool:
        """Whether every request has a stored reply (asking them costs nothing)."""
        return all(self._stored(keyed_request(self._identity_json, r)) for r in requests)

    def generate(
        self, requests: Sequence[Request], progress: Progress | None = None
    ) -> list[Response]:
        """Every request's reply, in order: stored ones at once, the rest from the model."""
        results: list[Response | None] = [None] * len(requests)
        missing: dict[str, list[int]] = {}
        keys = [keyed_request(self._identity_json, request) for request in requests]
        for index, key in enumerate(keys):
            cached = self.lookup(key)
            if cached is not None:
                results[index] = cached
            else:
                # The same call asked twice in one batch is made once.
                missing.setdefault(key, []).append(index)
        hits = [k for k, r in zip(keys, results, strict=True) if r is not None]
        self._count(len(requests), hits, missing, progress)
        if missing:
            sent = [(key, requests[indexes[0]]) for key, indexes in missing.items()]
            for (key, _), response in zip(sent, self._ask(sent, progress), strict=True):
                for index in missing[key]:
                    results[index] = response
        assert all(r is not None for r in results), "every request was answered"
        return [r for r in results if r is not None]

    def ensure(self, requests: Sequence[Request], progress: Progress | None = None) -> None:
        """Ask the model for every request without a stored reply, as ``generate`` does,
        without reading the stored ones: asking ahead of the tests, which read them.

        A stored entry that turns out damaged is found (and asked again) by its test."""
        missing: dict[str, list[int]] = {}
        hits: list[str] = []
        for index, request in enumerate(requests):
            key = keyed_request(self._identity_json, request)
            if self._stored(key):
                hits.append(key)
            else:
                missing.setdefault(key, []).append(index)
        self._count(len(requests), hits, missing, progress)
        if missing:
            self._ask([(key, requests[indexes[0]]) for key, indexes in missing.items()], progress)

    def _count(
        self,
        requests: int,
        hits: list[str],
        missing: dict[str, list[int]],
        progress: Progress | None,
    ) -> None:
        with self._lock:
            # A request counts once per run: a hit only when nothing counted it before
            # (a reply this run received, or one read from the cache already).
            new_hits = {key for key in hits if key not in self._counted}
            self.counter.cache_hits += len(new_hits)
            self._counted.update(new_hits)
            self._counted.update(missing)
        if progress is not None:
            # A duplicate is one call: the requests merged into another are not counted.
            count = len(hits)
            progress.add(count + len(missing), cached=count, merged=requests - count - len(missing))

    def _ask(self, sent: list[tuple[str, Request]], progress: Progress | None) -> list[Response]:
        asking = _Asking(self, sent, progress)
        try:
            self.model.stream([request for _, request in asking.sent], asking)
        finally:
            asking.close()
        return asking.replies()

    def store(self, key: str, response: Response) -> None:
        """Keep a reply in memory and on disk (atomically). A failed one never reaches the
        disk, so a later run asks it again; this run serves it failed to the case that
        asks again, instead of a second round of attempts that failed the same way."""
        if response.error is not None:
            self._failed[key] = response
            return
        stored = self.cache is not None and self.cache.put(key, response)
        if not stored or len(self._memory) < self.keep_in_memory:
            self._memory[key] = response

    def close(self) -> None:
        self.model.close()


class _Asking:
    """One batch of misses on its way to the model: the ``ReplySink`` that stores each
    reply as it arrives, counts it, and lets the next page be rendered."""

    def __init__(
        self, calls: ModelCalls, sent: list[tuple[str, Request]], progress: Progress | None
    ) -> None:
        self.calls = calls
        self.progress = progress
        # Requests showing the same page share one Page object, so it is rendered once
        # (the image and ocr requests of a case show the same page).
        shared: dict[str, KeyedPage] = {}
        self.waiting: dict[str, int] = {}
        self.sent: list[tuple[str, Request]] = []
        for key, request in sent:
            page = request.image
            if page is not None:
                page = shared.setdefault(page.key, page.fresh())
                self.waiting[page.key] = self.waiting.get(page.key, 0) + 1
                request = dataclasses.replace(request, page=page)
            self.sent.append((key, request))
        self.pages = list(shared.values())
        self._replies: list[Response | None] = [None] * len(sent)
        self._lock = threading.Lock()
        self._rendered = 0
        self._pool = (
            ThreadPoolExecutor(min(calls.render_workers, len(self.pages)), "rest-checks-render")
            if self.pages
            else None
        )
        self._render_more(calls.render_ahead)

    def _render_more(self, count: int) -> None:
        with self._lock:
            start = self._rendered
            self._rendered = min(len(self.pages), start + count)
            pages = self.pages[start : self._rendered]
        for page in pages:
            assert self._pool is not None
            # A page that fails to render fails again, with its message, where it is sent.
            self._pool.submit(page.png)

    def reply(self, index: int, response: Response) -> None:
        key, request = self.sent[index]
        self.calls.store(key, response)  # durable before this thread goes on
        done_page = None
        with self._lock:
            self._replies[index] = response
            counter = self.calls.counter
            counter.model_calls += 1
            counter.errors += response.error is not None
            page = request.image
            if page is not None:
                self.waiting[page.key] -= 1
                done_page = page if self.waiting[page.key] == 0 else None
        if done_page is not None:
            done_page.forget()  # every request showing it was answered
        if self.progress is not None:
            self.progress.reply(error=response.error is not None)
        self._render_more(1)

    def retry(self, reason: str) -> None:
        with self._lock:
            self.calls.counter.retries += 1
        if self.progress is not None:
            self.progress.retry()

    def replies(self) -> list[Response]:
        missing = sum(r is None for r in self._replies)
        if missing:
            raise ModelError(f"the model left {missing} request(s) unanswered")
        return [r for r in self._replies if r is not None]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
