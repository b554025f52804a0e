"""Saying what slow steps are doing.

``say`` is one line on stderr (loading weights, starting OCR, reaching a server), which
``rest_checks.terminal_progress`` lets through pytest's capture while the run asks the
model ahead of the tests.
``Progress`` counts the requests of that asking (done of total, from the disk cache, read
back from this run's replies; replies, retries and failures it reads from the run's call
counter) and ``LiveProgress`` shows the count while it goes: one line rewritten in place
on a terminal, or a new line every ``every`` seconds where output is not a terminal (CI
logs).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Protocol

from rest_checks.results_document import Calls


def say(message: str) -> None:
    print(f"rest-checks: {message}", file=sys.stderr, flush=True)


class SentCounts(Protocol):
    """What ``Progress`` reads of the run's one call counter (``CallCounter``)."""

    model_calls: int
    retries: int
    errors: int


class Progress:
    """One asking's count for the live display: its total, the stored replies it found, and
    from the run's call counter (``watch``) the replies, retries and failures since it
    began; thread-safe (replies arrive on the backend's threads)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = 0
        self.disk = 0
        self.memory = 0
        self._expected = False
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._counter: SentCounts | None = None
        self._before = (0, 0, 0)

    def watch(self, counter: SentCounts) -> None:
        """Count ``counter``'s replies, retries and failures from now on (the first call
        only: an asking in several batches goes on counting)."""
        with self._lock:
            if self._counter is None:
                self._counter = counter
                self._before = self._sent(counter)

    @staticmethod
    def _sent(counter: SentCounts) -> tuple[int, int, int]:
        return counter.model_calls, counter.retries, counter.errors

    def _since(self) -> tuple[int, int, int]:
        """Replies, retries and failures since ``watch``."""
        if self._counter is None:
            return 0, 0, 0
        now = self._sent(self._counter)
        return now[0] - self._before[0], now[1] - self._before[1], now[2] - self._before[2]

    @property
    def replies(self) -> int:
        return self._since()[0]

    @property
    def retries(self) -> int:
        return self._since()[1]

    @property
    def errors(self) -> int:
        return self._since()[2]

    @property
    def done(self) -> int:
        return self.disk + self.memory + self.replies

    def calls(self) -> Calls:
        """This asking's requests as a results document counts them: sent, found in the
        disk cache, in this run's replies, retried, failed."""
        with self._lock:
            replies, retries, errors = self._since()
            return {
                "model": replies,
                "cache": self.disk,
                "memory": self.memory,
                "retried": retries,
                "failed": errors,
            }

    def expect(self, requests: int) -> None:
        """The whole asking will look at ``requests`` requests, looked at a batch at a
        time: the total is known from the start and shrinks as duplicates are merged."""
        with self._lock:
            self.total = requests
            self._expected = True

    def add(self, requests: int, *, disk: int = 0, memory: int = 0, merged: int = 0) -> None:
        """``requests`` more to answer, ``disk`` of them answered by the disk cache and
        ``memory`` by this run's replies already; ``merged`` more were duplicates of these
        (and need no answer of their own)."""
        with self._lock:
            if self._expected:
                self.total -= merged
            else:
                self.total += requests
            self.disk += disk
            self.memory += memory

    def line(self) -> str:
        """``asking the model: 120/600 (90 sent, 30 from the disk cache, 0 from memory,
        2 retries, 0 failed), 15.2/s, ETA 31 s``."""
        with self._lock:
            replies, retries, errors = self._since()
            done = self.disk + self.memory + replies
            elapsed = max(self._clock() - self._started, 1e-9)
            rate = replies / elapsed
            left = self.total - done
            eta = f"ETA {_duration(left / rate)}" if rate > 0 and left else "ETA -"
            if not left:
                eta = f"took {_duration(elapsed)}"
            return (
                f"rest-checks: asking the model: {done}/{self.total} "
                f"({replies} sent, {self.disk} from the disk cache, {self.memory} from memory, "
                f"{retries} retries, {errors} failed), "
                f"{rate:.1f}/s, {eta}"
            )


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


# A terminal line is redrawn this often; elsewhere a line is written every EVERY_S seconds.
TTY_REFRESH_S = 0.5
EVERY_S = 15.0


class LiveProgress:
    """Shows a ``Progress`` from a background thread while a ``with`` block runs, and its
    final count at the end. ``write`` takes raw text (no newline added)."""

    def __init__(
        self,
        progress: Progress,
        write: Callable[[str], None],
        *,
        tty: bool,
        every: float = EVERY_S,
    ) -> None:
        self.progress = progress
        self._write = write
        self._tty = tty
        self._every = TTY_REFRESH_S if tty else every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rest-checks-progress", daemon=True)
        self._width = 0

    def _show(self, final: bool = False) -> None:
        line = self.progress.line()
        if self._tty:
            padding = " " * max(0, self._width - len(line))
            self._width = len(line)
            self._write("\r" + line + padding + ("\n" if final else ""))
        else:
            self._write(line + "\n")

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self._show()

    def __enter__(self) -> LiveProgress:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        if self.progress.total:
            self._show(final=True)
