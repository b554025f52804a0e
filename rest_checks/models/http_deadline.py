"""A whole-reply deadline and a stop switch under an OpenAI client's HTTP connections.

HTTP clients bound each socket read, not a reply: a server that trickles a byte every few
seconds keeps a request alive for ever, and a request blocked in a read outlives a Ctrl-C
by up to its timeout. Here every read of a connection waits in short slices; between two
slices it checks the deadline of the request its thread is making (headers to last byte)
and the batch's stop switch, and gives up with the HTTP library's own ``ReadTimeout`` or
``ReadError``, which the client reports as a timeout or a connection error.

A thread marks the request it makes with ``guarded(deadline_s, stop)``; reads of a thread
outside one wait as the client asked.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["SLICE_S", "deadline_client", "guarded"]

# The longest a read waits before it looks at the deadline and the stop switch again:
# how late a stopped or overdue request notices.
SLICE_S = 0.2

_local = threading.local()


@contextlib.contextmanager
def guarded(seconds: float, stop: threading.Event | None = None) -> Iterator[None]:
    """Within this block, this thread's request must finish in ``seconds`` (else a read
    timeout) and stops (a read error) once ``stop`` is set."""
    _local.deadline = time.monotonic() + seconds
    _local.stop = stop
    try:
        yield
    finally:
        _local.deadline = None
        _local.stop = None


def _limits() -> tuple[float | None, threading.Event | None]:
    return getattr(_local, "deadline", None), getattr(_local, "stop", None)


def deadline_client(openai_module: Any, timeout: float) -> Any | None:
    """An HTTP client for ``openai.OpenAI(http_client=...)`` whose connections honour
    ``guarded``; ``None`` where the installed client is not built as expected (then the
    plain per-read timeout applies)."""
    try:
        client = openai_module.DefaultHttpxClient(timeout=timeout, follow_redirects=False)
        pool = client._transport._pool
        inner = pool._network_backend
        core = _core_module(type(inner))
    except Exception:  # another client layout: no whole-reply deadline
        return None
    pool._network_backend = _backend_class(core)(inner)
    return client


def _core_module(backend_type: type) -> Any:
    import importlib

    return importlib.import_module(backend_type.__module__.split(".")[0])


def _backend_class(core: Any) -> type:
    """The wrapping backend and stream, built over the HTTP core library in use (httpcore
    or its successor), whose exceptions the client above it knows how to map."""

    class DeadlineStream(core.NetworkStream):
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            deadline, stop = _limits()
            if deadline is None and stop is None:
                return bytes(self._inner.read(max_bytes, timeout))
            given_up = None if timeout is None else time.monotonic() + timeout
            while True:
                now = time.monotonic()
                if stop is not None and stop.is_set():
                    raise core.ReadError("the run stopped")
                ends = [t for t in (deadline, given_up) if t is not None]
                left = min(ends) - now if ends else SLICE_S
                if left <= 0:
                    raise core.ReadTimeout("the reply did not arrive in time")
                try:
                    return bytes(self._inner.read(max_bytes, min(SLICE_S, left)))
                except core.ReadTimeout:
                    continue  # a slice ran out: look at the deadline and the switch

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            self._inner.write(buffer, timeout)

        def close(self) -> None:
            self._inner.close()

        def start_tls(self, *args: Any, **kwargs: Any) -> Any:
            return DeadlineStream(self._inner.start_tls(*args, **kwargs))

        def get_extra_info(self, info: str) -> Any:
            return self._inner.get_extra_info(info)

    class DeadlineBackend(core.NetworkBackend):
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def connect_tcp(self, *args: Any, **kwargs: Any) -> Any:
            return DeadlineStream(self._inner.connect_tcp(*args, **kwargs))

        def connect_unix_socket(self, *args: Any, **kwargs: Any) -> Any:
            return DeadlineStream(self._inner.connect_unix_socket(*args, **kwargs))

        def sleep(self, seconds: float) -> None:
            self._inner.sleep(seconds)

    return DeadlineBackend
