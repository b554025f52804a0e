"""Throughput of the OpenAI backend against a loaded loopback server.

The server answers each request after ``latency`` seconds and serves at most
``server_concurrency`` at once (further ones queue), like a rate-limited deployment. The
best any client can do is ``calls x latency / server_concurrency``; the table reports the
wall time of ``OpenAIModel.generate`` against that ideal. Rendering the images is
preparation and is timed separately.

    python benchmarks/openai_throughput.py                 # 150 items x 3 modalities
    python benchmarks/openai_throughput.py --concurrency 8 16 32 64
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass

from rest_checks.items.base import Item
from rest_checks.models.openai_api import OpenAIModel
from rest_checks.prompts import ANSWER_MODALITIES, Request, build_requests
from rest_checks.testing import ChatCompletionsServer

SOURCES = ("soebench", "arith", "mcq")


@dataclass(frozen=True)
class Throughput:
    """One measured run of ``generate`` over a batch of requests."""

    calls: int
    concurrency: int
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
) -> Throughput:
    """Send ``requests`` through ``OpenAIModel.generate`` to a fresh loopback server."""
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
            responses = model.generate(requests)
            wall = time.perf_counter() - started
        finally:
            model.close()
        if len(responses) != len(requests) or not all(r.text for r in responses):
            raise RuntimeError("the server did not answer every request")
        return Throughput(
            calls=len(requests),
            concurrency=concurrency,
            wall_s=wall,
            ideal_s=len(requests) * latency / server_concurrency,
            server_max_in_flight=server.state.max_in_flight,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=150)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[32])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--server-concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=1)
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
        f"{'calls':>6} {'client conc.':>12} {'wall s':>8} {'ideal s':>8} {'ratio':>6} "
        f"{'max in flight':>13}"
    )
    for concurrency in args.concurrency:
        for _ in range(args.repeat):
            result = measure_throughput(
                requests,
                concurrency=concurrency,
                latency=args.latency,
                server_concurrency=args.server_concurrency,
            )
            print(
                f"{result.calls:>6} {result.concurrency:>12} {result.wall_s:>8.2f} "
                f"{result.ideal_s:>8.2f} {result.ratio:>5.2f}x {result.server_max_in_flight:>13}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
