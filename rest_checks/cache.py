"""Content-addressed response cache on disk, and the one door to the model.

One file per response, named by the hash of (model identity, generation settings, prompt,
page key). An image is keyed by what determines its bytes (``render.page_key``), so a
request answered from the cache renders nothing. Files are written to a temporary name
and renamed into place, so concurrent xdist workers never see half a file and never lock
each other out.

Every reply is stored the moment it arrives, by the thread that received it and before
that thread sends its next request: a run killed at any moment loses at most the
requests in flight.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rest_checks.atomic import describe_os_error, remove_stale_temps, write_atomic
from rest_checks.models.base import Model, ModelError, Response
from rest_checks.pages import KeyedPage
from rest_checks.progress import Progress, say
from rest_checks.prompts import Request

log = logging.getLogger("rest_checks.cache")

# 2: images keyed by their page key instead of the hash of their bytes.
CACHE_FORMAT = 2
# Replies kept in memory besides the disk cache (about 1 KB each): all of an ordinary
# run's, so its tests need not read them back; a larger run reads the rest from disk.
KEEP_IN_MEMORY = 20_000
# Pages are rendered by this many threads (Pillow releases the GIL while it encodes) ...
RENDER_WORKERS = 2
# ... at most this many ahead of the replies, so rendering overlaps the requests in flight
# without holding every page of a large batch in memory.
RENDER_AHEAD = 64


def request_key(identity: dict[str, Any], request: Request) -> str:
    """The cache key: everything that can change the answer, and nothing else.

    The modality and item id are left out on purpose: the same prompt and image asked
    twice are the same call. The image enters by its page key, so no page is rendered here.
    """
    return keyed_request(identity_json(identity), request)


def identity_json(identity: dict[str, Any]) -> str:
    """A model identity as it enters :func:`keyed_request` (encoded once per run)."""
    return json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)


def keyed_request(identity: str, request: Request) -> str:
    """:func:`request_key` for an identity encoded by :func:`identity_json`: the SHA-256
    of the JSON object of the format, identity, max_tokens, page key and prompt, in that
    (sorted) order, written out here because a run computes tens of thousands of them."""
    page = request.image
    blob = (
        f'{{"format":{CACHE_FORMAT},"identity":{identity},'
        f'"max_tokens":{json.dumps(request.max_tokens, default=str)},'
        f'"page":{json.dumps(page.key if page is not None else "")},'
        f'"prompt":{json.dumps(request.prompt)}}}'
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class ResponseCache:
    """A directory of JSON responses, two hex characters of fan-out deep."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._root = str(self.directory)
        # Why the cache stopped taking replies (a full disk, a read-only folder), once
        # a write failed: said once, and the run goes on with its replies in memory.
        self.write_error: str | None = None
        self._lock = threading.Lock()

    def _path(self, key: str) -> Path:
        return Path(self._file(key))

    def _file(self, key: str) -> str:
        # A string, not a Path: a cached run looks up tens of thousands of entries.
        return f"{self._root}/{key[:2]}/{key}.json"

    def get(self, key: str) -> Response | None:
        """The stored reply, or None. An entry that is not a whole, well-formed reply
        stored under this key is never served: it is reported and asked again."""
        path = self._file(key)
        try:
            with open(path, encoding="utf-8") as entry:
                data = json.loads(entry.read())
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, ValueError) as exc:
            log.warning("cache entry %s is unreadable (%s); asking the model again", path, exc)
            return None
        problem = _entry_problem(data, key)
        if problem:
            log.warning("cache entry %s %s; asking the model again", path, problem)
            return None
        return Response.from_json(data["response"])

    def has(self, key: str) -> bool:
        """Whether an entry is stored under ``key`` (not whether it can be served)."""
        return os.path.exists(self._file(key))

    def put(self, key: str, response: Response) -> bool:
        """Store a reply; ``False`` when the cache cannot take it. The first failed write
        is said once (one line), and no later write is tried: the run keeps its replies
        in memory instead of failing each test on the same disk."""
        if self.write_error is not None:
            return False
        payload = json.dumps({"key": key, "response": response.to_json()}, default=str)
        try:
            write_atomic(self._path(key), payload, durable=False)
        except OSError as exc:
            with self._lock:
                first = self.write_error is None
                self.write_error = describe_os_error(exc)
            if first:
                message = (
                    f"the response cache {self.directory} cannot be written "
                    f"({self.write_error}); this run keeps its replies in memory and stores "
                    "no more of them"
                )
                log.warning("%s", message)
                say(message)
            return False
        return True

    def remove_stale_temps(self) -> int:
        """Remove the temporary files killed runs left in the cache; how many went."""
        folders = [self.directory]
        try:
            folders += [Path(e.path) for e in os.scandir(self.directory) if e.is_dir()]
        except OSError:
            return 0
        return sum(remove_stale_temps(folder) for folder in folders)


def _entry_problem(data: Any, key: str) -> str | None:
    """What is wrong with a cache entry, or None when it can be served."""
    if not isinstance(data, dict) or not isinstance(data.get("response"), dict):
        return "has no response table"
    if data.get("key") != key:
        return f"holds key {str(data.get('key'))[:16]!r}, not the key of its name"
    response = data["response"]
    if not isinstance(response.get("text"), str):
        return "has a reply text that is not a string"
    if not isinstance(response.get("extra", {}), dict):
        return "has extras that are not a table"
    tokens = response.get("n_visual_tokens")
    if tokens is not None and (not isinstance(tokens, int) or isinstance(tokens, bool)):
        return "has a visual token count that is not an integer"
    return None


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
