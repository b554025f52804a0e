"""Ctrl-C (SIGINT) and SIGTERM end a run within seconds while it waits on a server that
stalls: the replies received stay in the cache, one line says so, no traceback, and no
worker goes on sending requests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from suite_runs import HYPOTHESIS_CONFTEST, QUIET, REPO, SUITE

from rest_checks.testing import ChatCompletionsServer, Reply

FAST_REPLIES = 8


@pytest.mark.parametrize(
    ("signum", "workers", "within", "again"),
    [
        (signal.SIGINT, 0, 5.0, False),
        (signal.SIGTERM, 0, 5.0, False),
        (signal.SIGTERM, 2, 12.0, False),
        (signal.SIGINT, 0, 5.0, True),
        (signal.SIGINT, 2, 5.0, True),
    ],
    ids=["ctrl-c", "sigterm", "sigterm-n2", "ctrl-c-twice", "ctrl-c-twice-n2"],
)
def test_a_signal_ends_a_stalled_run_keeping_what_it_received(
    tmp_path: Path, signum: int, workers: int, within: float, again: bool
) -> None:
    (tmp_path / "conftest.py").write_text(HYPOTHESIS_CONFTEST, encoding="utf-8")
    (tmp_path / "test_rest_suite.py").write_text(SUITE, encoding="utf-8")
    answered = [0]
    lock = threading.Lock()

    def respond(request: object, state: object) -> Reply | str:
        with lock:  # a few replies, then a server that stalls for a minute
            answered[0] += 1
            fast = answered[0] <= FAST_REPLIES
        return "ANSWER: 1" if fast else Reply.stall(60, "ANSWER: 1")

    with ChatCompletionsServer(respond=respond, api_key=None) as server:
        dist = ["-n", str(workers)] if workers else ["-p", "no:xdist"]
        command = [
            sys.executable, "-m", "pytest", *QUIET, *dist,
            "--model", "openai:test-model", "--model-base-url", server.base_url,
            "--rest-suite", "arith", "--rest-n", "20", "--rest-concurrency", "4",
        ]  # fmt: skip
        environment = {**os.environ, "PYTHONPATH": str(REPO)}
        process = subprocess.Popen(
            command, cwd=tmp_path, env=environment, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while len(server.state.completions) < FAST_REPLIES + 2:  # some stall now
                assert time.monotonic() < deadline, "the run never reached the server"
                time.sleep(0.05)
            time.sleep(0.3)
            received = sum(r.status == 200 and r.answered_at > 0 for r in server.state.completions)
            process.send_signal(signum)
            sent = time.monotonic()
            if again:  # impatient: a second one while the run winds down
                time.sleep(0.4)
                process.send_signal(signum)
            output, _ = process.communicate(timeout=30)
            took = time.monotonic() - sent
        finally:
            process.kill()
        asked_by_then = len(server.state.completions)
        time.sleep(1.0)
        asked_later = len(server.state.completions)
    assert took < within, output
    if again:  # ended at once, with one line; a second signal that lands while Python exits
        # ends it by that signal (-signum here, 128 + signum in a shell)
        assert process.returncode in (pytest.ExitCode.INTERRUPTED, 128 + signum, -signum), output
        assert "again: stopping now" in output or "run interrupted:" in output
    else:
        assert process.returncode == pytest.ExitCode.INTERRUPTED, output
        assert "run interrupted:" in output
    assert "kept in the cache" in output
    assert "Traceback" not in output and "PluggyTeardownRaisedWarning" not in output
    assert asked_later == asked_by_then, "no worker asks after the run ended"
    entries = [p for p in (tmp_path / ".rest-cache").rglob("*.json") if p.name[0] != "."]
    assert received == FAST_REPLIES
    assert len(entries) == received
