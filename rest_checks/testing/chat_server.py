"""A small Chat Completions server on loopback, for tests, benchmarks and dry runs.

It is a real HTTP server (``ThreadingHTTPServer`` on 127.0.0.1, a free port) in a
background thread, and speaks enough of the OpenAI API for the official SDK:
``POST /v1/chat/completions`` and ``GET /v1/models``. What it answers is decided by a
``respond(request_json, state)`` callable; scripted replies (rate limits, server errors,
malformed bodies, stalls) can be queued to be served before the normal ones, and
``failing_on`` makes a responder that always fails the requests whose text holds a marker.

    with ChatCompletionsServer(respond=lambda req, state: "ANSWER: 42", latency=0.2) as server:
        model = OpenAIModel("test-model", spec="openai:test-model", base_url=server.base_url,
                            api_key=server.api_key)
        ...
        assert server.state.max_in_flight <= 16

Run ``python -m rest_checks.testing.chat_server --port 8000`` for a standalone server that
a pytest run can be pointed at (``--model openai:test --model-base-url http://127.0.0.1:8000/v1``).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import collections
import hmac
import itertools
import json
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "ChatCompletionsServer",
    "RecordedRequest",
    "Reply",
    "ServerState",
    "default_respond",
    "failing_on",
    "request_images",
    "request_text",
]

DEFAULT_ANSWER = "Working through the problem step by step.\nANSWER: 42"


@dataclass(frozen=True)
class Reply:
    """What the server sends for one request.

    A plain completion needs only ``content``. ``status`` other than 200, or a ``body``,
    replace the completion JSON (errors, malformed bodies); ``delay`` holds the reply back
    (to exceed a client's timeout) on top of the server's latency.
    """

    content: str | None = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | str | None = None
    delay: float = 0.0
    finish_reason: str = "stop"
    # Seconds between the bytes of the body: a reply that trickles in (0: sent at once).
    trickle: float = 0.0

    @classmethod
    def rate_limited(cls, retry_after: float | str | None = None, *, ms: bool = False) -> Reply:
        """A 429; ``retry_after`` goes into ``Retry-After`` (or ``retry-after-ms``)."""
        headers: dict[str, str] = {}
        if retry_after is not None:
            if ms:
                headers["retry-after-ms"] = str(retry_after)
            else:
                headers["Retry-After"] = str(retry_after)
        return cls(
            status=429, headers=headers, body=_error_body("Rate limit reached.", "rate_limit")
        )

    @classmethod
    def error(cls, status: int = 500, message: str = "The server had an error.") -> Reply:
        """An error status with an OpenAI-style JSON error body."""
        return cls(status=status, body=_error_body(message, "server_error"))

    @classmethod
    def refused(cls) -> Reply:
        """A 401 as the real API sends for a wrong key (without echoing the key)."""
        return cls(
            status=401,
            body=_error_body(
                "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
            ),
        )

    @classmethod
    def quota_exhausted(cls) -> Reply:
        """A 429 that no wait can cure: the account has run out of quota."""
        return cls(
            status=429,
            body=_error_body(
                "You exceeded your current quota.", "insufficient_quota", "insufficient_quota"
            ),
        )

    @classmethod
    def malformed(cls, body: str = '{"id": "chatcmpl-broken", "choices": [') -> Reply:
        """A 200 whose JSON body is cut off."""
        return cls(status=200, body=body)

    @classmethod
    def no_content(cls, refusal: str | None = None, finish_reason: str = "stop") -> Reply:
        """A completion whose message has ``content: null`` (a refusal, a lost answer)."""
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if refusal is not None:
            message["refusal"] = refusal
        choice = {"index": 0, "message": message, "finish_reason": finish_reason}
        return cls(body=json.dumps({"id": "chatcmpl-empty", "choices": [choice]}))

    @classmethod
    def trickling(cls, interval: float, content: str = DEFAULT_ANSWER) -> Reply:
        """A completion whose body arrives one byte every ``interval`` seconds."""
        return cls(content=content, trickle=interval)

    @classmethod
    def redirect(cls, location: str, status: int = 301) -> Reply:
        """A redirect to ``location`` (a server that moved)."""
        return cls(status=status, headers={"Location": location}, body="")

    @classmethod
    def stall(cls, seconds: float, content: str = DEFAULT_ANSWER) -> Reply:
        """A completion that arrives only after ``seconds``."""
        return cls(content=content, delay=seconds)


@dataclass
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    json: Any
    # Decoded bytes of every ``data:`` image URL in the messages, in message order.
    images: list[bytes]
    authorized: bool
    received_at: float
    status: int = 0
    # time.monotonic() when the reply was sent (0 until then).
    answered_at: float = 0.0
    # The request's headers, names in lower case (empty unless the server records).
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ServerState:
    """What the server has seen; read it after (or during) a run. Thread-safe counters."""

    requests: list[RecordedRequest] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    serving: int = 0
    max_serving: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def completions(self) -> list[RecordedRequest]:
        """The chat completion requests, in order of arrival."""
        with self.lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]


Responder = Callable[[Any, ServerState], "Reply | str"]


def request_text(request_json: Any) -> str:
    """All text of the user messages of a chat request, joined by newlines."""
    parts: list[str] = []
    for message in _messages(request_json):
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(
                str(p.get("text", ""))
                for p in content
                if isinstance(p, dict) and p.get("type") == "text"
            )
    return "\n".join(parts)


def request_images(request_json: Any) -> list[bytes]:
    """The decoded bytes of every ``data:`` image URL in a chat request.

    Raises ``ValueError`` for an image URL that is not valid base64 data.
    """
    images: list[bytes] = []
    for message in _messages(request_json):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "image_url":
                continue
            url = (part.get("image_url") or {}).get("url", "")
            if not isinstance(url, str) or not url.startswith("data:"):
                continue
            header, sep, data = url.partition(",")
            if not sep or not header.endswith(";base64"):
                raise ValueError(f"image URL is not a base64 data URL: {url[:40]!r}")
            try:
                images.append(base64.b64decode(data, validate=True))
            except binascii.Error as exc:
                raise ValueError(f"image data URL is not valid base64: {exc}") from exc
    return images


def default_respond(request_json: Any, state: ServerState) -> str:
    """A fixed chain of thought that ends in an answer line."""
    return DEFAULT_ANSWER


def failing_on(marker: str, reply: Reply, respond: Responder | None = None) -> Responder:
    """A responder that sends ``reply`` to every request whose text contains ``marker``
    (every attempt, so retries cannot mend it) and asks ``respond`` about the others."""
    fallback = respond or default_respond

    def respond_or_fail(request_json: Any, state: ServerState) -> Reply | str:
        return reply if marker in request_text(request_json) else fallback(request_json, state)

    return respond_or_fail


def _messages(request_json: Any) -> list[dict[str, Any]]:
    messages = request_json.get("messages") if isinstance(request_json, dict) else None
    return [m for m in messages or [] if isinstance(m, dict)]


def _error_body(message: str, kind: str, code: str | None = None) -> str:
    return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}})


class ChatCompletionsServer:
    """A Chat Completions server on 127.0.0.1 in a background thread; a context manager.

    ``respond`` decides normal answers (a string is the assistant's content, a ``Reply``
    gives full control). ``api_key``, when set, must come as ``Authorization: Bearer ...``
    (else 401; ``echo_refused_key`` quotes the refused header in that 401's body).
    ``latency`` is added to every reply; at most ``max_concurrent`` requests are
    served at once and further ones wait, as on a loaded server.
    """

    def __init__(
        self,
        respond: Responder | None = None,
        *,
        api_key: str | None = "test-key",
        latency: float = 0.0,
        max_concurrent: int = 32,
        models: tuple[str, ...] = ("test-model",),
        record: bool = True,
        echo_refused_key: bool = False,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be at least 1, got {max_concurrent}")
        self.respond: Responder = respond or default_respond
        self.api_key = api_key
        self.latency = latency
        self.models = models
        self.record = record
        # Some gateways quote the Authorization header they refused in their 401 body.
        self.echo_refused_key = echo_refused_key
        self.state = ServerState()
        self._script: collections.deque[Reply] = collections.deque()
        self._script_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> ChatCompletionsServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="chat-completions-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        # Wake handlers that are sleeping through a stall so they finish promptly.
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> ChatCompletionsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not running; use it as a context manager")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The URL to give an OpenAI client, ending in ``/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting -------------------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        """Queue replies served, in order, to the next chat requests before ``respond``."""
        with self._script_lock:
            self._script.extend(replies)

    def pending_script(self) -> int:
        with self._script_lock:
            return len(self._script)

    def _next_reply(self, request_json: Any) -> Reply:
        with self._script_lock:
            if self._script:
                return self._script.popleft()
        reply = self.respond(request_json, self.state)
        return Reply(content=reply) if isinstance(reply, str) else reply

    def _completion_body(self, request_json: dict[str, Any], reply: Reply) -> str:
        content = reply.content if reply.content is not None else ""
        prompt_tokens = len(request_text(request_json).split())
        completion_tokens = len(content.split())
        return json.dumps(
            {
                "id": f"chatcmpl-{next(self._ids)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request_json.get("model", ""),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": reply.finish_reason,
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops connections when many clients start at once, and a
    # dropped SYN costs the client a one-second retransmit.
    request_queue_size = 256
    owner: ChatCompletionsServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that goes away mid-request (killed, timed out) is normal here.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive, as real API servers do; the SDK reuses its connections.
    protocol_version = "HTTP/1.1"
    server: _Server
    # Idle keep-alive connections are dropped after this many seconds.
    timeout = 60
    # Without TCP_NODELAY a small reply written after its headers waits for the client's
    # delayed ACK (40 ms on Linux): more than the whole cost of a call.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``state`` instead of the access log."""

    def do_GET(self) -> None:
        owner = self.server.owner
        authorized = self._authorized()
        record = self._record("GET", None, [], authorized)
        if not authorized:
            self._send_auth_error(record)
            return
        if self.path.rstrip("/").endswith("/models"):
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "rest-checks"}
                for m in owner.models
            ]
            self._send(record, 200, json.dumps({"object": "list", "data": data}))
        else:
            self._send(record, 404, _error_body(f"no route for GET {self.path}", "not_found"))

    # Long by its faults: each injected failure a test can ask for is one short branch, read
    # in the order a request meets them.
    def do_POST(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        authorized = self._authorized()
        try:
            request_json = json.loads(raw)
            images = request_images(request_json)
        except ValueError as exc:
            record = self._record("POST", None, [], authorized)
            self._send(record, 400, _error_body(f"invalid request: {exc}", "invalid_request_error"))
            return
        record = self._record("POST", request_json, images if owner.record else [], authorized)
        if not authorized:
            self._send_auth_error(record)
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(record, 404, _error_body(f"no route for POST {self.path}", "not_found"))
            return
        if (
            not isinstance(request_json, dict)
            or "model" not in request_json
            or not _messages(request_json)
        ):
            self._send(
                record,
                400,
                _error_body("a request needs 'model' and 'messages'", "invalid_request_error"),
            )
            return

        state = owner.state
        with state.lock:
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            with owner._slots:
                with state.lock:
                    state.serving += 1
                    state.max_serving = max(state.max_serving, state.serving)
                try:
                    try:
                        reply = owner._next_reply(request_json)
                    except Exception as exc:
                        # A broken responder shows up in the client's error, not as a hang.
                        reply = Reply.error(500, f"respond() raised {exc!r}")
                    wait = owner.latency + reply.delay
                    if wait > 0 and owner._stopping.wait(wait):
                        self.close_connection = True  # shutting down: drop the request
                        return
                finally:
                    with state.lock:
                        state.serving -= 1
            if reply.body is not None or reply.status != 200:
                body = (
                    reply.body if reply.body is not None else _error_body("error", "server_error")
                )
            else:
                body = owner._completion_body(request_json, reply)
            self._send(record, reply.status, body, reply.headers, trickle=reply.trickle)
        finally:
            with state.lock:
                state.in_flight -= 1

    # -- helpers -----------------------------------------------------------------------------
    def _authorized(self) -> bool:
        expected = self.server.owner.api_key
        if expected is None:
            return True
        given = self.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {expected}".encode())

    def _record(
        self, method: str, request_json: Any, images: list[bytes], authorized: bool
    ) -> RecordedRequest:
        owner = self.server.owner
        record = RecordedRequest(
            method,
            self.path,
            request_json if owner.record else None,
            images,
            authorized,
            time.monotonic(),
            headers={k.lower(): v for k, v in self.headers.items()} if owner.record else {},
        )
        with owner.state.lock:
            owner.state.requests.append(record)
        return record

    def _send_auth_error(self, record: RecordedRequest) -> None:
        # Like the real API: say that the key is wrong without echoing it (unless the
        # server plays a gateway that does).
        if self.server.owner.echo_refused_key:
            given = self.headers.get("Authorization", "")
            body = _error_body(f"Refused credentials: Authorization: {given}", "auth_error")
            self._send(record, 401, body)
            return
        reply = Reply.refused()
        assert reply.body is not None
        self._send(record, reply.status, reply.body)

    def _send(
        self,
        record: RecordedRequest,
        status: int,
        body: bytes | str,
        headers: Mapping[str, str] | None = None,
        *,
        trickle: float = 0.0,
    ) -> None:
        record.status = status
        data = body.encode() if isinstance(body, str) else body
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if trickle > 0:
                for offset in range(len(data)):
                    self.wfile.write(data[offset : offset + 1])
                    self.wfile.flush()
                    if self.server.owner._stopping.wait(trickle):
                        self.close_connection = True
                        return
            else:
                self.wfile.write(data)
            record.answered_at = time.monotonic()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout ran out during a stall): nothing to tell it.
            self.close_connection = True


def main(argv: list[str] | None = None) -> None:
    """Serve a fixed answer until interrupted (a stand-in API for dry runs)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--answer", default=DEFAULT_ANSWER, help="the assistant's reply to every request"
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every reply")
    parser.add_argument("--max-concurrent", type=int, default=32)
    parser.add_argument("--api-key", default=None, help="require this key (default: accept any)")
    args = parser.parse_args(argv)
    answer: str = args.answer
    server = ChatCompletionsServer(
        lambda request_json, state: answer,
        api_key=args.api_key,
        latency=args.latency,
        max_concurrent=args.max_concurrent,
        record=False,
    )
    httpd = _Server(("127.0.0.1", args.port), _Handler)
    httpd.owner = server
    print(f"serving Chat Completions on http://127.0.0.1:{args.port}/v1 (Ctrl-C to stop)")
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
