"""Throughput of the OpenAI backend against a loaded loopback server.

The server answers each request after ``latency`` seconds and serves at most
``server_concurrency`` at once (further ones queue), like a rate-limited deployment. The
best any client can do is ``calls x latency / server_concurrency``; the table reports the
wall time of ``OpenAIModel.generate`` against that ideal. Rendering the images is
preparation and is timed separately.

    python benchmarks/openai_throughput.py                 # 150 items x 3 modalities
    python benchmarks/openai_throughput.py --concurrency 8 16 32 64
    python benchmarks/openai_throughput.py --items 30 --batch 3 --no-suite

``--batch N`` calls ``generate`` once per N requests (3: one case at a time, as a run does
for the requests its cache lacks), which shows the fixed cost of each call; a batch then
ideally takes ``latency`` (more when it is larger than the server's concurrency).

A second table runs the whole suite (``pytest tests/test_rest_suite.py --model
openai:test-model``) against the same kind of server: 150 items, each asked in text, image
and mixed form plus the OCR request. Its "calls span" runs from the first request the
server received to the last one's reply; pytest start-up and rendering come before it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rest_checks.items.base import Item
from rest_checks.modalities import ANSWER_MODALITIES
from rest_checks.models.openai_api import OpenAIModel
from rest_checks.prompts import Request, build_requests
from rest_checks.testing import ChatCompletionsServer

SOURCES = ("soebench", "arith", "mcq")


@dataclass(frozen=True)
class Throughput:
    """One measured run of ``generate`` over a batch of requests."""

    calls: int
    concurrency: int
    batch: int
    wall_s: float
    ideal_s: float
    server_max_in_flight: int

    @property
    def ratio(self) -> float:
        return self.wall_s / self.ideal_s


def build_items(n_items: int, seed: int = 0) -> list[Item]:
    """About ``n_items`` items spread over the three task sources (fabricated where the
    item generators are not available)."""
    per_source = max(1, n_items // len(SOURCES))
    try:
        from rest_checks.items.suites import load_suite

        return load_suite(list(SOURCES), per_source, seed)[:n_items]
    except ImportError:
        return [
            Item(
                f"fake-{i:04d}",
                "soebench",
                f"{i + 1}A + 2B - C = {i}\nA - B + 3C = 4\n2A + B + C = {2 * i + 1}",
                "Solve the system for A, B and C.",
                "A=1, B=2, C=3",
                "solution",
            )
            for i in range(n_items)
        ]


def build_request_batch(items: Sequence[Item]) -> list[Request]:
    """The text, image and mixed requests of every item (rendering happens here)."""
    batch: list[Request] = []
    for item in items:
        requests = build_requests(item, with_ocr=False)
        batch.extend(requests[m] for m in ANSWER_MODALITIES)
    return batch


def measure_throughput(
    requests: Sequence[Request],
    *,
    concurrency: int = 32,
    latency: float = 0.2,
    server_concurrency: int = 32,
    batch: int | None = None,
) -> Throughput:
    """Send ``requests`` through ``OpenAIModel.generate`` to a fresh loopback server,
    ``batch`` at a time (all at once by default)."""
    size = batch or len(requests)
    batches = [requests[i : i + size] for i in range(0, len(requests), size)]
    with ChatCompletionsServer(
        latency=latency, max_concurrent=server_concurrency, record=False
    ) as server:
        model = OpenAIModel(
            "test-model",
            spec="openai:test-model",
            base_url=server.base_url,
            api_key=server.api_key,
            concurrency=concurrency,
        )
        try:
            started = time.perf_counter()
            responses = [r for b in batches for r in model.generate(b)]
            wall = time.perf_counter() - started
        finally:
            model.close()
        if len(responses) != len(requests) or not all(
            r.text and r.error is None for r in responses
        ):
            raise RuntimeError("the server did not answer every request")
        return Throughput(
            calls=len(requests),
            concurrency=concurrency,
            batch=size,
            wall_s=wall,
            ideal_s=sum(latency * max(1.0, len(b) / server_concurrency) for b in batches),
            server_max_in_flight=server.state.max_in_flight,
        )


REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class SuiteRun:
    """One run of the pytest suite against the loopback server."""

    items: int
    calls: int
    total_s: float
    span_s: float
    ideal_s: float

    @property
    def ratio(self) -> float:
        return self.span_s / self.ideal_s


def measure_suite(
    per_source: int = 50,
    *,
    concurrency: int = 32,
    latency: float = 0.2,
    server_concurrency: int = 32,
) -> SuiteRun:
    """Run the REST suite (no xdist, no cache) against a fresh loopback server."""
    with (
        ChatCompletionsServer(latency=latency, max_concurrent=server_concurrency) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        env = {**os.environ, "OPENAI_API_KEY": server.api_key or ""}
        command = [
            sys.executable,
            "-m",
            "pytest",
            str(REPO / "tests" / "test_rest_suite.py"),
            "-q",
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            tmp,
            "--model",
            "openai:test-model",
            "--model-base-url",
            server.base_url,
            "--rest-n",
            str(per_source),
            "--rest-no-cache",
            "--rest-concurrency",
            str(concurrency),
            "--rest-baseline",
            f"{tmp}/none.json",
        ]
        started = time.perf_counter()
        subprocess.run(command, env=env, cwd=tmp, capture_output=True, check=False)
        total = time.perf_counter() - started
        received = sorted(r.received_at for r in server.state.requests)
        if not received:
            raise RuntimeError("the suite made no request")
        calls = len(received)
        return SuiteRun(
            items=calls // 4,
            calls=calls,
            total_s=total,
            span_s=received[-1] - received[0] + latency,
            ideal_s=calls * latency / server_concurrency,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=150)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[32])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--server-concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--batch", type=int, default=None, help="requests per generate call (default: all)"
    )
    parser.add_argument("--no-suite", action="store_true", help="skip the whole-suite table")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    items = build_items(args.items)
    requests = build_request_batch(items)
    prep = time.perf_counter() - started
    image_bytes = sum(len(r.image_png or b"") for r in requests)
    print(
        f"preparation: {len(items)} items -> {len(requests)} requests, rendered "
        f"{image_bytes / 1e6:.1f} MB of PNG in {prep:.2f} s"
    )
    print(
        f"server: {args.latency * 1000:.0f} ms per reply, at most "
        f"{args.server_concurrency} served at once\n"
    )
    print(
        f"{'calls':>6} {'batch':>6} {'client conc.':>12} {'wall s':>8} {'ideal s':>8} "
        f"{'ratio':>6} {'max in flight':>13}"
    )
    for concurrency in args.concurrency:
        for _ in range(args.repeat):
            result = measure_throughput(
                requests,
                concurrency=concurrency,
                latency=args.latency,
                server_concurrency=args.server_concurrency,
                batch=args.batch,
            )
            print(
                f"{result.calls:>6} {result.batch:>6} {result.concurrency:>12} "
                f"{result.wall_s:>8.2f} {result.ideal_s:>8.2f} {result.ratio:>5.2f}x "
                f"{result.server_max_in_flight:>13}"
            )
    if args.no_suite:
        return 0
    print("\nthe whole suite (pytest, no xdist, no cache), client concurrency 32:")
    print(
        f"{'items':>6} {'calls':>6} {'pytest s':>9} {'calls span s':>13} {'ideal s':>8} "
        f"{'ratio':>6}"
    )
    for _ in range(args.repeat):
        run = measure_suite(
            max(1, args.items // len(SOURCES)),
            latency=args.latency,
            server_concurrency=args.server_concurrency,
        )
        print(
            f"{run.items:>6} {run.calls:>6} {run.total_s:>9.2f} {run.span_s:>13.2f} "
            f"{run.ideal_s:>8.2f} {run.ratio:>5.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
