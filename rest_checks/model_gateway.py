"""The one door to the model under test, and the counts of what went through it.

Every request is served from this run's own replies where it has one, else from the disk
cache (``rest_checks.response_store``), else sent to the model; ``CallCounter`` says how many of
each, and how many attempts were retried and requests failed for good.

Every reply is stored the moment it arrives, by the thread that received it and before
that thread sends its next request: a run killed at any moment loses at most the
requests in flight.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

from rest_checks.models.base import Model, Response
from rest_checks.page_drawers import PageDrawers, spare_cores
from rest_checks.pages import KeyedPage
from rest_checks.progress import Progress
from rest_checks.prompts import Request
from rest_checks.render_ahead import RENDER_AHEAD, RENDER_WORKERS, RenderAhead
from rest_checks.response_store import ResponseCache, identity_json, keyed_request
from rest_checks.results_document import Calls

# Replies kept in memory besides the disk cache (about 1 KB each): all of an ordinary
# run's, so its tests need not read them back; a larger run reads the rest from disk.
KEEP_IN_MEMORY = 20_000
# Worker processes that draw pages while this process sends requests (0: threads of this
# process only; never more than the cores to spare) ...
RENDER_PROCESSES = 1
# ... started by the first batch with at least this many pages left to draw after its
# first requests' (starting one costs about 0.2 s of another core, 30 pages' drawing).
MIN_PAGES_FOR_PROCESSES = 32


@dataclass
class CallCounter:
    """What happened to a run's requests. ``model_calls``: sent to the model (each
    distinct request once); ``cache_hits``: answered from the disk cache, stored there by
    an earlier run; ``memory_hits``: replies this run had received already, read back
    (a reply asked ahead, read by its test); ``retries``: attempts that failed and were
    tried again; ``errors``: requests that failed for good."""

    model_calls: int = 0
    cache_hits: int = 0
    memory_hits: int = 0
    retries: int = 0
    errors: int = 0

    def to_json(self) -> Calls:
        """The results document's ``calls`` (docs/results-format.md)."""
        return cast(Calls, {name: getattr(self, field) for name, field in JSON_NAMES.items()})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CallCounter:
        return cls(**{field: int(data.get(name, 0)) for name, field in JSON_NAMES.items()})

    def add(self, other: CallCounter) -> None:
        """Take in another process's counts (an xdist worker's, on the controller)."""
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


# The results document's names of the counts (``model`` and ``cache`` kept from before).
JSON_NAMES = {
    "model": "model_calls",
    "cache": "cache_hits",
    "memory": "memory_hits",
    "retried": "retries",
    "failed": "errors",
}


def describe_calls(calls: Calls) -> str:
    """A results document's ``calls`` in words (the summary line and the live count)."""
    return (
        f"{calls['model']} to the model, {calls['cache']} from the disk cache, "
        f"{calls['memory']} read back, {calls['retried']} retried, {calls['failed']} failed"
    )


class ModelCalls:
    """Every call to the model under test goes through here: served from this run's
    replies or the disk cache where possible, the misses sent to the model.

    Misses are streamed to the model (``Model.stream``) and each reply is stored as it
    arrives; their pages are rendered ahead of the replies (``RenderAhead``). Without a
    disk cache, replies are kept in memory, so a batch asked ahead of the tests still
    serves them; with one, the first ``keep_in_memory`` replies of the run are kept in
    memory too and the rest are read back from disk when a test needs them, so a large
    run's memory stays bounded. Each stored reply carries the run's id (``join_run``), so
    a reply another xdist worker of this run stored (in the disk cache, or in the folder
    the workers share without one) is read back, not a cache hit. ``render_processes``:
    worker processes that draw the pages of a model that sends requests concurrently
    (``drawers``); 0 keeps drawing in this process's threads.
    """

    def __init__(
        self,
        model: Model,
        cache: ResponseCache | None,
        *,
        render_workers: int = RENDER_WORKERS,
        render_ahead: int = RENDER_AHEAD,
        keep_in_memory: int = KEEP_IN_MEMORY,
        render_processes: int = RENDER_PROCESSES,
    ) -> None:
        self.model = model
        self.cache = cache
        self.keep_in_memory = keep_in_memory
        self.render_workers = max(1, render_workers)
        self.render_ahead = max(1, render_ahead)
        self.render_processes = max(0, render_processes)
        self._drawers: PageDrawers | None = None
        self._closed = False
        self.counter = CallCounter()
        self.identity = model.identity()
        self._identity_json = identity_json(self.identity)
        self._memory: dict[str, Response] = {}
        # Requests that failed for good in this run: served as failed to the case that
        # asks again (never cached on disk, so a later run asks them afresh).
        self._failed: dict[str, Response] = {}
        # Requests counted already (sent, or found in the cache), and those whose reply
        # this process received: a reply asked ahead and read by its test is read back,
        # not a second call or cache hit.
        self._counted: set[str] = set()
        self._received: set[str] = set()
        self.run_id: str | None = None
        self.peers = False
        self._lock = threading.Lock()

    def join_run(self, run_id: str, *, peers: bool = False) -> None:
        """Mark this run's replies in the disk cache with ``run_id``; ``peers``: other
        xdist workers of the run store theirs there too, and a reply one of them stored
        is read back, not an earlier run's cache hit."""
        self.run_id = run_id
        self.peers = peers
        if self.cache is not None:
            self.cache.run_id = run_id

    def share_through(self, folder: ResponseCache) -> None:
        """Keep replies in ``folder``, which the other xdist workers of this run read
        (a run without a disk cache): each worker asks ahead for its share only."""
        self.cache = folder
        self.cache.run_id = self.run_id

    def lookup(self, key: str) -> Response | None:
        """A stored reply (this process's memory, then the disk cache), or None; a request
        that failed for good earlier in this run comes back failed."""
        cached = self._memory.get(key) or self._failed.get(key)
        if cached is None and self.cache is not None:
            found = self.cache.get_entry(key)
            if found is not None:
                cached, ours = found
                if ours:  # another xdist worker of this run received it
                    with self._lock:
                        self._received.add(key)
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
            for (key, _), response in zip(sent, self._ask(sent), strict=True):
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
        if self.peers:
            self._find_peers_replies(hits)
        self._count(len(requests), hits, missing, progress, reading=False)
        if missing:
            self._ask([(key, requests[indexes[0]]) for key, indexes in missing.items()])

    def _find_peers_replies(self, keys: list[str]) -> None:
        """Of stored replies not received here, those another worker of this run stored
        (read from their entries: only under xdist, where they can be). What is read is
        kept, as far as ``keep_in_memory`` goes, so the case's test does not read it again."""
        for key in keys:
            if key in self._received or key in self._memory or self.cache is None:
                continue
            found = self.cache.get_entry(key)
            if found is None:
                continue
            response, ours = found
            with self._lock:
                if ours:
                    self._received.add(key)
                if len(self._memory) < self.keep_in_memory:
                    self._memory[key] = response

    def _count(
        self,
        requests: int,
        hits: list[str],
        missing: dict[str, list[int]],
        progress: Progress | None,
        *,
        reading: bool = True,
    ) -> None:
        """Count the stored replies found (``hits``) and the requests about to be sent
        (``missing``). Only what a test reads (``reading``) counts: a reply this run
        received (this process, or another worker of the run) is read back each time;
        any other stored reply is a cache hit, once per request. Found while asking
        ahead, a stored reply is not counted yet: under xdist the worker whose test reads
        it may be another, which would count it a second time."""
        with self._lock:
            own = [key for key in hits if key in self._received]
            new = {key for key in hits if key not in own and key not in self._counted}
            if reading:
                self.counter.cache_hits += len(new)
                self.counter.memory_hits += len(own)
                self._counted.update(new)
            self._counted.update(missing)
        if progress is not None:
            progress.watch(self.counter)  # its replies, retries and failures
            # A duplicate is one call: the requests merged into another are not counted.
            count = len(hits)
            progress.add(
                count + len(missing),
                disk=count - len(own),
                memory=len(own),
                merged=requests - count - len(missing),
            )

    def _ask(self, sent: list[tuple[str, Request]]) -> list[Response]:
        batch = RenderAhead(self, sent)
        try:
            batch.prime(getattr(self.model, "concurrency", 1))
            self.model.stream([request for _, request in batch.sent], batch)
        finally:
            batch.close()
        return batch.replies()

    def store(self, key: str, response: Response) -> None:
        """Keep a reply in memory and on disk (atomically), and count it. A failed one
        never reaches the disk, so a later run asks it again; this run serves it failed to
        the case that asks again, instead of a second round of attempts that failed the
        same way."""
        with self._lock:
            self.counter.model_calls += 1
            self.counter.errors += response.error is not None
            self._received.add(key)
        if response.error is not None:
            self._failed[key] = response
            return
        stored = self.cache is not None and self.cache.put(key, response)
        if not stored or len(self._memory) < self.keep_in_memory:
            self._memory[key] = response

    def drawers(self, pages: Sequence[KeyedPage]) -> PageDrawers | None:
        """The worker processes to draw ``pages`` in, or None to draw them in this
        process: started on the first batch where they pay (``_drawing_pays``), kept for
        the run, never again once they failed."""
        costly = [page for page in pages if page.costly]
        if not costly or not self._drawing_pays(len(costly)):
            return None
        with self._lock:
            if self._drawers is None and not self._closed:
                processes = min(self.render_processes, spare_cores())
                self._drawers = PageDrawers(processes, probe=costly[0])
            drawers = self._drawers
        return drawers if drawers is not None and drawers.usable else None

    def _drawing_pays(self, pages: int) -> bool:
        """Enough pages, a model that keeps this process busy meanwhile, and a core that
        no other process of the run sends from (``spare_cores``)."""
        return (
            self.render_processes > 0
            and pages >= MIN_PAGES_FOR_PROCESSES
            and getattr(self.model, "concurrency", 1) > 1
            and spare_cores() > 0
        )

    def retried(self) -> None:
        """One attempt failed and is tried again."""
        with self._lock:
            self.counter.retries += 1

    def close(self) -> None:
        """End the page-drawing processes, if any, and the model's connections."""
        with self._lock:
            self._closed = True
            drawers = self._drawers
        try:
            if drawers is not None:
                drawers.close()
        finally:
            self.model.close()
