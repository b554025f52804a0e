"""Saying what slow steps are doing.

``say`` is one line on stderr (loading weights, starting OCR, reaching a server), which
the plugin lets through pytest's capture while it asks the model ahead of the tests.
``Progress`` counts the requests of that asking (done of total, from the disk cache, read
back from this run's replies, retries, failed) and ``LiveProgress`` shows the count while
it goes: one line rewritten in place on a terminal, or a new line every ``every`` seconds
where output is not a terminal (CI logs).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType


def say(message: str) -> None:
    print(f"rest-checks: {message}", file=sys.stderr, flush=True)


class Progress:
    """Counts of one asking; thread-safe (replies arrive on the backend's threads)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = 0
        self.done = 0
        self.disk = 0
        self.memory = 0
        self.retries = 0
        self.errors = 0
        self._expected = False
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()

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
            self.done += disk + memory
            self.disk += disk
            self.memory += memory

    def reply(self, *, error: bool = False) -> None:
        with self._lock:
            self.done += 1
            self.errors += error

    def retry(self) -> None:
        with self._lock:
            self.retries += 1

    def line(self) -> str:
        """``asking the model: 120/600 (30 from the disk cache, 0 from memory, 2 retries,
        0 failed), 15.2/s, ETA 31 s``."""
        with self._lock:
            elapsed = max(self._clock() - self._started, 1e-9)
            asked = self.done - self.disk - self.memory
            rate = asked / elapsed
            left = self.total - self.done
            eta = f"ETA {_duration(left / rate)}" if rate > 0 and left else "ETA -"
            if not left:
                eta = f"took {_duration(elapsed)}"
            return (
                f"rest-checks: asking the model: {self.done}/{self.total} "
                f"({self.disk} from the disk cache, {self.memory} from memory, "
                f"{self.retries} retries, {self.errors} failed), "
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
