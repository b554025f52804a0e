"""What a run writes: files get the umask's mode, reach the disk before their rename, and
leave no temporary file behind a kill for long; every output is checked writable before
any model call; a write that fails later is one line naming the path and the errno, and
the summary and the other outputs still come; a cache that cannot be written is said once.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from suite_runs import make_suite, run_suite

from rest_checks import atomic, report
from rest_checks.atomic import (
    OutputError,
    check_writable,
    remove_stale_temps,
    write_atomic,
)
from rest_checks.config import RestSettings
from rest_checks.model_gateway import ModelCalls
from rest_checks.models.base import Model, Response
from rest_checks.models.mock import MockModel
from rest_checks.prompts import Request
from rest_checks.response_store import ResponseCache
from rest_checks.run import RestRun


def no_space(*args: Any, **kwargs: Any) -> Any:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture
def umask_022() -> Iterator[None]:
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("umask", "wanted"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_a_written_file_has_the_mode_the_umask_gives(
    tmp_path: Path, umask: int, wanted: int
) -> None:
    before = os.umask(umask)
    try:
        write_atomic(tmp_path / "r.json", "{}")
        write_atomic(tmp_path / "pieces.csv", iter(["a,", "b\n"]))
        ResponseCache(tmp_path / "cache").put("ab" + "0" * 62, Response("ANSWER: 2"))
    finally:
        os.umask(before)
    entries = list((tmp_path / "cache").rglob("*.json"))
    assert entries
    for path in [tmp_path / "r.json", tmp_path / "pieces.csv", *entries]:
        assert mode(path) == wanted, path
    assert (tmp_path / "pieces.csv").read_text() == "a,b\n"


def test_results_reach_the_disk_before_the_rename_and_cache_entries_skip_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(
        atomic.os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))
    )
    write_atomic(tmp_path / "results.json", "{}")
    assert events == ["fsync", "replace"]
    events.clear()
    write_atomic(tmp_path / "entry.json", "{}", durable=False)
    assert events == ["replace"]


def test_a_failed_write_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(atomic.os, "fsync", no_space)
    with pytest.raises(OSError):
        write_atomic(tmp_path / "results.json", "{}")
    assert list(tmp_path.iterdir()) == []


def dead_pid() -> int:
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        pid -= 1


def test_stale_temporary_files_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    now = time.time()
    files = {
        f".tmp-{dead_pid()}-a1b2c3d4.json": (now - 120, False),  # writer gone, old: removed
        f".tmp-{dead_pid()}-e5f6a7b8.json": (now - 5, True),  # writer gone, just now: kept
        f".tmp-{os.getpid()}-0badcafe.json": (now - 600, True),  # writer alive: kept
        f".tmp-{os.getpid()}-deadbeef.json": (now - 7 * 3600, False),  # alive but ancient
        ".tmp-k2j4h5g6.json": (now - 120, False),  # older name without a pid
        "baseline.json": (now - 9 * 3600, True),  # not a temporary file
    }
    for name, (mtime, _) in files.items():
        path = tmp_path / name
        path.write_text("{")
        os.utime(path, (mtime, mtime))
    assert remove_stale_temps(tmp_path, now) == 3
    assert {p.name for p in tmp_path.iterdir()} == {n for n, (_, kept) in files.items() if kept}


def test_an_output_that_cannot_be_written_is_named_with_its_errno(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_writable(tmp_path / "deep" / "out.json", "the results JSON")  # made if missing
    (tmp_path / "afile").write_text("")
    with pytest.raises(OutputError, match=r"afile/out.csv cannot be written: .*afile is a file"):
        check_writable(tmp_path / "afile" / "out.csv", "the CSV")
    with pytest.raises(OutputError, match=r"afile/deeper/x.csv cannot be written: ENOTDIR"):
        check_writable(tmp_path / "afile" / "deeper" / "x.csv", "the CSV")
    with pytest.raises(OutputError, match="is a folder"):
        check_writable(tmp_path / "deep", "the HTML report")

    def read_only(*args: Any, **kwargs: Any) -> int:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(atomic.os, "open", read_only)
    with pytest.raises(OutputError, match=r"baseline .* EROFS \(Read-only file system\)"):
        check_writable(tmp_path / "baselines" / "m.json", "the baseline")


def settings(tmp_path: Path, **values: Any) -> RestSettings:
    base: dict[str, Any] = {
        "rest_model": "mock:oracle",
        "rest_suite": ("arith",),
        "rest_n": 2,
        "rest_no_cache": True,
        "rest_json": "out/results.json",
        "rest_csv": "out/cases.csv",
    }
    base.update(values)
    return RestSettings.from_values(base, tmp_path, update_baseline=True)


def finished(run: RestRun) -> Any:
    run.check_outputs()
    run.start()
    run.plan([(item, "default") for item in run.items()])
    run.prefetch()
    for item in run.items():
        run.cross_modal(item)
    return run.finish()


def test_a_full_disk_at_the_end_is_one_line_and_the_rest_is_still_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = RestRun(settings(tmp_path), MockModel("oracle"), with_ocr=False)
    monkeypatch.setattr(report, "write_results", no_space)
    outcome = finished(run)
    json_path = tmp_path / "out" / "results.json"
    assert f"results NOT written to {json_path}: ENOSPC (No space left on device)" in outcome.lines
    assert any(line.startswith("RER") or "RER" in line for line in outcome.lines)  # summary
    assert (tmp_path / "out" / "cases.csv").is_file()
    assert (tmp_path / "baselines" / "mock_oracle.json").is_file()
    assert outcome.failed, "an output that was asked for is missing"


def test_a_read_only_baseline_folder_is_one_line_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rest_checks import run_outputs

    run = RestRun(settings(tmp_path), MockModel("oracle"), with_ocr=False)
    read_only = OSError(errno.EROFS, os.strerror(errno.EROFS))
    monkeypatch.setattr(run_outputs, "write_baseline", lambda *a: (_ for _ in ()).throw(read_only))
    outcome = finished(run)
    assert any(
        line.startswith("baseline NOT written to")
        and line.endswith("EROFS (Read-only file system)")
        for line in outcome.lines
    )
    assert (tmp_path / "out" / "results.json").is_file()
    assert (tmp_path / "out" / "cases.csv").is_file()


class Echo(Model):
    spec = "echo"

    def identity(self) -> dict[str, Any]:
        return {"backend": "echo"}

    def generate(self, requests: Any) -> list[Response]:
        return [Response(f"ANSWER: {r.prompt}") for r in requests]


def test_a_cache_that_cannot_be_written_is_said_once_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rest_checks import response_store

    monkeypatch.setattr(response_store, "write_atomic", no_space)
    calls = ModelCalls(Echo(), ResponseCache(tmp_path / "cache"))
    asked = [Request(f"i-{n}", "text", f"What is {n}+1?", None, 8) for n in range(10)]
    first = calls.generate(asked)
    again = calls.generate(asked)  # served from memory, not asked again
    assert [r.text for r in first] == [r.text for r in again]
    assert calls.counter.model_calls == 10
    said = capsys.readouterr().err
    assert said.count("cannot be written") == 1
    assert "ENOSPC" in said


CONFTEST = """
from rest_checks.models.base import ModelAuthError
from rest_checks.models.base import Model, Response
from rest_checks.models.mock import MockModel
from rest_checks.models.registry import register_model


class RefusedKey(MockModel):
    def generate(self, requests):
        raise ModelAuthError("the server refused the API key")


register_model("mock:refused", lambda options: RefusedKey("oracle", spec="mock:refused"))
"""


@pytest.mark.parametrize("workers", [0, 2])
def test_an_output_that_cannot_be_written_stops_the_run_before_any_model_call(
    pytester: pytest.Pytester, workers: int
) -> None:
    suite = make_suite(pytester, CONFTEST)
    (suite.path / "blocked").write_text("a file where a folder is needed")
    result = run_suite(
        suite,
        "--model",
        "mock:refused",
        "--rest-n",
        "1",
        "--rest-suite",
        "arith",
        "--rest-cache",
        "blocked/cache",
        workers=workers,
    )
    shown = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, shown
    assert "the response cache" in shown and "cannot be written: ENOTDIR" in shown
    assert "refused the API key" not in shown
    assert "Traceback" not in shown


def test_a_run_removes_the_reports_it_will_replace(pytester: pytest.Pytester) -> None:
    suite = make_suite(pytester, CONFTEST)
    for name in ("out.json", "out.html", "out.csv"):
        (suite.path / name).write_text("stale")
    result = run_suite(
        suite,
        "--model",
        "mock:refused",
        "--rest-n",
        "1",
        "--rest-suite",
        "arith",
        "--rest-no-cache",
        "--rest-json",
        "out.json",
        "--rest-html",
        "out.html",
        "--rest-csv",
        "out.csv",
    )
    assert result.ret != 0
    assert not [n for n in ("out.json", "out.html", "out.csv") if (suite.path / n).exists()]


def test_a_run_starts_by_removing_what_killed_writers_left(tmp_path: Path) -> None:
    values = {"rest_no_cache": False, "rest_cache": "cache"}
    run = RestRun(
        RestSettings.from_values(
            {"rest_model": "mock:oracle", "rest_suite": ("arith",), "rest_n": 1, **values},
            tmp_path,
        ),
        MockModel("oracle"),
    )
    old = time.time() - 120
    left = [
        tmp_path / "baselines" / f".tmp-{dead_pid()}-a1b2c3d4.json",  # a kill mid-rename
        tmp_path / "cache" / "ab" / f".tmp-{dead_pid()}-e5f6a7b8.json",  # a kill mid-reply
    ]
    for path in left:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{")
        os.utime(path, (old, old))
    run.check_outputs()
    run.start()
    assert not [path for path in left if path.exists()]


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on an 8 KiB tmpfs (where this machine lets us mount one): a full disk."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True, check=False)


def test_a_full_disk_at_the_end_of_a_real_run(pytester: pytest.Pytester, tiny_disk: Path) -> None:
    suite = make_suite(pytester)
    result = run_suite(
        suite, "--model", "mock:oracle", "--rest-n", "3", "--rest-no-cache",
        "--rest-json", str(tiny_disk / "results.json"), "--rest-csv", "cases.csv",
    )  # fmt: skip
    shown = result.stdout.str() + result.stderr.str()
    assert f"results NOT written to {tiny_disk / 'results.json'}: ENOSPC" in shown, shown
    assert "rest-checks summary" in shown and "RER" in shown
    assert (suite.path / "cases.csv").is_file()
    assert "Traceback" not in shown
    assert not list(tiny_disk.iterdir()), "no temporary file is left on the full disk"
    assert result.ret == pytest.ExitCode.TESTS_FAILED
