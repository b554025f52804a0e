"""The live count while asking: what a line says, a line rewritten in place on a terminal,
a new line every few seconds elsewhere."""

from __future__ import annotations

import time

from rest_checks.model_gateway import CallCounter
from rest_checks.progress import LiveProgress, Progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_line_counts_done_cached_retries_errors_rate_and_eta() -> None:
    clock = Clock()
    progress = Progress(clock)
    counter = CallCounter(model_calls=7, retries=1)  # before this asking: not its own
    progress.watch(counter)
    progress.add(100, disk=15, memory=5)
    counter.model_calls += 31
    counter.errors += 1
    counter.retries += 2
    clock.now += 10.0
    line = progress.line()
    assert "51/100" in line
    assert "(31 sent, 15 from the disk cache, 5 from memory, 2 retries, 1 failed)" in line
    assert "3.1/s" in line  # 31 asked in 10 s
    assert "ETA 16 s" in line  # 49 left at 3.1/s


def test_the_last_line_says_how_long_it_took() -> None:
    clock = Clock()
    progress = Progress(clock)
    counter = CallCounter()
    progress.watch(counter)
    progress.add(2)
    counter.model_calls += 2
    clock.now += 75
    assert "2/2" in progress.line() and "took 1 min 15 s" in progress.line()


def test_without_a_terminal_a_new_line_comes_every_interval_and_one_at_the_end() -> None:
    written: list[str] = []
    progress = Progress()
    counter = CallCounter()
    progress.watch(counter)
    progress.add(3)
    with LiveProgress(progress, written.append, tty=False, every=0.05):
        time.sleep(0.3)
        counter.model_calls += 3
    assert len(written) >= 3
    assert all(text.endswith("\n") and "\r" not in text for text in written)
    assert "3/3" in written[-1]


def test_on_a_terminal_one_line_is_rewritten_in_place() -> None:
    written: list[str] = []
    progress = Progress()
    counter = CallCounter()
    progress.watch(counter)
    progress.add(1)
    with LiveProgress(progress, written.append, tty=True):
        counter.model_calls += 1
    assert written and all(text.startswith("\r") for text in written)
    assert written[-1].endswith("\n") and "1/1" in written[-1]


def test_nothing_is_shown_when_nothing_was_asked() -> None:
    written: list[str] = []
    with LiveProgress(Progress(), written.append, tty=False, every=10):
        pass
    assert written == []
