"""A real run killed with SIGKILL while it asks a loopback server, then run again: the
rerun asks none of the calls the server had answered (only those that were in flight)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from rest_checks.testing import ChatCompletionsServer, request_images, request_text

REPO = Path(__file__).resolve().parents[2]
ANSWERED_BEFORE_KILL = 8
ANSWER = "Working it out.\nANSWER: 42"


def call_of(request_json: Any) -> str:
    """What identifies one call: its text and images."""
    digest = hashlib.sha256(request_text(request_json).encode())
    for image in request_images(request_json):
        digest.update(hashlib.sha256(image).digest())
    return digest.hexdigest()


class HoldingServer:
    """Answers the first ``limit`` calls, then holds every further one until released."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.answered: list[str] = []
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.server = ChatCompletionsServer(self.respond, api_key=None, max_concurrent=64)

    def respond(self, request_json: Any, state: Any) -> str:
        with self.lock:
            hold = len(self.answered) >= self.limit
            if not hold:
                self.answered.append(call_of(request_json))
        if hold:
            self.released.wait(60)
        return ANSWER


def pytest_command(base_url: str, cache: Path, workers: int) -> list[str]:
    dist = ["-n", str(workers)] if workers else ["-p", "no:xdist"]
    return [
        sys.executable,
        "-m",
        "pytest",
        "test_rest_suite.py",
        "--model",
        "openai:test-model",
        "--model-base-url",
        base_url,
        "--rest-suite",
        "arith",
        "--rest-n",
        "6",
        "--rest-cache",
        str(cache),
        "--rest-concurrency",
        "4",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        "-q",
        *dist,
    ]


def wait_for(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.parametrize("workers", [0, 2])
def test_a_killed_run_repeats_no_answered_call(tmp_path: Path, workers: int) -> None:
    (tmp_path / "test_rest_suite.py").write_text(
        (REPO / "tests" / "test_rest_suite.py").read_text()
    )
    (tmp_path / "conftest.py").write_text((REPO / "conftest.py").read_text())
    cache = tmp_path / "cache"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REST_", "OPENAI_"))}

    holding = HoldingServer(ANSWERED_BEFORE_KILL)
    # One server for both runs: its address is part of the model's identity, so of the key.
    with holding.server as server:
        command = pytest_command(server.base_url, cache, workers)
        process = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its xdist workers die with it
        )
        try:
            assert wait_for(lambda: len(holding.answered) >= ANSWERED_BEFORE_KILL, 120), (
                "the run never got its first answers"
            )
            # The run has its answers and waits on held calls: give it a moment to store
            # them, then kill every process of it without warning.
            wait_for(lambda: len(list(cache.rglob("*.json"))) >= ANSWERED_BEFORE_KILL, 30)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            with holding.lock:
                holding.limit = 10**9
            holding.released.set()
        answered = set(holding.answered)
        assert len(answered) == ANSWERED_BEFORE_KILL
        rerun_start = time.monotonic()
        rerun = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
        asked_again = [
            call_of(r.json)
            for r in server.state.completions
            # Not the killed run's calls, nor a half-sent one it left behind.
            if r.received_at >= rerun_start and isinstance(r.json, dict)
        ]
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    assert [call for call in asked_again if call in answered] == []
    # 6 items x 4 calls: the rest were asked. Without workers each once; two workers can
    # both ask a case before either has stored it (one asks ahead, the other runs it).
    assert len(set(asked_again)) == 24 - ANSWERED_BEFORE_KILL
    if workers == 0:
        assert len(asked_again) == 24 - ANSWERED_BEFORE_KILL
