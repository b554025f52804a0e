"""The HTTP sender of the OpenAI-compatible backend: the requests the official client would
send, connections a server closed while idle, proxies, and replies too large to read."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rest_checks.models import chat_http
from rest_checks.models.base import ModelUnusableError
from rest_checks.models.chat_http import ChatSender, ConnectionFailed, proxy_for
from rest_checks.models.openai_api import OpenAIModel
from rest_checks.prompts import Request
from rest_checks.render.drawing import render_png
from rest_checks.testing import ChatCompletionsServer

KEY = "sk-test-0a1b2c3d4e5f6a7b"
COMPLETION = json.dumps(
    {"choices": [{"message": {"role": "assistant", "content": "ANSWER: 7"}, "index": 0}]}
).encode()


def ask(i: int = 1, image: bytes | None = None) -> Request:
    return Request(f"i-{i}", "image" if image else "text", f"Solve {i}.", image, 64)


def model_for(base_url: str, concurrency: int = 1, **settings: object) -> OpenAIModel:
    return OpenAIModel(
        "test-model",
        spec="openai:test-model",
        base_url=base_url,
        api_key=KEY,
        concurrency=concurrency,
        settings={"max_retries": 0, **settings},
    )


def test_the_request_is_the_one_the_official_client_sends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    openai = pytest.importorskip("openai")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-example")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-example")
    request = ask(3, render_png("x + 1 = 4"))
    with ChatCompletionsServer(api_key=KEY) as server:
        model = model_for(server.base_url)
        [response] = model.generate([request])
        model.close()
        client = openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
        client.chat.completions.create(**model._payload(request))
        client.close()
        ours, theirs = server.state.requests
    assert response.error is None and response.text
    assert ours.path == theirs.path == "/v1/chat/completions"
    assert ours.json == theirs.json
    for header in ("authorization", "content-type", "openai-organization", "openai-project"):
        assert ours.headers[header] == theirs.headers[header], header
    assert ours.headers["openai-organization"] == "org-example"


class RawServer:
    """A loopback TCP server whose ``handle(reader, writer)`` speaks for itself (over TLS
    given ``tls``); records how many connections it accepted."""

    def __init__(
        self, handle: Callable[[Any, Any], None], tls: ssl.SSLContext | None = None
    ) -> None:
        outer = self
        self.connections = 0

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                outer.connections += 1
                handle(self.rfile, self.wfile)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    made: list[RawServer] = []

    def make(handle: Callable[[Any, Any], None], tls: ssl.SSLContext | None = None) -> RawServer:
        made.append(RawServer(handle, tls))
        return made[-1]

    yield make
    for server in made:
        server.close()


def read_request(reader: Any) -> tuple[str, dict[str, str], bytes]:
    """The request line, the headers (lower-case names) and the body."""
    line = reader.readline().decode().strip()
    headers = {}
    while (header := reader.readline().decode().strip()) != "":
        name, _, value = header.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers.get("content-length", 0)))
    return line, headers, body


def answer(writer: Any, status: str = "200 OK", body: bytes = COMPLETION) -> None:
    writer.write(
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    writer.flush()


def test_a_connection_the_server_closed_while_idle_is_reopened_at_once(
    raw_server: Callable[..., RawServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Each reply promises keep-alive, then the server closes the connection (as an idle
    # timeout would): the next request on it never reaches the server.
    def one_reply_a_connection(reader: Any, writer: Any) -> None:
        read_request(reader)
        answer(writer)

    server = raw_server(one_reply_a_connection)
    model = model_for(f"http://127.0.0.1:{server.port}/v1")
    caplog.set_level(logging.WARNING)
    responses = [model.generate([ask(i)])[0] for i in range(4)]
    model.close()
    assert [r.error for r in responses] == [None] * 4
    assert [r.text for r in responses] == ["ANSWER: 7"] * 4
    assert server.connections == 4
    assert not caplog.records, "no retry was needed or logged"


def test_after_a_stale_connection_the_request_goes_on_a_new_one_not_another_idle_one(
    raw_server: Callable[..., RawServer],
) -> None:
    def slowly_then_close(reader: Any, writer: Any) -> None:
        read_request(reader)
        time.sleep(0.2)  # the two first requests overlap: two connections
        answer(writer)

    server = raw_server(slowly_then_close)
    model = model_for(f"http://127.0.0.1:{server.port}/v1", concurrency=2)
    first = model.generate([ask(1), ask(2)])
    assert server.connections == 2  # both idle now, both closed by the server
    [again] = model.generate([ask(3)])
    model.close()
    assert [r.error for r in first] == [None, None]
    assert again.error is None and again.text == "ANSWER: 7"
    assert server.connections == 3


@pytest.mark.parametrize("size", [2_000, 300_000])
def test_a_body_read_until_the_server_closes(
    raw_server: Callable[..., RawServer], monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    monkeypatch.setattr(chat_http, "MAX_BODY_BYTES", 100_000)
    text = "x" * size
    body = json.dumps({"choices": [{"message": {"content": text}}]}).encode()

    def no_length(reader: Any, writer: Any) -> None:
        read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        writer.write(b"Connection: close\r\n\r\n" + body)
        writer.flush()

    server = raw_server(no_length)
    model = model_for(f"http://127.0.0.1:{server.port}/v1")
    [response] = model.generate([ask()])
    model.close()
    if size < 100_000:
        assert response.error is None and response.text == text
    else:
        assert response.error is not None and "larger than 100,000 bytes" in response.error


def test_a_body_cut_short_of_its_announced_length_is_no_reply(
    raw_server: Callable[..., RawServer],
) -> None:
    def cut_short(reader: Any, writer: Any) -> None:
        read_request(reader)
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(COMPLETION) + 50}\r\n\r\n"
        writer.write(head.encode() + COMPLETION)
        writer.flush()

    server = raw_server(cut_short)
    model = model_for(f"http://127.0.0.1:{server.port}/v1")
    [response] = model.generate([ask()])
    model.close()
    assert response.error is not None and "connection failed (IncompleteRead" in response.error


def test_a_connection_that_fails_on_its_first_request_is_not_sent_again(
    raw_server: Callable[..., RawServer],
) -> None:
    def hang_up(reader: Any, writer: Any) -> None:
        read_request(reader)

    server = raw_server(hang_up)
    model = model_for(f"http://127.0.0.1:{server.port}/v1")
    [response] = model.generate([ask()])
    model.close()
    assert response.error is not None and "connection failed" in response.error
    assert server.connections == 1


def test_an_http_server_is_reached_through_the_proxy_the_environment_names(
    raw_server: Callable[..., RawServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str, dict[str, str]]] = []

    def proxy(reader: Any, writer: Any) -> None:
        line, headers, _ = read_request(reader)
        seen.append((line, headers))
        answer(writer)

    server = raw_server(proxy)
    monkeypatch.setenv("HTTP_PROXY", f"http://me:p%40ss@127.0.0.1:{server.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    model = model_for("http://models.example.test/v1")
    [response] = model.generate([ask()])
    model.close()
    assert response.error is None
    [(line, headers)] = seen
    assert line == "POST http://models.example.test:80/v1/chat/completions HTTP/1.1"
    assert headers["proxy-authorization"] == "Basic bWU6cEBzcw=="  # me:p@ss
    assert headers["authorization"] == f"Bearer {KEY}"


def test_an_https_server_is_reached_through_a_tunnel_that_never_carries_the_key(
    raw_server: Callable[..., RawServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str, dict[str, str]]] = []

    def refusing_proxy(reader: Any, writer: Any) -> None:
        line, headers, _ = read_request(reader)
        seen.append((line, headers))
        answer(writer, "403 Forbidden", b"")

    server = raw_server(refusing_proxy)
    monkeypatch.setenv("HTTPS_PROXY", f"127.0.0.1:{server.port}")
    model = model_for("https://models.example.test/v1")
    [response] = model.generate([ask()])
    model.close()
    [(line, headers)] = seen
    assert line == "CONNECT models.example.test:443 HTTP/1.0"
    assert "authorization" not in headers and KEY not in repr(headers)
    assert response.error is not None and "connection failed" in response.error
    assert "403" in response.error and KEY not in response.error


@pytest.mark.parametrize(
    ("scheme", "host", "environ", "expected"),
    [
        ("https", "api.example.com", {}, None),
        ("https", "api.example.com", {"HTTPS_PROXY": "http://p:3128"}, ("p", 3128)),
        ("https", "api.example.com", {"https_proxy": "p:8080"}, ("p", 8080)),
        ("http", "api.example.com", {"HTTPS_PROXY": "http://p:3128"}, None),
        ("http", "api.example.com", {"ALL_PROXY": "http://p"}, ("p", 80)),
        ("https", "127.0.0.1", {"HTTPS_PROXY": "http://p:3128"}, None),
        ("https", "localhost", {"ALL_PROXY": "http://p:3128"}, None),
        ("https", "::1", {"ALL_PROXY": "http://p:3128"}, None),
        ("https", "api.example.com", {"ALL_PROXY": "http://p", "NO_PROXY": "example.com"}, None),
        ("https", "api.example.com", {"ALL_PROXY": "http://p", "no_proxy": ".example.com"}, None),
        ("https", "api.example.com", {"ALL_PROXY": "http://p", "NO_PROXY": "*"}, None),
        ("https", "api.example.com", {"ALL_PROXY": "http://p", "NO_PROXY": "other.com"}, ("p", 80)),
        (
            "https",
            "notexample.com",
            {"ALL_PROXY": "http://p", "NO_PROXY": "example.com"},
            ("p", 80),
        ),
        (
            "https",
            "api.example.com",
            {"ALL_PROXY": "http://p", "NO_PROXY": "example.com:443"},
            None,
        ),
    ],
)
def test_the_proxy_for_a_server(
    scheme: str, host: str, environ: dict[str, str], expected: tuple[str, int] | None
) -> None:
    proxy = proxy_for(scheme, host, environ)
    assert (None if proxy is None else (proxy.host, proxy.port)) == expected


def test_a_proxy_that_is_not_plain_http_is_refused_when_the_model_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "socks5://127.0.0.2:1080")
    with pytest.raises(Exception, match=r"HTTPS_PROXY.*socks5://127.0.0.2.*only http://"):
        model_for("https://models.example.test/v1")


def test_a_reply_too_large_fails_its_request_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chat_http, "MAX_BODY_BYTES", 64)
    with ChatCompletionsServer(api_key=KEY) as server:
        model = model_for(server.base_url)
        [response] = model.generate([ask()])
        model.close()
    assert response.error is not None and "larger than 64 bytes" in response.error


def test_the_sender_shows_no_key_and_fails_cleanly_once_closed() -> None:
    with ChatCompletionsServer(api_key=KEY) as server:
        sender = ChatSender(server.base_url, {"Authorization": f"Bearer {KEY}"}, 5.0)
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "2+2"}]})
        assert json.loads(sender.post("chat/completions", body.encode(), 5))["choices"]
        assert KEY not in repr(sender)
        stopped = threading.Event()
        stopped.set()
        with pytest.raises(ConnectionFailed, match="the run stopped"):
            sender.post("chat/completions", b"{}", 5, stopped)
        sender.close()
        with pytest.raises(ConnectionFailed, match="closed"):
            sender.post("chat/completions", b"{}", 5)
        assert len(server.state.requests) == 1


def test_a_refused_connection_is_a_connection_failure() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    sender = ChatSender(f"http://127.0.0.1:{port}/v1", {}, 5.0)
    with pytest.raises(ConnectionFailed, match="ConnectionRefusedError"):
        sender.post("chat/completions", b"{}", 5)
    sender.close()


def test_a_run_of_the_backend_imports_no_http_library_beyond_the_standard_one() -> None:
    # Importing the official client took about 0.45 s of every run's start-up.
    code = (
        "import sys\n"
        "from rest_checks.models.openai_api import OpenAIModel\n"
        "from rest_checks.prompts import Request\n"
        "from rest_checks.testing import ChatCompletionsServer\n"
        "with ChatCompletionsServer(api_key=None) as server:\n"
        "    model = OpenAIModel('test-model', spec='openai:test-model',"
        " base_url=server.base_url)\n"
        "    [reply] = model.generate([Request('i', 'text', 'Solve.', None, 64)])\n"
        "    model.close()\n"
        "assert reply.error is None and reply.text, reply\n"
        "heavy = [m for m in ('openai', 'httpx', 'httpx2', 'httpcore', 'pydantic', 'anyio')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted", "unknown-authority"])
def test_tls_is_verified_against_the_certificates_the_environment_names(
    raw_server: Callable[..., RawServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    trusted: bool,
) -> None:
    trustme = pytest.importorskip("trustme")
    authority, stranger = trustme.CA(), trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(tls)
    served: list[str] = []

    def over_tls(reader: Any, writer: Any) -> None:
        served.append(read_request(reader)[0])
        answer(writer)

    server = raw_server(over_tls, tls)
    bundle = tmp_path / "ca.pem"
    (authority if trusted else stranger).cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    model = model_for(f"https://127.0.0.1:{server.port}/v1", max_retries=3)
    if trusted:
        [response] = model.generate([ask()])
        assert response.error is None and response.text == "ANSWER: 7"
        assert served == ["POST /v1/chat/completions HTTP/1.1"]
    else:  # no request can get through: the run stops at once, saying what to do
        with pytest.raises(ModelUnusableError, match="TLS certificate was refused") as refused:
            model.generate([ask(1), ask(2)])
        assert "SSL_CERT_FILE" in str(refused.value) and "attempt" not in str(refused.value)
        assert served == []
    model.close()


def test_a_verified_https_server_answers_through_a_proxy_tunnel(
    raw_server: Callable[..., RawServer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("models.example.test").configure_cert(tls)
    served: list[tuple[str, dict[str, str]]] = []

    def model_server(reader: Any, writer: Any) -> None:
        line, headers, _ = read_request(reader)
        served.append((line, headers))
        answer(writer)

    server = raw_server(model_server, tls)
    tunnels: list[str] = []

    def proxy(reader: Any, writer: Any) -> None:
        line, _, _ = read_request(reader)  # CONNECT models.example.test:443
        tunnels.append(line)
        upstream = socket.create_connection(("127.0.0.1", server.port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        writer.flush()

        def pipe(source: Any, sink: Callable[[bytes], Any]) -> None:
            while chunk := source(65536):
                sink(chunk)

        back = threading.Thread(target=pipe, args=(upstream.recv, writer.write), daemon=True)
        back.start()
        writer.flush()
        with contextlib.suppress(OSError):
            pipe(reader.read1, upstream.sendall)
        back.join(2)
        upstream.close()

    tunnel = raw_server(proxy)
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{tunnel.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    model = model_for("https://models.example.test/v1")
    [response] = model.generate([ask()])
    model.close()
    assert response.error is None and response.text == "ANSWER: 7"
    assert tunnels == ["CONNECT models.example.test:443 HTTP/1.0"]
    [(line, headers)] = served
    assert line == "POST /v1/chat/completions HTTP/1.1"
    assert headers["authorization"] == f"Bearer {KEY}"  # inside the tunnel, over TLS
