"""``rest-checks cache list | prune | clear`` on caches written through the store."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from suite_runs import make_suite, run_suite

from rest_checks.atomic import TEMP_PREFIX
from rest_checks.cache_commands import default_cache_dir, human_size
from rest_checks.cache_maintenance import parse_age
from rest_checks.cli import main
from rest_checks.models.base import Response, identity_key
from rest_checks.prompts import Request
from rest_checks.response_store import DESCRIPTION_FILE, ResponseCache, request_key

DAY = 86400.0
ORACLE = {"backend": "mock", "name": "oracle"}
ORACLE_HOT = {"backend": "mock", "name": "oracle", "settings": {"temperature": 1}}
GPT = {"backend": "openai", "name": "gpt-4o-mini", "base_url": "https://api.openai.com/v1"}


def fill(root: Path, identity: dict[str, Any], count: int, age_days: float = 0.0) -> list[str]:
    """``count`` replies of ``identity`` written through the store, last used so long ago."""
    cache = ResponseCache(root)
    keys = [
        request_key(identity, Request("i", "text", f"{age_days} {n}", None, 8))
        for n in range(count)
    ]
    for key in keys:
        assert cache.put(key, Response("ANSWER: 1"))
        when = time.time() - age_days * DAY
        os.utime(cache._path(key), (when, when))
    return keys


def entries(root: Path, identity: dict[str, Any]) -> int:
    folder = root / identity_key(identity)
    return len(list(folder.rglob("*.json"))) if folder.exists() else 0


def cache_cli(root: Path, *args: str) -> int:
    return main(["cache", *args, "--cache-dir", str(root)])


def test_list_shows_each_model_with_its_entries_size_and_last_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(tmp_path, ORACLE, 3, age_days=2)
    fill(tmp_path, GPT, 5)
    assert cache_cli(tmp_path, "list") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"response cache {tmp_path}: 2 model(s), 8 entries, ")
    rows = {line.split()[0]: line.split() for line in out[2:]}
    assert rows["mock:oracle"][1:3] == [identity_key(ORACLE), "3"]
    assert rows["openai:gpt-4o-mini"][1:3] == [identity_key(GPT), "5"]
    assert rows["mock:oracle"][-3:] == ["(2", "days", "ago)"]
    assert rows["openai:gpt-4o-mini"][-1] == "(today)"
    folder = tmp_path / identity_key(GPT)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert " ".join(rows["openai:gpt-4o-mini"][3:5]) == human_size(size)


def test_list_shows_the_entries_of_the_earlier_layout_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(tmp_path, ORACLE, 1)
    old = tmp_path / "ab" / ("ab" * 32 + ".json")
    old.parent.mkdir()
    old.write_text('{"key": "x", "response": {"text": "old"}}')
    assert cache_cli(tmp_path, "list") == 0
    out = capsys.readouterr().out
    (row,) = [line for line in out.splitlines() if line.startswith("(an earlier cache format")]
    assert row.split()[6:8] == ["earlier-format", "1"]


@pytest.mark.parametrize("verb", [["list"], ["prune", "--older-than", "1d"], ["clear", "--all"]])
def test_a_missing_cache_folder_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], verb: list[str]
) -> None:
    missing = tmp_path / "nowhere"
    assert cache_cli(missing, *verb) == 2
    err = capsys.readouterr().err
    assert f"there is no response cache at {missing}" in err and "--cache-dir" in err
    assert not missing.exists()


def test_a_cache_folder_that_is_a_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cache").write_text("")
    assert cache_cli(tmp_path / "cache", "list") == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_prune_by_age_removes_only_entries_unused_for_longer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(tmp_path, ORACLE, 4, age_days=40)
    kept = fill(tmp_path, ORACLE, 2, age_days=10)
    fill(tmp_path, GPT, 3, age_days=31)
    assert cache_cli(tmp_path, "prune", "--older-than", "30d") == 0
    said = capsys.readouterr().out
    assert said.startswith("removed 7 entries last used more than 30 days ago")
    assert "1 model folder(s) removed whole" in said
    cache = ResponseCache(tmp_path)
    assert entries(tmp_path, ORACLE) == 2 and all(cache.get(k) for k in kept)
    assert (tmp_path / identity_key(ORACLE) / DESCRIPTION_FILE).exists()
    assert not (tmp_path / identity_key(GPT)).exists(), "a model left empty goes whole"


def test_prune_by_age_and_model_touches_no_other_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(tmp_path, ORACLE, 2, age_days=40)
    fill(tmp_path, ORACLE, 1, age_days=1)
    fill(tmp_path, GPT, 3, age_days=40)
    assert cache_cli(tmp_path, "prune", "--older-than", "2w", "--model", "openai:gpt-4o-mini") == 0
    assert entries(tmp_path, ORACLE) == 3 and entries(tmp_path, GPT) == 0
    assert "removed 3 entries last used more than 2 weeks ago" in capsys.readouterr().out


def test_prune_needs_an_age_or_a_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill(tmp_path, ORACLE, 1, age_days=100)
    assert cache_cli(tmp_path, "prune") == 2
    assert "say what to prune: --older-than AGE, --model NAME" in capsys.readouterr().err
    assert entries(tmp_path, ORACLE) == 1


@pytest.mark.parametrize("age", ["30", "d", "-3d", "30x", "", "3 days", "1e3d"])
def test_a_bad_age_is_refused_saying_what_an_age_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], age: str
) -> None:
    fill(tmp_path, ORACLE, 1, age_days=100)
    with pytest.raises(SystemExit) as stopped:
        cache_cli(tmp_path, "prune", f"--older-than={age}")
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert f"{age!r} is not an age" in err and "s, m, h, d or w" in err
    assert entries(tmp_path, ORACLE) == 1


@pytest.mark.parametrize(
    ("age", "seconds"),
    [
        ("30d", 30 * DAY),
        ("12h", 43200),
        ("1.5h", 5400),
        ("2w", 14 * DAY),
        ("45s", 45),
        (" 3D ", 3 * DAY),
        ("90m", 5400),
    ],
)
def test_ages_in_each_unit(age: str, seconds: float) -> None:
    assert parse_age(age) == seconds


def test_an_unknown_model_is_a_clear_error_naming_the_models_held(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(tmp_path, ORACLE, 1)
    fill(tmp_path, GPT, 1)
    for verb in (["clear"], ["prune"]):
        assert cache_cli(tmp_path, *verb, "--model", "openai:gpt-5") == 2
        err = capsys.readouterr().err
        assert "no model 'openai:gpt-5' in the cache" in err
        assert f"mock:oracle ({identity_key(ORACLE)})" in err and "openai:gpt-4o-mini" in err
    assert entries(tmp_path, ORACLE) == 1 and entries(tmp_path, GPT) == 1


def test_clear_a_model_by_name_removes_every_identity_of_it_and_nothing_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(tmp_path, ORACLE, 2)
    fill(tmp_path, ORACLE_HOT, 3)
    fill(tmp_path, GPT, 4)
    assert cache_cli(tmp_path, "clear", "--model", "mock:oracle") == 0
    assert "removed 5 entries" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == [identity_key(GPT)]


@pytest.mark.parametrize("how", ["key", "prefix", "name"])
def test_clear_a_model_by_its_key_a_prefix_or_its_name(tmp_path: Path, how: str) -> None:
    fill(tmp_path, ORACLE, 2)
    fill(tmp_path, ORACLE_HOT, 3)
    fill(tmp_path, GPT, 1)
    chosen = {
        "key": identity_key(ORACLE_HOT),
        "prefix": identity_key(ORACLE_HOT)[:6],
        "name": "gpt-4o-mini",
    }[how]
    assert cache_cli(tmp_path, "clear", "--model", chosen) == 0
    gone = GPT if how == "name" else ORACLE_HOT
    assert entries(tmp_path, gone) == 0
    assert sum(entries(tmp_path, i) for i in (ORACLE, ORACLE_HOT, GPT)) == 6 - (
        1 if how == "name" else 3
    )


def test_clear_says_what_to_clear_rather_than_clearing_everything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(tmp_path, ORACLE, 1)
    assert cache_cli(tmp_path, "clear") == 2
    assert "say what to clear: --model NAME" in capsys.readouterr().err
    assert entries(tmp_path, ORACLE) == 1


def test_clear_all_removes_every_model_and_the_earlier_layout_but_no_live_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(tmp_path, ORACLE, 2)
    fill(tmp_path, GPT, 2)
    old = tmp_path / "cd" / ("cd" * 32 + ".json")
    old.parent.mkdir()
    old.write_text("{}")
    # Another run is writing a reply of the oracle's this moment: its temporary file stays.
    writing = tmp_path / identity_key(ORACLE) / "ab" / f"{TEMP_PREFIX}{os.getpid()}-1234.json"
    writing.parent.mkdir(exist_ok=True)
    writing.write_text("half a reply")
    other = tmp_path / "notes.txt"  # not the cache's: left alone
    other.write_text("mine")
    assert cache_cli(tmp_path, "clear", "--all") == 0
    assert "removed 5 entries" in capsys.readouterr().out
    assert writing.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.rglob("*.json")) == [writing.name]
    assert not (tmp_path / identity_key(GPT)).exists() and not old.parent.exists()


def test_a_run_storing_after_a_clear_describes_its_folder_again(tmp_path: Path) -> None:
    running = ResponseCache(tmp_path)
    fill(tmp_path, ORACLE, 1)
    assert cache_cli(tmp_path, "clear", "--all") == 0
    key = request_key(ORACLE, Request("i", "text", "after", None, 8))
    assert running.put(key, Response("ANSWER: 2")) and running.get(key) == Response("ANSWER: 2")
    assert (
        (tmp_path / identity_key(ORACLE) / DESCRIPTION_FILE).read_text().startswith("mock:oracle")
    )


@pytest.mark.parametrize(
    ("ini_name", "ini_text"),
    [
        (None, None),
        ("pytest.ini", "[pytest]\nrest_cache = caches/here\n"),
        ("pyproject.toml", '[tool.pytest.ini_options]\nrest_cache = "caches/here"\n'),
        ("tox.ini", "[tox]\n[pytest]\nrest_cache = caches/here\n"),
        ("setup.cfg", "[metadata]\nname = x\n[tool:pytest]\nrest_cache = caches/here\n"),
    ],
)
def test_the_default_folder_is_the_suites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ini_name: str | None, ini_text: str | None
) -> None:
    root = tmp_path.resolve()
    # Files without a pytest section nearer the start are passed over, as pytest does.
    (root / "sub").mkdir()
    (root / "sub" / "setup.cfg").write_text("[metadata]\nname = x\n")
    (root / "sub" / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    start = root / "sub" / "deeper"
    start.mkdir()
    monkeypatch.delenv("REST_CACHE", raising=False)
    if ini_name is None:
        assert default_cache_dir(start) == start / ".rest-cache"  # no ini: here
    else:
        (root / ini_name).write_text(ini_text or "")
        assert default_cache_dir(start) == root / "caches" / "here"
    monkeypatch.setenv("REST_CACHE", "elsewhere")  # before the ini key; relative to rootdir
    assert default_cache_dir(start) == (start if ini_name is None else root) / "elsewhere"
    monkeypatch.setenv("REST_CACHE", str(root / "shared"))
    assert default_cache_dir(start) == root / "shared"


def test_without_cache_dir_the_command_reads_the_suites_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REST_CACHE", raising=False)
    root = tmp_path.resolve()
    (root / "pytest.ini").write_text("[pytest]\nrest_cache = .replies\n")
    (root / "tests").mkdir()
    monkeypatch.chdir(root / "tests")
    fill(root / ".replies", ORACLE, 2)
    assert main(["cache", "list"]) == 0
    said = f"response cache {root / '.replies'}: 1 model(s), 2 entries"
    assert said in capsys.readouterr().out


def test_a_model_is_chosen_by_the_spec_the_suite_takes_for_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    qwen = {"backend": "hf", "name": "Qwen/Qwen2-VL-2B-Instruct", "revision": "abc"}
    llava = {"backend": "openai", "name": "llava", "base_url": "http://localhost:11434/v1"}
    for identity in (qwen, llava, GPT):
        fill(tmp_path, identity, 2)
    assert cache_cli(tmp_path, "clear", "--model", "qwen2-vl") == 0  # an alias
    assert cache_cli(tmp_path, "clear", "--model", "ollama:llava") == 0  # a prefix
    assert (entries(tmp_path, qwen), entries(tmp_path, llava), entries(tmp_path, GPT)) == (0, 0, 2)
    assert cache_cli(tmp_path, "clear", "--model", "qwen2.5-vl") == 2  # known, not cached
    assert "no model 'qwen2.5-vl' in the cache" in capsys.readouterr().err


def test_cache_is_listed_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["cache", "--help"])
    out = capsys.readouterr().out
    assert all(verb in out for verb in ("list", "prune", "clear"))


@pytest.mark.slow
def test_a_suite_runs_replies_are_listed_under_its_model_and_a_cleared_model_is_asked_again(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = make_suite(pytester)
    pytester.makeini("[pytest]\nrest_cache = .replies\n")
    args = ["--model", "mock:oracle", "--rest-suite", "arith", "--rest-n", "2", "-p", "no:randomly"]
    assert run_suite(suite, *args).ret == 0
    cache = suite.path / ".replies"
    capsys.readouterr()
    # Run from a folder below the project, the command finds the suite's cache itself.
    with monkeypatch.context() as elsewhere:
        elsewhere.delenv("REST_CACHE", raising=False)
        elsewhere.chdir(pytester.mkdir("docs"))
        assert main(["cache", "list"]) == 0
    (row,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("mock:")]
    assert row.split()[0] == "mock:oracle" and int(row.split()[2]) > 0
    again = run_suite(suite, *args)
    again.stdout.fnmatch_lines(["*calls: 0 to the model, * from the disk cache*"])
    assert cache_cli(cache, "clear", "--model", "mock:oracle") == 0
    cleared = run_suite(suite, *args)
    cleared.stdout.no_fnmatch_line("*calls: 0 to the model, * from the disk cache*")


def test_a_model_of_the_suites_models_file_is_chosen_by_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path.resolve()
    (root / "pyproject.toml").write_text('[tool.pytest.ini_options]\nrest_cache = "replies"\n')
    (root / "rest_models.toml").write_text(
        '[models.local-vllm]\nbackend = "openai"\nname = "Qwen/Qwen2.5-VL-7B-Instruct"\n'
        'base_url = "http://127.0.0.1:8000/v1"\n'
    )
    vllm = {"backend": "openai", "name": "Qwen/Qwen2.5-VL-7B-Instruct", "base_url": "x"}
    fill(root / "replies", vllm, 2)
    fill(root / "replies", GPT, 1)
    monkeypatch.delenv("REST_CACHE", raising=False)
    monkeypatch.delenv("REST_MODELS_FILE", raising=False)
    (root / "tests").mkdir()
    monkeypatch.chdir(root / "tests")
    assert main(["cache", "clear", "--model", "local-vllm"]) == 0
    assert (entries(root / "replies", vllm), entries(root / "replies", GPT)) == (0, 1)
