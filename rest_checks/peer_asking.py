"""The xdist workers of a run tell each other when they have asked ahead for their share.

Each worker asks ahead for every N-th planned case; xdist then hands out the tests in
chunks of consecutive cases, so a worker's tests need replies of the other workers'
shares too. A worker that finished asking before another would otherwise send the
other's requests a second time (a second, paid call) for each such case its tests reach
first. So a worker, once it has asked for its share, waits until every worker that is
still asking has finished, and its tests then read the others' replies.

Each worker marks its asking in a folder of the run (``<folder>/gw<N>.asking``, touched
every ``BEAT_S`` while it asks; ``gw<N>.done`` once it has finished, failed or been
stopped). A waiting worker does not wait for a worker that has not started asking (it
may have no test to run at all, and waiting for it could wait for ever), nor for one
whose mark went stale (a worker that died): ``STALE_S`` without a beat.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

# How often an asking worker touches its mark, and how long without a touch makes a
# mark stale (the worker died or hangs outside of asking).
BEAT_S = 1.0
STALE_S = 10.0
# How often a waiting worker looks at the marks.
POLL_S = 0.02


class PeerAsking:
    """This worker's marks in the run's folder, and the wait for the other workers'."""

    def __init__(
        self,
        folder: Path,
        worker: int,
        workers: int,
        *,
        beat_s: float = BEAT_S,
        stale_s: float = STALE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.folder = folder
        self.worker = worker
        self.workers = workers
        self.beat_s = beat_s
        self.stale_s = stale_s
        self.clock = clock

    def _mark(self, worker: int, state: str) -> Path:
        return self.folder / f"gw{worker}.{state}"

    @contextlib.contextmanager
    def asking(self) -> Iterator[None]:
        """Mark this worker as asking for the block's time (its mark touched every
        ``beat_s``), then as done, however the block ends."""
        mark = self._mark(self.worker, "asking")
        try:
            mark.touch()
        except OSError:
            yield  # an unwritable folder: the others will not wait for this worker
            return
        finished = threading.Event()

        def beat() -> None:
            while not finished.wait(self.beat_s):
                with contextlib.suppress(OSError):
                    mark.touch()

        beating = threading.Thread(target=beat, name="rest-checks-asking-beat", daemon=True)
        beating.start()
        try:
            yield
        finally:
            finished.set()
            beating.join()
            with contextlib.suppress(OSError):
                self._mark(self.worker, "done").touch()

    def still_asking(self) -> list[int]:
        """The other workers that have started asking, not finished, and beat lately."""
        now = self.clock()
        waiting = []
        for other in range(self.workers):
            if other == self.worker or self._mark(other, "done").exists():
                continue
            try:
                beat = self._mark(other, "asking").stat().st_mtime
            except OSError:
                continue  # not started (or no test to run): not waited for
            if now - beat <= self.stale_s:
                waiting.append(other)
        return waiting

    def wait_for_others(self, sleep: Callable[[float], None] = time.sleep) -> None:
        """Return once no other worker is still asking (``still_asking``)."""
        while self.still_asking():
            sleep(POLL_S)
