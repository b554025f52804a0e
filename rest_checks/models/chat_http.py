"""POST one JSON request to an OpenAI-compatible server, over the standard library's
``http.client``.

A chat completion needs little of an HTTP client: one ``POST`` with a bearer key, the
reply's status, headers and body. The official SDK does this too, at a price a fast server
makes visible: importing it took about 0.45 s of every run's start-up, and its request path
about 1.3 ms of CPU a request against 0.3 ms here (``benchmarks/api_path.py``), which on a
server answering in 50 ms bounds how many requests one process keeps in flight.

What a sender keeps from a full client:

- keep-alive connections, as many as requests in flight, kept between batches; a reused
  connection that the server closed while it was idle (a keep-alive timeout) is reopened
  and the request sent once more at once, since the server never saw it;
- TLS verified against the system's certificates (``SSL_CERT_FILE`` and ``SSL_CERT_DIR``
  honoured), and certifi's bundle as well where certifi is installed;
- ``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` from the environment (a
  loopback server is never proxied; HTTPS goes through the proxy by ``CONNECT``);
- a deadline for the whole reply, headers to last byte, and a stop switch: a watchdog
  thread shuts the socket of a request past its deadline, or whose batch stopped, so a
  server that trickles a byte every few seconds cannot hold a request for ever;
- redirects are not followed (they would drop the key or turn the request into a GET):
  a 3xx is a ``StatusError`` like any other status.

The key is in the headers this object holds and in no message, ``repr`` or exception it
makes; server text in a ``StatusError`` is quoted as it came, for the caller to scrub.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import ipaddress
import json
import os
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

__all__ = [
    "MAX_BODY_BYTES",
    "SLICE_S",
    "CertificateRefused",
    "ChatSender",
    "ConnectionFailed",
    "ReplyTooLarge",
    "StatusError",
    "TimedOut",
    "is_local_host",
    "proxy_for",
]

# How often the watchdog looks at the deadlines and stop switches of requests in flight:
# how late a stopped or overdue request notices.
SLICE_S = 0.2
# A reply body beyond this is refused: no chat completion is this large.
MAX_BODY_BYTES = 64 * 1024 * 1024


class StatusError(Exception):
    """The server answered with a status other than 2xx (redirects included)."""

    def __init__(self, status: int, headers: Mapping[str, str], text: str) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.text = text
        self.code = _error_code(text)


class TimedOut(Exception):
    """No whole reply within the request's deadline."""


class ConnectionFailed(Exception):
    """The request could not be sent or its reply not read (connection refused, reset,
    closed, a proxy that refused the tunnel, a TLS failure, or the run stopped)."""


class CertificateRefused(ConnectionFailed):
    """The server's TLS certificate did not verify: no retry can mend it."""


class ReplyTooLarge(Exception):
    """The reply's body exceeds ``MAX_BODY_BYTES``."""


def _error_code(text: str) -> str | None:
    """The ``code`` of an OpenAI-style error body (``{"error": {"code": ...}}``)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            return str(error["code"])
    return None


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int
    # ``Proxy-Authorization`` from the proxy URL's user and password; never in repr.
    authorization: str | None = field(default=None, repr=False)


def is_local_host(host: str) -> bool:
    """Whether ``host`` names this machine: ``localhost`` (or a name under it), a loopback
    address, or ``0.0.0.0``."""
    host = host.lower().strip("[]")
    if host in ("localhost", "0.0.0.0") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bypassed(host: str, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` names ``host``: ``*``, the host itself, or a domain it is in
    (``example.com`` and ``.example.com`` both cover ``api.example.com``)."""
    host = host.lower().strip("[]")
    for entry in no_proxy.lower().replace(" ", "").split(","):
        name = entry.strip("[]").lstrip(".")
        if not entry.startswith("[") and entry.count(":") == 1:
            name = name.rsplit(":", 1)[0]  # a port: any port of that host goes direct
        if entry == "*" or (name and (host == name or host.endswith("." + name))):
            return True
    return False


def proxy_for(scheme: str, host: str, environ: Mapping[str, str] | None = None) -> Proxy | None:
    """The proxy the environment names for ``scheme://host``; ``None`` to go direct.
    Loopback and ``NO_PROXY`` hosts go direct; a proxy must be an ``http://`` URL."""
    env = os.environ if environ is None else environ
    if is_local_host(host):
        return None
    proxies = {
        key[: -len("_proxy")].lower(): value
        for key, value in env.items()
        if key.lower().endswith("_proxy") and value
    }
    if _bypassed(host, proxies.get("no", "")):
        return None
    url = proxies.get(scheme) or proxies.get("all")
    if not url:
        return None
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(
            f"the {scheme.upper()}_PROXY environment variable names {parts.scheme}://"
            f"{parts.hostname or ''}: only http:// proxies are supported"
        )
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode()
    return Proxy(parts.hostname, parts.port or 80, authorization)


def tls_context() -> ssl.SSLContext:
    """Verified TLS: the system's certificates (``SSL_CERT_FILE``/``SSL_CERT_DIR``), and
    certifi's where it is installed and no certificate file is named."""
    context = ssl.create_default_context()
    if not os.environ.get("SSL_CERT_FILE"):
        try:
            import certifi
        except ImportError:
            return context
        context.load_verify_locations(certifi.where())
    return context


class _Watched:
    """A request in flight, as the watchdog sees it."""

    __slots__ = ("connection", "deadline", "reason", "stop")

    def __init__(
        self,
        connection: http.client.HTTPConnection,
        deadline: float,
        stop: threading.Event | None,
    ) -> None:
        self.connection = connection
        self.deadline = deadline
        self.stop = stop
        self.reason: str | None = None  # "deadline" or "stopped", once given up


class _Watchdog:
    """One thread that gives up on requests past their deadline or whose batch stopped,
    by shutting their sockets (the sending thread then fails its read at once). It sleeps
    while nothing is in flight."""

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._active: set[_Watched] = set()
        self._thread: threading.Thread | None = None
        self._closed = False

    def enter(
        self,
        connection: http.client.HTTPConnection,
        deadline: float,
        stop: threading.Event | None,
    ) -> _Watched:
        watched = _Watched(connection, deadline, stop)
        with self._wake:
            self._active.add(watched)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="rest-checks-http-watchdog", daemon=True
                )
                self._thread.start()
            elif len(self._active) == 1:
                self._wake.notify()
        return watched

    def leave(self, watched: _Watched) -> str | None:
        """Stop watching; why the watchdog gave up on the request, if it did."""
        with self._wake:
            self._active.discard(watched)
            return watched.reason

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()

    def _loop(self) -> None:
        with self._wake:
            while not self._closed:
                if not self._active:
                    self._wake.wait()
                    continue
                self._wake.wait(SLICE_S)
                now = time.monotonic()
                for watched in self._active:
                    if watched.reason is None:
                        if watched.stop is not None and watched.stop.is_set():
                            watched.reason = "stopped"
                        elif now >= watched.deadline:
                            watched.reason = "deadline"
                    if watched.reason is not None:
                        # Again each round: a connection still opening has no socket yet.
                        _shut(watched.connection)


def _shut(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # closed already
            sock.shutdown(socket.SHUT_RDWR)


# Failures of a reused connection that mean the server closed it before reading the
# request: sent once more at once on a fresh connection.
_STALE = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
)


class ChatSender:
    """POSTs JSON to one server from any number of threads; a request takes an idle
    keep-alive connection or opens one, and gives it back once its reply is read."""

    def __init__(self, base_url: str, headers: Mapping[str, str], timeout: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {parts.scheme}://{parts.hostname or ''}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self._path = parts.path.rstrip("/")
        self._query = parts.query
        self.timeout = timeout
        self._headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            **headers,
        }
        self._proxy = proxy_for(self.scheme, self.host)
        if self._proxy is not None and self._proxy.authorization and self.scheme == "http":
            self._headers["Proxy-Authorization"] = self._proxy.authorization
        self._tls = tls_context() if self.scheme == "https" else None
        # Every connection not closed yet, and those of them waiting for a request.
        self._open: set[http.client.HTTPConnection] = set()
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._watchdog = _Watchdog()
        self._closed = False

    def __repr__(self) -> str:
        return f"ChatSender({self.scheme}://{self.host}:{self.port}{self._path})"

    def target(self, path: str) -> str:
        """The request target for ``path`` under the base URL (absolute through an HTTP
        proxy, as the proxy needs it)."""
        target = f"{self._path}/{path.lstrip('/')}"
        if self._query:
            target += "?" + self._query
        if self._proxy is not None and self.scheme == "http":
            return f"http://{self.host}:{self.port}{target}"
        return target

    def post(
        self, path: str, body: bytes, deadline_s: float, stop: threading.Event | None = None
    ) -> str:
        """The body of a 2xx reply as text. Raises ``StatusError``, ``TimedOut``,
        ``ConnectionFailed`` or ``ReplyTooLarge``."""
        if self._closed:
            raise ConnectionFailed("the sender is closed")
        if stop is not None and stop.is_set():
            raise ConnectionFailed("the run stopped")
        deadline = time.monotonic() + deadline_s
        target = self.target(path)
        for fresh_try in (False, True):
            # The second try opens a connection: the other idle ones may be closed too.
            connection, reused = self._connection(new=fresh_try)
            watched = self._watchdog.enter(connection, deadline, stop)
            failure: BaseException | None = None
            try:
                connection.request("POST", target, body=body, headers=self._headers)
                reply = connection.getresponse()
                status = reply.status
                data = _read_body(reply)
                reply_headers = dict(reply.getheaders())
                keep = not reply.will_close and len(data) <= MAX_BODY_BYTES
            except (OSError, http.client.HTTPException) as exc:
                failure = exc
            reason = self._watchdog.leave(watched)
            if failure is not None or reason is not None or not keep:
                self._drop(connection)
            else:
                self._release(connection)
            if failure is None:  # read whole, even if the watchdog gave up just after
                break
            if reason == "stopped":
                raise ConnectionFailed("the run stopped")
            if reason == "deadline":
                raise TimedOut(f"no whole reply within {deadline_s:g} s")
            if isinstance(failure, TimeoutError):
                raise TimedOut(f"no reply within {self.timeout:g} s")
            if reused and not fresh_try and isinstance(failure, _STALE):
                continue  # the server closed the idle connection: it never saw the request
            if isinstance(failure, ssl.SSLCertVerificationError):
                raise CertificateRefused(failure.verify_message or str(failure))
            raise ConnectionFailed(_describe(failure))
        if len(data) > MAX_BODY_BYTES:
            raise ReplyTooLarge(f"the reply is larger than {MAX_BODY_BYTES:,} bytes")
        text = data.decode("utf-8", errors="replace")
        if not 200 <= status < 300:
            raise StatusError(status, reply_headers, text)
        return text

    def close(self) -> None:
        """Close every connection; requests in flight fail."""
        self._closed = True
        self._watchdog.close()
        with self._lock:
            connections, self._open, self._idle = self._open, set(), []
        for connection in connections:
            _shut(connection)
            connection.close()

    # -- connections ------------------------------------------------------------------
    def _connection(self, new: bool = False) -> tuple[http.client.HTTPConnection, bool]:
        """An idle connection (the one used last: the likeliest still open) unless ``new``,
        else a new one; and whether it served a request before."""
        if not new:
            with self._lock:
                if self._idle:
                    return self._idle.pop(), True
        connection = self._new_connection()
        with self._lock:
            self._open.add(connection)
        return connection, False

    def _release(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if connection in self._open:
                self._idle.append(connection)
                return
        connection.close()  # the sender was closed while its request was out

    def _new_connection(self) -> http.client.HTTPConnection:
        proxy = self._proxy
        host, port = (self.host, self.port) if proxy is None else (proxy.host, proxy.port)
        if self.scheme == "http":
            return http.client.HTTPConnection(host, port, timeout=self.timeout)
        connection = http.client.HTTPSConnection(
            host, port, timeout=self.timeout, context=self._tls
        )
        if proxy is not None:
            tunnel_headers = None
            if proxy.authorization:
                tunnel_headers = {"Proxy-Authorization": proxy.authorization}
            connection.set_tunnel(self.host, self.port, headers=tunnel_headers)
        return connection

    def _drop(self, connection: http.client.HTTPConnection) -> None:
        connection.close()
        with self._lock:
            self._open.discard(connection)


def _read_body(reply: http.client.HTTPResponse) -> bytes:
    """The reply's body, or its first ``MAX_BODY_BYTES + 1`` bytes when it is longer. A
    body whose length is not announced is read a MiB at a time: reading it in one call
    would set aside ``MAX_BODY_BYTES`` for every such reply."""
    if reply.length is not None or reply.chunked:
        data = reply.read(MAX_BODY_BYTES + 1)
        # ``read`` with a size returns what came before the connection closed: a body
        # shorter than announced is cut off, not a reply.
        if reply.length and len(data) <= MAX_BODY_BYTES:
            raise http.client.IncompleteRead(data, reply.length)
        return data
    parts: list[bytes] = []
    size = 0
    while size <= MAX_BODY_BYTES:
        part = reply.read(2**20)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _describe(failure: BaseException) -> str:
    """A failure in words: its type and message (neither holds a header)."""
    said = str(failure) or "no detail"
    return f"{type(failure).__name__}: {said}"
