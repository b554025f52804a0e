"""Drawing pages in worker processes, so that another core draws while this process sends
requests and reads replies: Pillow holds the GIL while it lays out, draws and encodes a
page, so the threads of one process draw one page at a time, and the time they take is
taken from the requests.

A worker is a fresh interpreter (``python -c``, not ``multiprocessing``, so that no worker
imports the main module of the process that starts it: a script calling ``pytest.main()``
without a ``__main__`` guard would run again) with this process's ``sys.path`` and
environment (the fonts directory of ``REST_CHECKS_FONTS_DIR`` included). It is sent a
pickled page and sends back ``page.png()``. The first page a worker draws is drawn here
too (while the worker starts) and the bytes compared, since pages are keyed by what
determines their bytes, not by the bytes: where they differ (a setting patched in this
process only, another library on the worker's path), or a worker fails, pages are drawn
in this process as before. ``close`` ends the workers; a worker whose parent dies ends
when its input closes.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import weakref
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import IO

from rest_checks.pages import KeyedPage
from rest_checks.xdist_worker import xdist_worker_count

log = logging.getLogger(__name__)

# What a worker runs: this process's import path, then the loop below.
WORKER_CODE = (
    "import sys; sys.path[:] = {path!r}; from rest_checks.page_drawers import serve; serve()"
)


def spare_cores() -> int:
    """Cores this process may run on beyond one for each process of the run that sends
    requests (this one, or every xdist worker): those a page-drawing process can have
    without taking one from them."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(0, cores - xdist_worker_count())


class DrawingFailed(Exception):
    """A page could not be drawn elsewhere; it is drawn in this process instead."""


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    # Pages to send, by a thread of their own: a full pipe must not hold up the thread
    # that asks (one that has just received a reply and is to send the next request).
    outbox: queue.SimpleQueue[tuple[int, bytes] | None] = field(default_factory=queue.SimpleQueue)
    pending: int = 0
    # The bytes of the first page sent, as this process drew them: what it sends back
    # first is checked against them before any other page it draws is used.
    expected: bytes | None = None


class PageDrawers:
    """``processes`` worker processes that draw pages for this one, for a whole run,
    checked against this process's drawing of ``probe`` (drawn here at once, while the
    workers start)."""

    def __init__(self, processes: int, probe: KeyedPage) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[int, Future[bytes]] = {}
        self._next_job = 0
        self.failure: str | None = None
        self._workers: list[_Worker] = []
        started: list[subprocess.Popen[bytes]] = []
        # The workers end with this object (at the latest at exit), should nobody close it.
        self._finalizer = weakref.finalize(self, _end, started)
        command = [sys.executable, "-c", WORKER_CODE.format(path=list(sys.path))]
        try:
            for _ in range(max(1, processes)):
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=dict(os.environ),
                )
                started.append(process)
                self._workers.append(_Worker(process))
        except OSError as exc:
            self._fail(f"could not start a process to draw pages in ({exc})")
        expected = b""
        try:
            expected = probe.fresh().png()
        except Exception as exc:
            self._fail(f"the page to check the drawing processes against fails here ({exc})")
        for worker in self._workers:
            if self.usable:
                worker.expected = expected
                self._queue(worker, probe, Future())
            for role in (self._read, self._send):
                threading.Thread(
                    target=role, args=(worker,), name="rest-checks-page-drawer", daemon=True
                ).start()

    @property
    def usable(self) -> bool:
        return self.failure is None

    def draw(self, page: KeyedPage) -> Future[bytes]:
        """``page``'s bytes, drawn by a worker (a failed future where none can)."""
        future: Future[bytes] = Future()
        with self._lock:
            worker = min(self._workers, key=lambda w: w.pending) if self.usable else None
        if worker is None:
            future.set_exception(DrawingFailed(self.failure or CLOSED))
        else:
            self._queue(worker, page, future)
        return future

    def _queue(self, worker: _Worker, page: KeyedPage, future: Future[bytes]) -> None:
        try:
            data = pickle.dumps(page, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # a page that only this process can draw
            future.set_exception(DrawingFailed(f"the page does not pickle ({exc})"))
            return
        with self._lock:
            if self.failure is not None:
                future.set_exception(DrawingFailed(self.failure))
                return
            job, self._next_job = self._next_job, self._next_job + 1
            worker.pending += 1
            self._jobs[job] = future
        worker.outbox.put((job, data))

    def _send(self, worker: _Worker) -> None:
        """Write each page queued for a worker to its input, until it ends."""
        stdin = worker.process.stdin
        assert stdin is not None
        while (job := worker.outbox.get()) is not None:
            try:
                pickle.dump(job, stdin, protocol=pickle.HIGHEST_PROTOCOL)
                stdin.flush()
            except (OSError, ValueError) as exc:  # the worker is gone (or was ended)
                self._fail(f"a page-drawing process stopped reading ({exc})")
                return

    def _read(self, worker: _Worker) -> None:
        """Hand each page a worker sends back to whoever waits for it."""
        stdout = worker.process.stdout
        assert stdout is not None
        while True:
            try:
                job, ok, value = pickle.load(stdout)
            except Exception:  # end of output: the worker ended or was ended
                stdout.close()
                # Unless this process ended it (``close``, or at exit).
                self._fail("a page-drawing process ended" if self._finalizer.alive else CLOSED)
                return
            with self._lock:
                future = self._jobs.pop(job, None)
                worker.pending -= 1
            if future is None:
                continue
            if worker.expected is not None:  # the first page back: drawn as here?
                expected, worker.expected = worker.expected, None
                if not ok or value != expected:
                    self._fail(DIFFERS)
            elif not ok:
                # Drawn again in this process, where the error is raised with its message.
                future.set_exception(DrawingFailed(str(value)))
            else:
                future.set_result(value)

    def _fail(self, reason: str) -> None:
        """Stop using the workers: pages still to come are drawn in this process."""
        with self._lock:
            first = self.failure is None
            if first:
                self.failure = reason
            jobs, self._jobs = self._jobs, {}
        for future in jobs.values():
            if not future.done():
                future.set_exception(DrawingFailed(reason))
        if first:
            for worker in self._workers:
                worker.outbox.put(None)  # its sending thread ends
            if reason != CLOSED:
                log.warning("rest-checks: %s; drawing pages in this process", reason)
            self._finalizer()

    def close(self) -> None:
        """End the workers (pages not back yet are drawn here, if anyone still asks)."""
        self._fail(CLOSED)
        self._finalizer()


CLOSED = "closed"
DIFFERS = (
    "a page drawn in a separate process differs from the same page drawn in this one "
    "(a setting changed in this process only?)"
)


def _end(processes: list[subprocess.Popen[bytes]]) -> None:
    """End worker processes at once: nothing they still draw is needed. (Their output is
    closed by the thread reading it, which sees it end.)"""
    for process in processes:
        if process.poll() is None:
            process.kill()
    for process in processes:
        try:
            if process.stdin is not None:
                process.stdin.close()
        except OSError:  # a page half written to a worker that is gone
            pass
        process.wait()


def serve() -> None:
    """A worker process's main: draw the pages sent on stdin, back on stdout."""
    # Ctrl-C goes to the whole process group: the parent decides when its workers end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints must not mix with the pages sent back
    draw_pages(source, sink)


def draw_pages(source: IO[bytes], sink: IO[bytes]) -> None:
    """Draw each pickled page read from ``source`` and write ``(job, True, png)`` to
    ``sink``, or ``(job, False, message)`` where it fails, until ``source`` ends."""
    while True:
        try:
            job, data = pickle.load(source)
        except EOFError:
            return
        try:
            reply = (job, True, pickle.loads(data).png())
        except Exception as exc:
            reply = (job, False, f"{type(exc).__name__}: {exc}")
        pickle.dump(reply, sink, protocol=pickle.HIGHEST_PROTOCOL)
        sink.flush()
