"""What sending one Chat Completions request costs the client: the backend's sender
(``rest_checks.models.chat_http``, the standard library's ``http.client``) against the
official OpenAI client's ``post`` and against that client's own HTTP library, where they
are installed.

A loopback server runs in a child process, so the CPU time measured (``process_time``
of this process, all threads) is the client's alone: building the JSON body of a request
with a 30 KB image, sending it, reading and decoding the reply, 16 threads at once. Each
sender also gets the wall time of a bare interpreter importing it (the fastest of three),
part of every run's start-up.

    python benchmarks/http_senders.py [--requests 600] [--repeat 3]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

KEY = "bench-key"
THREADS = 16


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def payload() -> dict[str, object]:
    image = base64.b64encode(os.urandom(30_000)).decode()
    content = [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + image}},
        {"type": "text", "text": "Solve the system shown in the image."},
    ]
    return {
        "model": "test-model",
        "messages": [{"role": "user", "content": content}],
        "max_tokens": 256,
    }


def ours(base_url: str, body: dict[str, object]) -> Callable[[], str]:
    from rest_checks.models.chat_http import ChatSender

    sender = ChatSender(base_url, {"Authorization": f"Bearer {KEY}"}, 30.0)
    return lambda: sender.post("chat/completions", json.dumps(body).encode(), 30.0)


def official(base_url: str, body: dict[str, object]) -> Callable[[], str]:
    import openai

    client = openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0)
    return lambda: str(client.post("/chat/completions", cast_to=str, body=body))


def its_http_library(base_url: str, body: dict[str, object]) -> Callable[[], str]:
    http = __import__(http_library())
    client = http.Client(base_url=base_url, headers={"Authorization": f"Bearer {KEY}"})
    return lambda: str(client.post("/chat/completions", json=body).text)


def http_library() -> str:
    """The HTTP library the installed OpenAI client is built on."""
    for name in ("httpx2", "httpx"):
        try:
            __import__(name)
        except ImportError:
            continue
        return name
    raise ImportError("no httpx")


SENDERS: dict[str, tuple[Callable[[str, dict[str, object]], Callable[[], str]], str]] = {
    "rest-checks ChatSender (http.client)": (ours, "rest_checks.models.chat_http"),
    "openai client .post": (official, "openai"),
    "the openai client's HTTP library": (its_http_library, ""),
}


def cpu_per_request(post: Callable[[], str], requests: int) -> tuple[float, float]:
    """Client CPU milliseconds per request, and requests per second of wall time."""
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda _: post(), range(2 * THREADS)))  # connections opened
        cpu, wall = time.process_time(), time.monotonic()
        list(pool.map(lambda _: post(), range(requests)))
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    return 1000 * cpu / requests, requests / wall


def import_wall(module: str, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        best = min(best, time.monotonic() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the fastest counts")
    args = parser.parse_args(argv)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "rest_checks.testing.chat_server", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rows = []
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        base_url, body = f"http://127.0.0.1:{port}/v1", payload()
        for name, (make, module) in SENDERS.items():
            try:
                post = make(base_url, body)
                module = module or http_library()
            except ImportError:
                rows.append((name, None, None, None))
                continue
            runs = [cpu_per_request(post, args.requests) for _ in range(args.repeat)]
            cpu, rate = min(r[0] for r in runs), max(r[1] for r in runs)
            rows.append((name, cpu, rate, import_wall(module)))
    finally:
        server.terminate()
        server.wait()
    print(
        f"{args.requests} requests with a 30 KB image, {THREADS} threads, loopback server in "
        f"a child process; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'sender':40}  {'CPU/request':>12}  {'/ ours':>6}  {'requests/s':>10}  {'import':>7}")
    ours_cpu = rows[0][1]
    for name, cpu, rate, imported in rows:
        if cpu is None:
            print(f"{name:40}  {'not installed':>12}")
            continue
        ratio = f"{cpu / ours_cpu:.1f}x" if ours_cpu else "-"
        print(f"{name:40}  {cpu:9.2f} ms  {ratio:>6}  {rate:10.0f}  {imported:5.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
