"""One batch of requests on its way to the model, its pages rendered ahead of the replies.

``RenderAhead`` is the ``ReplySink`` of a batch streamed to the model: it stores and counts
each reply as it arrives (through ``ModelCalls``), and has the pages rendered a bounded
number ahead of the replies, each distinct page once, so rendering overlaps the requests
in flight without holding every page of a large batch in memory.

The pages of the first requests are drawn by threads of this process (the stream waits for
them); the rest, where the batch has enough of them, by worker processes
(``ModelCalls.drawers``, ``rest_checks.page_drawers``) on other cores, since Pillow holds
the GIL while it draws and this process's core is busy sending requests.
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

from rest_checks.models.base import ModelError, Response
from rest_checks.page_drawers import PageDrawers
from rest_checks.pages import KeyedPage
from rest_checks.prompts import Request

if TYPE_CHECKING:
    from rest_checks.model_gateway import ModelCalls

# Pages are rendered in this process by this many threads ...
RENDER_WORKERS = 2
# ... at most this many ahead of the replies (and at least the pages of the first
# requests in flight: see ``RenderAhead.prime``).
RENDER_AHEAD = 64


class RenderAhead:
    """The ``ReplySink`` of one batch of misses: stores each reply as it arrives (which
    counts it), counts retries, and lets the next page be rendered."""

    def __init__(self, calls: ModelCalls, sent: list[tuple[str, Request]]) -> None:
        self.calls = calls
        # Requests showing the same page share one KeyedPage object, so it is rendered once
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
        self._closed = False
        self._pool = (
            ThreadPoolExecutor(min(calls.render_workers, len(self.pages)), "rest-checks-render")
            if self.pages
            else None
        )
        # Worker processes for the pages after the first ones (``prime``), if any.
        self._drawers: PageDrawers | None = None

    def prime(self, in_flight: int) -> None:
        """Draw the pages of the first ``in_flight`` requests and wait for them, so that the
        model's first ``in_flight`` requests go out together instead of one page at a time
        (drawing a page takes longer than a fast server takes to answer); have the next
        ones drawn meanwhile, in worker processes where the rest of the batch has enough
        pages to pay for them."""
        first = {r.image.key for _, r in self.sent[: max(0, in_flight)] if r.image is not None}
        futures = self._render_more(len(first))
        self._drawers = self.calls.drawers(self.pages[self._rendered :])
        # Threads draw at most ``render_ahead`` pages ahead, the first ones included; a
        # worker process as many beyond them.
        ahead = self.calls.render_ahead - (len(futures) if self._drawers is None else 0)
        self._render_more(ahead)
        wait(futures)

    def _render_more(self, count: int) -> list[Future[bytes]]:
        with self._lock:
            if self._closed:  # a reply that came in after the batch was given up
                return []
            start = self._rendered
            self._rendered = min(len(self.pages), start + max(0, count))
            pages = self.pages[start : self._rendered]
            drawers = self._drawers
        # A page that fails to render fails again, with its message, where it is sent.
        futures = []
        for page in pages:
            if drawers is not None and page.costly:
                future = drawers.draw(page)
                page.draw_elsewhere(future)
                futures.append(future)
            elif self._pool is not None:
                futures.append(self._pool.submit(page.png))
        return futures

    def reply(self, index: int, response: Response) -> None:
        key, request = self.sent[index]
        self.calls.store(key, response)  # durable before this thread goes on
        done_page = None
        with self._lock:
            self._replies[index] = response
            page = request.image
            if page is not None:
                self.waiting[page.key] -= 1
                done_page = page if self.waiting[page.key] == 0 else None
        if done_page is not None:
            done_page.forget()  # every request showing it was answered
        self._render_more(1)

    def retry(self, reason: str) -> None:
        self.calls.retried()

    def replies(self) -> list[Response]:
        missing = sum(r is None for r in self._replies)
        if missing:
            raise ModelError(f"the model left {missing} request(s) unanswered")
        return [r for r in self._replies if r is not None]

    def close(self) -> None:
        with self._lock:
            self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
