"""The xdist workers of a run wait for each other's asking ahead before their tests, so
that no test asks a case another worker is still asking (a second, paid call), and never
wait for a worker that has not started asking or has died."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from test_run import CountingModel, settings

from rest_checks.models.base import Response
from rest_checks.peer_asking import PeerAsking
from rest_checks.prompts import Request
from rest_checks.run import RestRun


def test_a_worker_marks_its_asking_and_beats_while_it_asks(tmp_path: Path) -> None:
    peers = PeerAsking(tmp_path, 0, 2, beat_s=0.05)
    with peers.asking():
        mark = tmp_path / "gw0.asking"
        first = mark.stat().st_mtime_ns
        os.utime(mark, ns=(first - 10**9, first - 10**9))  # a second ago
        time.sleep(0.2)
        assert mark.stat().st_mtime_ns >= first, "the mark is touched while asking"
        assert not (tmp_path / "gw0.done").exists()
    assert (tmp_path / "gw0.done").exists()


def test_a_worker_whose_asking_fails_is_done_all_the_same(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), PeerAsking(tmp_path, 1, 2).asking():
        raise RuntimeError("the key was refused")
    assert (tmp_path / "gw1.done").exists()


@pytest.mark.parametrize(
    ("marks", "age_s", "waited_for"),
    [
        ((), 0, []),  # not started (or no test to run): not waited for
        (("asking",), 0, [1]),
        (("asking", "done"), 0, []),
        (("asking",), 30, []),  # no beat for 30 s: died
    ],
    ids=["not-started", "asking", "done", "stale"],
)
def test_which_workers_are_still_asking(
    tmp_path: Path, marks: tuple[str, ...], age_s: float, waited_for: list[int]
) -> None:
    for state in marks:
        mark = tmp_path / f"gw1.{state}"
        mark.touch()
        then = time.time() - age_s
        os.utime(mark, (then, then))
    (tmp_path / "gw0.asking").touch()  # this worker's own mark is never waited for
    assert PeerAsking(tmp_path, 0, 2, stale_s=10).still_asking() == waited_for


def test_waiting_ends_when_the_other_worker_is_done(tmp_path: Path) -> None:
    other = PeerAsking(tmp_path, 1, 2, beat_s=0.05)
    asking, release = threading.Event(), threading.Event()

    def ask_slowly() -> None:
        with other.asking():
            asking.set()
            release.wait(5)

    thread = threading.Thread(target=ask_slowly)
    thread.start()
    asking.wait(5)
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()
    PeerAsking(tmp_path, 0, 2).wait_for_others()
    waited = time.monotonic() - started
    thread.join()
    assert 0.25 <= waited < 3


class SlowModel(CountingModel):
    """The oracle, answering after ``delay`` seconds a batch."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        time.sleep(self.delay)
        return super().generate(requests)


def test_a_worker_reads_the_share_another_worker_was_still_asking_and_asks_none_of_it(
    tmp_path: Path,
) -> None:
    options = {"rest_no_cache": False, "rest_cache": "cache"}
    controller = RestRun(settings(tmp_path, **options), CountingModel())
    folder = controller.run_folder()
    fast = RestRun(settings(tmp_path, **options), CountingModel())
    slow = RestRun(settings(tmp_path, **options), SlowModel(delay=0.5))
    for index, worker in enumerate((fast, slow)):
        worker.use_items(controller.items_payload())
        worker.use_run_id(controller.calls.run_id)
        worker.use_run_folder(folder, index, 2)
        worker.plan([(item, "default") for item in worker.items()])
    slow_asking = threading.Thread(target=slow.prefetch, args=((1, 2),))
    slow_asking.start()
    while not (Path(folder) / "gw1.asking").exists():
        time.sleep(0.01)
    fast.prefetch((0, 2))  # returns once the slow worker has its share
    asked_ahead = len(fast.calls.model.requests)  # type: ignore[attr-defined]
    for item in fast.items():  # its tests: its share and the other's
        assert fast.cross_modal(item).consistent
    slow_asking.join()
    total = 4 * len(controller.items())
    assert asked_ahead == total // 2
    assert len(fast.calls.model.requests) == asked_ahead, "nothing asked twice"  # type: ignore[attr-defined]
    assert len(slow.calls.model.requests) == total - asked_ahead  # type: ignore[attr-defined]
    for worker in (fast, slow):
        worker.close()
    controller.close()
