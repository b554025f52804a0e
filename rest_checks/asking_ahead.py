"""Asking the model ahead of the tests: the planned cases, asked in large batches before
the first test (or, in a run that may stop early, a window at a time in test order).

Under xdist each worker asks for its share of the planned cases (every N-th) and finds
the others' replies where the workers share them: the disk cache, or without one a folder
of this run's own (``ModelCalls.share_through``); before its first test it waits for the
workers still asking for theirs (``PeerAsking``), so that no test asks a case another
worker is about to answer. Without a disk cache and under ``-n 0`` the replies are kept
in memory until the tests read them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rest_checks.case_requests import Case, request_count, requests_for
from rest_checks.config import RestSettings
from rest_checks.items.base import Item
from rest_checks.model_gateway import ModelCalls
from rest_checks.models.base import ModelError, ModelUnusableError
from rest_checks.peer_asking import PeerAsking
from rest_checks.progress import Progress
from rest_checks.prompts import Request
from rest_checks.records import planned_case_key

# Cases asked at a time when a run may stop early (-x, --maxfail): enough to keep a
# server's parallel slots busy, few enough that a stopped run asked little it never used.
ASK_AHEAD_WINDOW = 16
# Cases asked ahead together: enough for the model's concurrency to stay busy across the
# seams between batches, few enough that their requests take little memory.
ASK_BATCH_CASES = 1000


class AskingAhead:
    """The cases this process will run, and asking the model for them before their tests.

    ``run_cases`` gives every case of the configured run in the suite's order (for
    ``Model.fix_order``); ``not_needed`` holds the case keys the sequential gate decided
    without, which are never asked."""

    def __init__(
        self,
        calls: ModelCalls,
        settings: RestSettings,
        with_ocr: bool,
        run_cases: Callable[[], list[Case]],
    ) -> None:
        self.calls = calls
        self.settings = settings
        self.with_ocr = with_ocr
        self.run_cases = run_cases
        self.not_needed: frozenset[str] = frozenset()
        self._planned: list[Case] = []
        self._prefetched = False
        # Asking in windows: the window size, this process's share, what was asked.
        self._window: int | None = None
        self._share: tuple[int, int] = (0, 1)
        self._asked: set[tuple[str, str | None]] = set()
        self._position: dict[tuple[str, str | None], int] = {}
        # The other xdist workers of the run, as far as their asking goes.
        self._peers: PeerAsking | None = None

    def use_peers(self, peers: PeerAsking) -> None:
        """An xdist worker: mark this worker's asking ahead, and wait for the others'."""
        self._peers = peers

    def plan(self, cases: Sequence[Case]) -> list[str]:
        """Remember the cases this process will run, in test order, without duplicates;
        their case keys."""
        seen: dict[tuple[str, str | None], Case] = {}
        for item, rendering in cases:
            seen.setdefault((item.id, rendering), (item, rendering))
        self._planned = list(seen.values())
        self._position = {key: n for n, key in enumerate(seen)}
        # A batching model batches by the whole run's order, not by what this process asks.
        self.calls.model.fix_order(self.fixed_order())
        return [planned_case_key(item.id, rendering) for item, rendering in self._planned]

    def fixed_order(self) -> list[Request]:
        """Every request of the configured run in the suite's order, whatever ``-k``,
        ``-n`` or the cache leave to ask (``Model.fix_order``)."""
        return [
            r for item, rendering in self.run_cases() for r in self.requests_for(item, rendering)
        ]

    def planned(self) -> list[Case]:
        """The cases this process will run, in test order."""
        return list(self._planned)

    def requests_for(self, item: Item, rendering: str | None) -> list[Request]:
        """What one case will ask: a rendering's requests, or (``None``) the text one."""
        return requests_for(item, rendering, self.with_ocr, self.settings.max_tokens)

    def stored(self, item: Item, rendering: str | None) -> bool:
        """Whether every request of a case has a stored reply (asking it is free)."""
        return self.calls.all_stored(self.requests_for(item, rendering))

    def ask(self, cases: list[Case], progress: Progress | None = None) -> tuple[int, int]:
        """Ask for ``cases`` now (those asked already are not asked again)."""
        return self._ask([c for c in cases if (c[0].id, c[1]) not in self._asked], progress)

    def prefetch(
        self,
        share: tuple[int, int] | None = None,
        *,
        window: int | None = None,
        progress: Progress | None = None,
    ) -> tuple[int, int]:
        """Ask ahead, once, for the planned cases (of ``share = (index, count)`` only: an
        xdist worker's share, after which it waits for the other workers still asking).
        With ``window``, only the first ``window`` cases now; ``ask_ahead`` asks the rest
        as the tests get to them.

        Returns (cases, requests) asked. A request that fails for good does not stop the
        run: the cases that need it ask again when they run and fail as model errors. A
        refused key or a model that cannot load (``ModelUnusableError``) propagates: no case
        can succeed.
        """
        if self._prefetched:
            return 0, 0
        self._prefetched = True
        self._share = share or (0, 1)
        if window is not None:  # asked as the tests go: no worker waits for another
            self._window = max(1, window)
            return self._ask(self._mine(0, self._window * self._share[1]), progress)
        if self._peers is None:
            return self._ask(self._mine(0, len(self._planned)), progress)
        with self._peers.asking():
            asked = self._ask(self._mine(0, len(self._planned)), progress)
        self._peers.wait_for_others()
        return asked

    def ask_ahead(self, item: Item, rendering: str | None) -> tuple[int, int]:
        """Before a case runs in a run asked in windows: unless it was asked already, ask
        the next window of this process's cases in test order, starting with it."""
        if self._window is None or (item.id, rendering) in self._asked:
            return 0, 0
        start = self._position.get((item.id, rendering))
        if start is None:
            return 0, 0
        return self._ask(self._mine(start, start + self._window * self._share[1]), None)

    def _mine(self, start: int, stop: int) -> list[Case]:
        """The planned cases in ``[start, stop)`` of this process's share, not asked yet."""
        index, count = self._share
        return [
            (item, rendering)
            for position, (item, rendering) in enumerate(self._planned[start:stop], start)
            if position % count == index
            and (item.id, rendering) not in self._asked
            and planned_case_key(item.id, rendering) not in self.not_needed
        ]

    def _ask(self, cases: list[Case], progress: Progress | None) -> tuple[int, int]:
        """Ask for ``cases`` a batch of ``ASK_BATCH_CASES`` at a time, so that a large run
        never holds the requests of all its cases at once."""
        self._asked.update((item.id, rendering) for item, rendering in cases)
        total = sum(request_count(rendering, self.with_ocr) for _, rendering in cases)
        if not total:
            return 0, 0
        if progress is not None:
            progress.expect(total)
        for start in range(0, len(cases), ASK_BATCH_CASES):
            batch = cases[start : start + ASK_BATCH_CASES]
            requests = [r for item, rendering in batch for r in self.requests_for(item, rendering)]
            try:
                self.calls.ensure(requests, progress)
            except ModelUnusableError:
                raise
            except ModelError:
                pass  # each case asks again and fails (or succeeds) on its own
        return len(cases), total
