"""Faults, a kill -9 and a rerun: how many finished calls does a run lose?

A loopback Chat Completions server answers after ``--latency`` seconds and injects faults
into ``--fault-rate`` of the attempts (429 with Retry-After 0, 500, 503, a cut-off JSON
body, a stall beyond the request timeout). A real ``pytest`` run of the suite (``-n 0``
and ``-n 2``) is killed with SIGKILL, process group and all, once the server has sent a
good answer to a random share (30-70%) of the distinct requests; then the same run is
started again and goes to its end.

For each run the table prints the distinct requests, those answered before the kill, the
requests in flight at the kill (received and not yet answered by the server), and the
requests the rerun asked again although the first run had received their answer
("repeated"). Every answered reply should be on disk, so "repeated" should be at most the
replies that were on the wire at the kill: its excess over "in flight" is printed last.

    python benchmarks/fault_injection.py
    python benchmarks/fault_injection.py --n 20 --fault-rate 0.3 --workers 0 2 --seed 7
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rest_checks.testing import ChatCompletionsServer, Reply, ServerState
from rest_checks.testing.chat_server import default_respond

REPO = Path(__file__).resolve().parents[1]
SUITE = REPO / "tests" / "test_rest_suite.py"
MODELS_FILE = """
[models.faulty]
backend = "openai"
name = "test-model"
base_url = "{url}"
retry_base_delay = 0.05
retry_max_delay = 0.5
timeout = {timeout}
"""


def request_key(request_json: Any) -> str:
    """What identifies a request across runs: its messages and answer budget."""
    body = {k: request_json.get(k) for k in ("messages", "max_tokens", "max_completion_tokens")}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class FaultyResponder:
    """Answers like ``default_respond`` but injects faults; remembers what it answered."""

    def __init__(self, fault_rate: float, stall_s: float, seed: int) -> None:
        self.fault_rate = fault_rate
        self.stall_s = stall_s
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.answered: set[str] = set()
        self.asked: list[str] = []

    def __call__(self, request_json: Any, state: ServerState) -> Reply | str:
        key = request_key(request_json)
        with self.lock:
            self.asked.append(key)
            roll = self.rng.random()
        if roll < self.fault_rate:
            fault = self.rng.choice(("429", "500", "503", "malformed", "stall"))
            if fault == "429":
                return Reply.rate_limited(retry_after=0)
            if fault in ("500", "503"):
                return Reply.error(int(fault))
            if fault == "malformed":
                return Reply.malformed()
            return Reply.stall(self.stall_s)
        with self.lock:
            self.answered.add(key)
        return default_respond(request_json, state)


@dataclass
class Trial:
    workers: int
    distinct: int
    answered_before_kill: int
    in_flight_at_kill: int
    repeated: int
    rerun_ok: bool


def pytest_command(workdir: Path, n: int, workers: int) -> list[str]:
    return [
        sys.executable, "-m", "pytest", str(SUITE), "--rootdir", str(workdir), "-c",
        str(workdir / "pytest.ini"), "--model", "faulty", "--rest-n", str(n),
        "--rest-cache", str(workdir / "cache"), "-q", "-p", "no:cacheprovider",
        "-p", "no:randomly", *(["-n", str(workers)] if workers else ["-p", "no:xdist"]),
    ]  # fmt: skip


def trial(args: argparse.Namespace, workers: int, rng: random.Random) -> Trial:
    responder = FaultyResponder(args.fault_rate, args.timeout * 2, rng.randrange(2**32))
    with (
        ChatCompletionsServer(responder, api_key=None, latency=args.latency) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        workdir = Path(tmp)
        (workdir / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        (workdir / "rest_models.toml").write_text(
            MODELS_FILE.format(url=server.base_url, timeout=args.timeout), encoding="utf-8"
        )
        command = pytest_command(workdir, args.n, workers)
        env = {**os.environ, "HYPOTHESIS_PROFILE": "ci"}
        # How many distinct requests the whole run makes: 4 per item and 3 tasks.
        distinct = 4 * 3 * args.n
        kill_after = int(distinct * rng.uniform(0.3, 0.7))
        first = subprocess.Popen(
            command, cwd=REPO, env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        while len(responder.answered) < kill_after and first.poll() is None:
            time.sleep(0.005)
        in_flight = server.state.in_flight
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        answered = set(responder.answered)
        asked_before = len(responder.asked)
        rerun = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        repeated = sum(1 for key in set(responder.asked[asked_before:]) if key in answered)
    return Trial(workers, distinct, len(answered), in_flight, repeated, rerun.returncode in (0, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10, help="items per task")
    parser.add_argument("--workers", type=int, nargs="*", default=[0, 2])
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--timeout", type=float, default=1.0, help="--rest-timeout")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(
        f"{args.n} items per task, {args.fault_rate:.0%} faults, latency {args.latency} s, "
        f"kill -9 at 30-70% of the answers, then a rerun"
    )
    header = (
        f"{'workers':>7}{'requests':>10}{'answered':>10}{'in flight':>11}{'repeated':>10}"
        f"{'beyond in flight':>18}{'rerun':>7}"
    )
    print(header)
    print("-" * len(header))
    for workers in args.workers:
        for _ in range(args.repeats):
            t = trial(args, workers, rng)
            beyond = max(0, t.repeated - t.in_flight_at_kill)
            print(
                f"{t.workers:>7}{t.distinct:>10}{t.answered_before_kill:>10}"
                f"{t.in_flight_at_kill:>11}{t.repeated:>10}{beyond:>18}"
                f"{'ok' if t.rerun_ok else 'FAILED':>7}"
            )


if __name__ == "__main__":
    main()
